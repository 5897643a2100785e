package main

import (
	"errors"
	"strconv"
	"time"

	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

const usageLine = "usage: imapd [-C config-file] [-U uses] [-T timeout] [-D] [-s] [-N] [-p ssf]"

// DefaultConfig is the configuration file read without -C.
const DefaultConfig = "/etc/imapd.conf"

// defaultUses is Cyrus's default for -U.
const defaultUses = 250

// options are the parsed command line.
type options struct {
	wiring.Flags
	ConfigPath string // -C
	Debug      bool   // -D: run debug_command after loading the config
	TLS        bool   // -s: TLS before the greeting
}

var errUsage = errors.New("usage")

// parseFlags reads the command line (without argv[0]) as Cyrus's service
// framework does: options come first; an option that takes an argument
// must be a word of its own, its argument the next word ("-U3" is refused);
// options without arguments may be grouped ("-sN"); "--" ends the options;
// nothing may follow them.
func parseFlags(args []string) (options, error) {
	o := options{ConfigPath: DefaultConfig}
	o.Uses = defaultUses
	number := func(i int) (int, error) {
		if i+1 >= len(args) {
			return 0, errUsage
		}
		s := args[i+1]
		if s == "" || s[0] < '0' || s[0] > '9' {
			return 0, errUsage
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1<<30 {
			return 0, errUsage
		}
		return n, nil
	}
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
		case "-U", "-T", "-p":
			n, err := number(i)
			if err != nil {
				return o, err
			}
			switch a {
			case "-U":
				o.Uses = n
			case "-T":
				o.ReuseTimeout = time.Duration(n) * time.Second
			case "-p":
				o.ExternalSSF = n
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
			case 'N':
				o.NoPasswordCheck = true
			default:
				return o, errUsage
			}
		}
	}
	if i < len(args) {
		return o, errUsage // a stray argument
	}
	return o, nil
}
