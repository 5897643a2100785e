// Package config reads imapd.conf in Cyrus imapd's syntax and turns it into
// typed settings. It owns the file format only: it performs no other I/O
// than reading the configuration files, and imports no adapter or port.
//
// The syntax, as Cyrus's libconfig reads it:
//
//   - one "key: value" per line; the ":" follows the key directly; keys are
//     made of [A-Za-z0-9_-] and are lowercased; the value is trimmed and must
//     not be empty;
//   - "#" starts a comment only as the first non-blank character of a line;
//   - a "\" at the end of a line joins the next line to it;
//   - "@include: file" reads another file (relative to the including file's
//     folder); reading the same file twice is an error, as is setting a key
//     twice;
//   - "<service>_<key>" overrides "<key>" for the named service;
//   - "{configdirectory}" at the start of a value expands to configdirectory.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Error is a configuration error, printed as one line "file:line: msg" (or
// "file: msg" when no line is concerned).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// entry is one option as written, with where it was written.
type entry struct {
	value string
	file  string
	line  int
}

// Config holds the options of one imapd.conf (and the files it includes) as
// seen by one service.
type Config struct {
	path    string
	service string
	entries map[string]entry
}

// maxIncludeDepth bounds @include nesting; a cycle is already an error
// (a file read twice), this only guards against absurd chains.
const maxIncludeDepth = 32

// Load reads the configuration file at path for the given service name
// (CYRUS_SERVICE; "" for none). Every syntax error is an *Error. The
// configdirectory option is required.
func Load(path, service string) (*Config, error) {
	c := &Config{path: path, service: strings.ToLower(service), entries: map[string]entry{}}
	seen := map[string]bool{}
	if err := c.readFile(path, seen, 0, "", 0); err != nil {
		return nil, err
	}
	if _, ok := c.lookup("configdirectory"); !ok {
		return nil, &Error{File: path, Msg: "configdirectory is not set"}
	}
	return c, nil
}

// Parse reads configuration text as if it were the file named name; an
// @include in it is resolved relative to name's folder.
func Parse(name, text, service string) (*Config, error) {
	c := &Config{path: name, service: strings.ToLower(service), entries: map[string]entry{}}
	seen := map[string]bool{canonical(name): true}
	if err := c.parse(name, strings.NewReader(text), seen, 0); err != nil {
		return nil, err
	}
	if _, ok := c.lookup("configdirectory"); !ok {
		return nil, &Error{File: name, Msg: "configdirectory is not set"}
	}
	return c, nil
}

func canonical(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	return path
}

// readFile reads one file; from and fromLine locate the @include that asked
// for it, for error messages.
func (c *Config) readFile(path string, seen map[string]bool, depth int, from string, fromLine int) error {
	where := func(msg string) error {
		if from == "" {
			return &Error{File: path, Msg: msg}
		}
		return &Error{File: from, Line: fromLine, Msg: msg}
	}
	if depth > maxIncludeDepth {
		return where("includes nested too deeply")
	}
	key := canonical(path)
	if seen[key] {
		return where(fmt.Sprintf("configuration file %s included twice", path))
	}
	seen[key] = true
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return where(fmt.Sprintf("cannot read %s: %v", path, err))
	}
	defer f.Close()
	return c.parse(path, f, seen, depth)
}

func (c *Config) parse(file string, r interface{ Read([]byte) (int, error) }, seen map[string]bool, depth int) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo := 0
	for {
		// Gather one logical line: a trailing backslash joins the next one.
		var logical strings.Builder
		start := 0
		more := false
		for sc.Scan() {
			lineNo++
			if start == 0 {
				start = lineNo
			}
			more = true
			l := strings.TrimSuffix(sc.Text(), "\r")
			if strings.HasSuffix(l, `\`) {
				logical.WriteString(l[:len(l)-1])
				continue
			}
			logical.WriteString(l)
			break
		}
		if err := sc.Err(); err != nil {
			return &Error{File: file, Line: lineNo + 1, Msg: fmt.Sprintf("cannot read: %v", err)}
		}
		if !more {
			return nil
		}
		if err := c.parseLine(file, start, logical.String(), seen, depth); err != nil {
			return err
		}
	}
}

func isKeyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

func (c *Config) parseLine(file string, line int, text string, seen map[string]bool, depth int) error {
	fail := func(format string, args ...any) error {
		return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	p := strings.TrimLeft(text, " \t\v\f\r")
	if p == "" || p[0] == '#' {
		return nil
	}
	i := 0
	if p[0] == '@' {
		i = 1 // a directive
	}
	for i < len(p) && isKeyByte(p[i]) {
		i++
	}
	if i == len(p) || p[i] != ':' {
		return fail("invalid option name")
	}
	key := strings.ToLower(p[:i])
	if key == "" || key == "@" {
		return fail("missing option name")
	}
	value := strings.Trim(p[i+1:], " \t\v\f\r")
	if value == "" {
		return fail("empty value for option %s", key)
	}
	if key[0] == '@' {
		if key != "@include" {
			return fail("unknown directive %s", key)
		}
		inc := value
		if !filepath.IsAbs(inc) {
			inc = filepath.Join(filepath.Dir(file), inc)
		}
		return c.readFile(inc, seen, depth+1, file, line)
	}
	if prev, ok := c.entries[key]; ok {
		return fail("option %s set twice (first at %s:%d)", key, prev.file, prev.line)
	}
	c.entries[key] = entry{value: value, file: file, line: line}
	return nil
}

// Path is the file Load read.
func (c *Config) Path() string { return c.path }

// Service is the service name options are looked up for.
func (c *Config) Service() string { return c.service }

// Keys returns every option name as written (service-prefixed ones too),
// sorted.
func (c *Config) Keys() []string {
	keys := make([]string, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lookup finds key, preferring "<service>_<key>".
func (c *Config) lookup(key string) (entry, bool) {
	key = strings.ToLower(key)
	if c.service != "" {
		if e, ok := c.entries[c.service+"_"+key]; ok {
			return e, true
		}
	}
	e, ok := c.entries[key]
	return e, ok
}

// IsSet reports whether key (or its service override) is set.
func (c *Config) IsSet(key string) bool {
	_, ok := c.lookup(key)
	return ok
}

const configDirToken = "{configdirectory}"

// String returns the option's value, or def when it is not set. A value (or
// def) starting with "{configdirectory}" has it replaced by configdirectory.
func (c *Config) String(key, def string) string {
	v := def
	if e, ok := c.lookup(key); ok {
		v = e.value
	}
	if strings.HasPrefix(v, configDirToken) && strings.ToLower(key) != "configdirectory" {
		dir, _ := c.lookup("configdirectory")
		v = dir.value + v[len(configDirToken):]
	}
	return v
}

// List returns the option's value split on white space (and commas, as
// Cyrus accepts both in its list options), or def when it is not set.
func (c *Config) List(key string, def []string) []string {
	e, ok := c.lookup(key)
	if !ok {
		return def
	}
	return strings.FieldsFunc(e.value, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ','
	})
}

func (e entry) errorf(format string, args ...any) error {
	return &Error{File: e.file, Line: e.line, Msg: fmt.Sprintf(format, args...)}
}

// Bool returns a switch: 1/yes/on/true or 0/no/off/false (any case).
func (c *Config) Bool(key string, def bool) (bool, error) {
	e, ok := c.lookup(key)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(e.value) {
	case "1", "yes", "on", "true":
		return true, nil
	case "0", "no", "off", "false":
		return false, nil
	}
	return def, e.errorf("option %s: %q is not a switch (yes/no, on/off, true/false, 1/0)", key, e.value)
}

// Int returns a decimal integer option.
func (c *Config) Int(key string, def int64) (int64, error) {
	e, ok := c.lookup(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(e.value, 10, 64)
	if err != nil {
		return def, e.errorf("option %s: %q is not an integer", key, e.value)
	}
	return n, nil
}

// Size returns a byte count: a bare number is bytes; a K, M or G suffix
// (either case, optionally followed by B) multiplies by 1024, 1024² or 1024³.
func (c *Config) Size(key string, def int64) (int64, error) {
	e, ok := c.lookup(key)
	if !ok {
		return def, nil
	}
	n, err := parseSize(e.value)
	if err != nil {
		return def, e.errorf("option %s: %v", key, err)
	}
	return n, nil
}

func parseSize(s string) (int64, error) {
	v := strings.ToUpper(s)
	v = strings.TrimSuffix(v, "B")
	mult := int64(1)
	if v != "" {
		switch v[len(v)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			v = v[:len(v)-1]
		}
	}
	if v == "" || v[0] == '+' || v[0] == '-' {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n * mult, nil
}

// Duration returns a duration option: a sequence of <n>d, <n>h, <n>m and
// <n>s parts ("1h30m"), or a bare number counted in defUnit (a number
// without a unit at the end of a sequence is counted in defUnit too, as
// Cyrus does).
func (c *Config) Duration(key string, defUnit, def time.Duration) (time.Duration, error) {
	e, ok := c.lookup(key)
	if !ok {
		return def, nil
	}
	d, err := ParseDuration(e.value, defUnit)
	if err != nil {
		return def, e.errorf("option %s: %v", key, err)
	}
	return d, nil
}

// ParseDuration parses Cyrus's duration syntax; see Config.Duration.
func ParseDuration(s string, defUnit time.Duration) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration (e.g. 30m, 1h30m, 2d)", s)
	v := s
	neg := false
	if strings.HasPrefix(v, "-") {
		neg, v = true, v[1:]
	}
	if v == "" {
		return 0, bad
	}
	var total time.Duration
	for v != "" {
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == 0 || i > 12 {
			return 0, bad
		}
		n, _ := strconv.ParseInt(v[:i], 10, 64)
		unit := defUnit
		v = v[i:]
		if v != "" {
			switch v[0] {
			case 'd', 'D':
				unit = 24 * time.Hour
			case 'h', 'H':
				unit = time.Hour
			case 'm', 'M':
				unit = time.Minute
			case 's', 'S':
				unit = time.Second
			default:
				return 0, bad
			}
			v = v[1:]
		}
		if n > int64((1<<62)/unit) {
			return 0, bad
		}
		total += time.Duration(n) * unit
	}
	if neg {
		total = -total
	}
	return total, nil
}
