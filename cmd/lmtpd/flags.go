package main

import (
	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

const usageLine = "usage: lmtpd [-C config-file] [-U uses] [-T timeout] [-D] [-s] [-a]"

// options are the parsed command line.
type options struct {
	wiring.Flags
	ConfigPath string // -C
	Debug      bool   // -D: log at debug level
	TLS        bool   // -s: TLS before the greeting (an lmtps service)
}

var errUsage = wiring.ErrUsage

// DefaultConfig is the configuration file read without -C.
const DefaultConfig = wiring.DefaultConfig

// parseFlags reads the command line (without argv[0]) as Cyrus's service
// framework does (wiring.ParseServiceFlags). -a (Cyrus's preauthorized
// LMTP) is accepted: every client is the same MTA here.
func parseFlags(args []string) (options, error) {
	var o options
	sf, err := wiring.ParseServiceFlags(args, &o.Flags, "a", func(rune) {}, "", nil)
	o.ConfigPath, o.Debug, o.TLS = sf.ConfigPath, sf.Debug, sf.TLS
	return o, err
}
