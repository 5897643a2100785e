package wiring

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrUsage is a command line that Cyrus's service framework would refuse.
var ErrUsage = errors.New("usage")

// DefaultConfig is the configuration file read without -C.
const DefaultConfig = "/etc/imapd.conf"

// DefaultUses is Cyrus's default for -U.
const DefaultUses = 250

// ServiceFlags are the options every service of ours takes as Cyrus's do.
type ServiceFlags struct {
	ConfigPath string // -C
	Debug      bool   // -D
	TLS        bool   // -s: TLS before the greeting
}

// ParseServiceFlags reads a service's command line (without argv[0]) as
// Cyrus's service framework does: options come first; an option that
// takes an argument must be a word of its own, its argument the next word
// ("-U3" is refused); options without arguments may be grouped ("-sD");
// "--" ends the options; nothing may follow them. Besides -C, -U, -T, -D
// and -s it takes the switches in switches (each reported to on) and
// the numeric options in numbers (each reported to num).
func ParseServiceFlags(args []string, f *Flags, switches string, on func(c rune), numbers string, num func(c byte, n int)) (ServiceFlags, error) {
	sf := ServiceFlags{ConfigPath: DefaultConfig}
	f.Uses = DefaultUses
	number := func(i int) (int, error) {
		if i+1 >= len(args) {
			return 0, ErrUsage
		}
		s := args[i+1]
		if s == "" || s[0] < '0' || s[0] > '9' {
			return 0, ErrUsage
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1<<30 {
			return 0, ErrUsage
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
		if a == "-C" {
			if i+1 >= len(args) || args[i+1] == "" {
				return sf, ErrUsage
			}
			sf.ConfigPath = args[i+1]
			i++
			continue
		}
		if len(a) == 2 && (a[1] == 'U' || a[1] == 'T' || strings.IndexByte(numbers, a[1]) >= 0) {
			n, err := number(i)
			if err != nil {
				return sf, err
			}
			switch a[1] {
			case 'U':
				f.Uses = n
			case 'T':
				f.ReuseTimeout = time.Duration(n) * time.Second
			default:
				num(a[1], n)
			}
			i++
			continue
		}
		for _, c := range a[1:] {
			switch {
			case c == 'D':
				sf.Debug = true
			case c == 's':
				sf.TLS = true
			case strings.ContainsRune(switches, c):
				on(c)
			default:
				return sf, ErrUsage
			}
		}
	}
	if i < len(args) {
		return sf, ErrUsage // a stray argument
	}
	return sf, nil
}
