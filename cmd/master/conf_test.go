package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseConf(t *testing.T) {
	text := `# cyrus.conf
START {
  recover	cmd="ctl_cyrusdb -r"
}
SERVICES {
  imap   cmd="imapd -C /etc/imapd.conf -U 30" listen="imap" prefork=2 maxchild=100
  imaps  cmd="/usr/bin/imapd -s -C /x.conf" listen="127.0.0.1:993" prefork=0 # a "comment" = 1
  local  cmd="imapd" listen="/run/imap.sock" babysit=1
  v6     cmd="imapd" listen="[::1]:1143" proto=tcp6 prefork=5 maxchild=2
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -c" period=30
}
DAEMON { }
`
	conf, err := parseConf("cyrus.conf", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Service{
		{Name: "imap", Cmd: []string{"imapd", "-C", "/etc/imapd.conf", "-U", "30"}, Listen: "imap", Prefork: 2, MaxChild: 100, Line: 6},
		{Name: "imaps", Cmd: []string{"/usr/bin/imapd", "-s", "-C", "/x.conf"}, Listen: "127.0.0.1:993", MaxChild: -1, Line: 7},
		{Name: "local", Cmd: []string{"imapd"}, Listen: "/run/imap.sock", Babysit: true, Prefork: 1, MaxChild: -1, Line: 8},
		{Name: "v6", Cmd: []string{"imapd"}, Listen: "[::1]:1143", Proto: "tcp6", Prefork: 2, MaxChild: 2, Line: 9},
	}
	if !reflect.DeepEqual(conf.Services, want) {
		t.Errorf("services:\n got %+v\nwant %+v", conf.Services, want)
	}
	if !reflect.DeepEqual(conf.Ignored, []string{"START recover", "EVENTS checkpoint"}) {
		t.Errorf("ignored: %q", conf.Ignored)
	}

	addrs := []struct{ network, addr string }{{"tcp", ":143"}, {"tcp", "127.0.0.1:993"}, {"unix", "/run/imap.sock"}, {"tcp6", "[::1]:1143"}}
	for i, s := range conf.Services {
		n, a, err := s.network()
		if err != nil || n != addrs[i].network || a != addrs[i].addr {
			t.Errorf("%s: network() = %s %s %v, want %s %s", s.Name, n, a, err, addrs[i].network, addrs[i].addr)
		}
	}
}

func TestParseConfErrors(t *testing.T) {
	tests := []struct{ text, msg string }{
		{"SERVICES {\n imap cmd=\"imapd\"\n}\n", ":2: service imap: no listen"},
		{"SERVICES {\n imap listen=143\n}\n", ":2: service imap: no cmd"},
		{"SERVICES {\n imap cmd=\"imapd listen=143\n}\n", ":2: unterminated quote"},
		{"SERVICES {\n imap-s cmd=imapd listen=143\n}\n", ":2: entry name \"imap-s\""},
		{"SERVICES {\n imap cmd=imapd listen=143 prefork=x\n}\n", ":2: service imap: prefork=\"x\""},
		{"SERVICES {\n a cmd=imapd listen=1\n a cmd=imapd listen=2\n}\n", ":3: service a defined twice"},
		{"imap cmd=imapd listen=143\n", ":1: entry outside a section"},
		{"OTHER {\n}\n", ":1: unknown section"},
		{"SERVICES {\n imap cmd=imapd listen=143\n", "section SERVICES is not closed"},
		{"SERVICES {\n imap cmd=imapd oops listen=1\n}\n", ":2: expected key=value"},
	}
	for _, tt := range tests {
		_, err := parseConf("c", strings.NewReader(tt.text))
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("parseConf(%q) = %v, want an error with %q", tt.text, err, tt.msg)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-C", "/a.conf", "-M", "/c.conf", "-p", "/p", "-d", "-L", "/l"})
	if err != nil || o != (options{imapdConf: "/a.conf", cyrusConf: "/c.conf", pidFile: "/p", logFile: "/l", daemon: true}) {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	for _, bad := range [][]string{{"-C"}, {"-x"}, {"stray"}, {"-p", ""}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
