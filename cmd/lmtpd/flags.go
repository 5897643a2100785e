package main

import (
	"errors"
	"strconv"
	"time"

	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

const usageLine = "usage: lmtpd [-C config-file] [-U uses] [-T timeout] [-D] [-s] [-a]"

// DefaultConfig is the configuration file read without -C.
const DefaultConfig = "/etc/imapd.conf"

// defaultUses is Cyrus's default for -U.
const defaultUses = 250

// options are the parsed command line.
type options struct {
	wiring.Flags
	ConfigPath string // -C
	Debug      bool   // -D: log at debug level
	TLS        bool   // -s: TLS before the greeting (an lmtps service)
}

var errUsage = errors.New("usage")

// parseFlags reads the command line (without argv[0]) as Cyrus's service
// framework does (see cmd/imapd): options first, an option's argument a
// word of its own, "--" ends them, nothing may follow. -a (Cyrus's
// preauthorized LMTP) is accepted: every client is the same MTA here.
func parseFlags(args []string) (options, error) {
	o := options{ConfigPath: DefaultConfig}
	o.Uses = defaultUses
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		switch a {
		case "-C":
			if i+1 >= len(args) || args[i+1] == "" {
				return o, errUsage
			}
			o.ConfigPath = args[i+1]
			i++
			continue
		case "-U", "-T":
			if i+1 >= len(args) || args[i+1] == "" || args[i+1][0] < '0' || args[i+1][0] > '9' {
				return o, errUsage
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n > 1<<30 {
				return o, errUsage
			}
			if a == "-U" {
				o.Uses = n
			} else {
				o.ReuseTimeout = time.Duration(n) * time.Second
			}
			i++
			continue
		}
		for _, c := range a[1:] {
			switch c {
			case 'D':
				o.Debug = true
			case 's':
				o.TLS = true
			case 'a':
			default:
				return o, errUsage
			}
		}
	}
	if i < len(args) {
		return o, errUsage
	}
	return o, nil
}
