package main

import (
	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

const usageLine = "usage: imapd [-C config-file] [-U uses] [-T timeout] [-D] [-s] [-N] [-p ssf]"

// options are the parsed command line.
type options struct {
	wiring.Flags
	ConfigPath string // -C
	Debug      bool   // -D: run debug_command after loading the config
	TLS        bool   // -s: TLS before the greeting
}

var errUsage = wiring.ErrUsage

// DefaultConfig is the configuration file read without -C.
const DefaultConfig = wiring.DefaultConfig

// defaultUses is Cyrus's default for -U.
const defaultUses = wiring.DefaultUses

// parseFlags reads the command line (without argv[0]) as Cyrus's service
// framework does (wiring.ParseServiceFlags), with imapd's -N and -p.
func parseFlags(args []string) (options, error) {
	var o options
	sf, err := wiring.ParseServiceFlags(args, &o.Flags, "N", func(rune) { o.NoPasswordCheck = true },
		"p", func(_ byte, n int) { o.ExternalSSF = n })
	o.ConfigPath, o.Debug, o.TLS = sf.ConfigPath, sf.Debug, sf.TLS
	return o, err
}
