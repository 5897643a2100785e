package main

import (
	"testing"
	"time"

	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

func TestParseFlags(t *testing.T) {
	def := options{ConfigPath: DefaultConfig, Flags: wiring.Flags{Uses: defaultUses}}
	with := func(f func(o *options)) options { o := def; f(&o); return o }
	tests := []struct {
		args []string
		want options
		bad  bool
	}{
		{args: nil, want: def},
		{args: []string{"-C", "/tmp/x.conf"}, want: with(func(o *options) { o.ConfigPath = "/tmp/x.conf" })},
		{args: []string{"-U", "3", "-T", "60", "-p", "2"}, want: with(func(o *options) {
			o.Uses, o.ReuseTimeout, o.ExternalSSF = 3, 60*time.Second, 2
		})},
		{args: []string{"-U", "0"}, want: with(func(o *options) { o.Uses = 0 })},
		{args: []string{"-D", "-s", "-N"}, want: with(func(o *options) { o.Debug, o.TLS, o.NoPasswordCheck = true, true, true })},
		{args: []string{"-sN"}, want: with(func(o *options) { o.TLS, o.NoPasswordCheck = true, true })},
		{args: []string{"-C", "a", "-C", "b"}, want: with(func(o *options) { o.ConfigPath = "b" })},
		{args: []string{"-N", "--"}, want: with(func(o *options) { o.NoPasswordCheck = true })},

		{args: []string{"-U3"}, bad: true},
		{args: []string{"-p2"}, bad: true},
		{args: []string{"-C/etc/x.conf"}, bad: true},
		{args: []string{"-DU", "3"}, bad: true},
		{args: []string{"-U"}, bad: true},
		{args: []string{"-C"}, bad: true},
		{args: []string{"-C", ""}, bad: true},
		{args: []string{"-U", "x"}, bad: true},
		{args: []string{"-U", "-1"}, bad: true},
		{args: []string{"-U", "+1"}, bad: true},
		{args: []string{"-T", "1.5"}, bad: true},
		{args: []string{"-p", "99999999999999999999"}, bad: true},
		{args: []string{"-x"}, bad: true},
		{args: []string{"-"}, bad: true},
		{args: []string{"stray"}, bad: true},
		{args: []string{"-N", "stray"}, bad: true},
		{args: []string{"--", "stray"}, bad: true},
		{args: []string{"--help"}, bad: true},
	}
	for _, tt := range tests {
		got, err := parseFlags(tt.args)
		if tt.bad {
			if err == nil {
				t.Errorf("parseFlags(%q) accepted: %+v", tt.args, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseFlags(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestFormatDebugCommand(t *testing.T) {
	tests := []struct{ format, want string }{
		{"gdb %s %d", "gdb /usr/lib/cyrus/bin/imapd 4242"},
		{"echo %s %d %s > /tmp/x", "echo /usr/lib/cyrus/bin/imapd 4242 imap2 > /tmp/x"},
		{"echo %d", "echo /usr/lib/cyrus/bin/imapd"}, // values are taken in order, as printf does
		{"100%% %s", "100% /usr/lib/cyrus/bin/imapd"},
		{"%s %d %s %s %n %x %", "/usr/lib/cyrus/bin/imapd 4242 imap2 %s %n %x %"},
		{"plain", "plain"},
	}
	for _, tt := range tests {
		if got := formatDebugCommand(tt.format, "/usr/lib/cyrus/bin/imapd", 4242, "imap2"); got != tt.want {
			t.Errorf("formatDebugCommand(%q) = %q, want %q", tt.format, got, tt.want)
		}
	}
}

// TestProcs: one P per process unless GOMAXPROCS is set.
func TestProcs(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int
	}{{"", 1}, {"2", 0}, {"1", 0}} {
		if got := procs(tc.env); got != tc.want {
			t.Errorf("procs(%q) = %d, want %d", tc.env, got, tc.want)
		}
	}
}
