package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// Service is one entry of cyrus.conf's SERVICES section.
type Service struct {
	Name     string
	Cmd      []string // cmd=, split into words
	Listen   string   // listen=: port, host:port, [v6]:port or /path
	Proto    string   // proto= (tcp, tcp4, tcp6; ignored for a Unix socket)
	Prefork  int      // prefork=: ready processes kept waiting
	MaxChild int      // maxchild=: at most this many processes, -1 = no limit
	Babysit  bool     // babysit=: keep at least one process
	Line     int
}

// Conf is what cyrus.conf says.
type Conf struct {
	Services []Service
	Ignored  []string // entries of START, EVENTS and DAEMON, as "SECTION name"
}

// readConf reads a cyrus.conf file.
func readConf(path string) (*Conf, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseConf(path, f)
}

// parseConf reads cyrus.conf's syntax: sections "NAME {" ... "}", one entry
// a line as "name key=value key=\"quoted value\"". A "#" starts a comment
// anywhere on a line, even inside quotes, as in Cyrus.
func parseConf(path string, r io.Reader) (*Conf, error) {
	conf := &Conf{}
	section := ""
	sc := bufio.NewScanner(r)
	n := 0
	errf := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		for line != "" {
			switch {
			case section == "" && strings.Contains(line, "{"):
				name, rest, _ := strings.Cut(line, "{")
				section = strings.ToUpper(strings.TrimSpace(name))
				switch section {
				case "START", "SERVICES", "EVENTS", "DAEMON":
				default:
					return nil, errf("unknown section %q", section)
				}
				line = strings.TrimSpace(rest)
			case section == "":
				return nil, errf("entry outside a section")
			case strings.HasPrefix(line, "}"):
				section = ""
				line = strings.TrimSpace(line[1:])
			default:
				rest := ""
				if i := strings.IndexByte(line, '}'); i >= 0 && strings.Count(line[:i], `"`)%2 == 0 {
					line, rest = strings.TrimSpace(line[:i]), line[i:]
				}
				name, kv, err := splitEntry(line)
				if err != nil {
					return nil, errf("%v", err)
				}
				if section != "SERVICES" {
					conf.Ignored = append(conf.Ignored, section+" "+name)
				} else {
					s, err := newService(name, kv)
					if err != nil {
						return nil, errf("%v", err)
					}
					s.Line = n
					for _, o := range conf.Services {
						if o.Name == s.Name {
							return nil, errf("service %s defined twice", s.Name)
						}
					}
					conf.Services = append(conf.Services, s)
				}
				line = rest
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if section != "" {
		return nil, fmt.Errorf("%s: section %s is not closed", path, section)
	}
	return conf, nil
}

// splitEntry splits `name key=value key="a b"` into the name and the pairs.
func splitEntry(line string) (string, map[string]string, error) {
	name, rest := cutSpace(line)
	if name == "" {
		return "", nil, fmt.Errorf("empty entry")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "", nil, fmt.Errorf("entry name %q: letters and digits only", name)
		}
	}
	kv := map[string]string{}
	rest = strings.TrimSpace(rest)
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || strings.ContainsAny(rest[:eq], " \t") {
			return "", nil, fmt.Errorf("expected key=value at %q", rest)
		}
		key := strings.ToLower(rest[:eq])
		rest = rest[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", nil, fmt.Errorf("unterminated quote for %s", key)
			}
			val, rest = rest[1:1+end], rest[2+end:]
		} else {
			val, rest = cutSpace(rest)
		}
		kv[key] = val
		rest = strings.TrimSpace(rest)
	}
	return name, kv, nil
}

// cutSpace splits s at its first space or tab.
func cutSpace(s string) (before, after string) {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func newService(name string, kv map[string]string) (Service, error) {
	s := Service{Name: name, Cmd: strings.Fields(kv["cmd"]), Listen: kv["listen"], Proto: kv["proto"], MaxChild: -1}
	if len(s.Cmd) == 0 {
		return s, fmt.Errorf("service %s: no cmd", name)
	}
	if s.Listen == "" {
		return s, fmt.Errorf("service %s: no listen", name)
	}
	num := func(key string, dst *int) error {
		v, ok := kv[key]
		if !ok {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("service %s: %s=%q is not a number", name, key, v)
		}
		*dst = n
		return nil
	}
	if err := num("prefork", &s.Prefork); err != nil {
		return s, err
	}
	if err := num("maxchild", &s.MaxChild); err != nil {
		return s, err
	}
	switch strings.ToLower(kv["babysit"]) {
	case "", "0", "no", "off", "false":
	default:
		s.Babysit = true
	}
	if s.Babysit && s.Prefork < 1 {
		s.Prefork = 1
	}
	if s.MaxChild >= 0 && s.Prefork > s.MaxChild {
		s.Prefork = s.MaxChild
	}
	return s, nil
}

// network returns the listen address as net.Listen takes it.
func (s Service) network() (network, addr string, err error) {
	if strings.HasPrefix(s.Listen, "/") {
		return "unix", s.Listen, nil
	}
	network = "tcp"
	switch s.Proto {
	case "tcp4", "tcp6":
		network = s.Proto
	}
	host, port := "", s.Listen
	if i := strings.LastIndexByte(s.Listen, ':'); i >= 0 {
		host, port = strings.Trim(s.Listen[:i], "[]"), s.Listen[i+1:]
	}
	if _, err := strconv.Atoi(port); err != nil {
		p, err := net.LookupPort("tcp", port)
		if err != nil {
			return "", "", fmt.Errorf("service %s: listen=%s: %v", s.Name, s.Listen, err)
		}
		port = strconv.Itoa(p)
	}
	return network, net.JoinHostPort(host, port), nil
}
