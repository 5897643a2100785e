package conformance

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Difference is an intended difference of another server: for one block
// of one transcript, what that server answers instead, and why.
type Difference struct {
	Key    string // "transcript tag" or "transcript tag#k"
	Expect []Expect
	Reason string
	Line   int
}

// ParseDifferences reads a differences file:
//
//	# comment
//	<transcript> <tag>[#k]
//	  S: <pattern>          (S?:, S*: and S=: too; one or more)
//	  reason: <why>
//
// Entries are separated by blank lines; each needs its reason.
func ParseDifferences(path string) (map[string]*Difference, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]*Difference{}
	var cur *Difference
	n := 0
	finish := func() error {
		if cur == nil {
			return nil
		}
		if cur.Reason == "" || len(cur.Expect) == 0 {
			return fmt.Errorf("%s:%d: entry %q needs S: lines and a reason:", path, cur.Line, cur.Key)
		}
		if out[cur.Key] != nil {
			return fmt.Errorf("%s:%d: %q is listed twice", path, cur.Line, cur.Key)
		}
		out[cur.Key] = cur
		cur = nil
		return nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "#"):
		case trimmed == "":
			if err := finish(); err != nil {
				return nil, err
			}
		case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t"):
			if err := finish(); err != nil {
				return nil, err
			}
			f := strings.Fields(trimmed)
			if len(f) != 2 {
				return nil, fmt.Errorf("%s:%d: want \"<transcript> <tag>\", got %q", path, n, trimmed)
			}
			cur = &Difference{Key: f[0] + " " + f[1], Line: n}
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: an indented line outside an entry", path, n)
		case strings.HasPrefix(trimmed, "reason:"):
			cur.Reason = strings.TrimSpace(strings.TrimPrefix(trimmed, "reason:"))
		default:
			m := linePrefix.FindStringSubmatch(trimmed)
			if m == nil || m[1] != "S" || m[2] != "" {
				return nil, fmt.Errorf("%s:%d: want S: lines and reason:, got %q", path, n, trimmed)
			}
			e, err := newExpect("S"+m[3], trimmed[len(m[0]):], n)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
			cur.Expect = append(cur.Expect, e)
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return out, sc.Err()
}

// KnownFailure is a transcript of ours that fails for a known defect.
type KnownFailure struct {
	Name   string // the transcript
	Store  string // "" for every store, else the one store it fails on
	Reason string
	Line   int
}

// ParseKnownFailures reads the known-failures file: one
// "<transcript>[@store] <reason>" per line, # comments.
func ParseKnownFailures(path string) (map[string]*KnownFailure, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]*KnownFailure{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, " ")
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return nil, fmt.Errorf("%s:%d: %q needs a reason", path, i+1, name)
		}
		k := &KnownFailure{Name: name, Reason: reason, Line: i + 1}
		k.Name, k.Store, _ = strings.Cut(name, "@")
		if out[name] != nil {
			return nil, fmt.Errorf("%s:%d: %q is listed twice", path, i+1, name)
		}
		out[name] = k
	}
	return out, nil
}

// Lookup returns the known failure of the transcript on store, if any.
func Lookup(known map[string]*KnownFailure, name, store string) *KnownFailure {
	if k := known[name+"@"+store]; k != nil {
		return k
	}
	return known[name]
}

// Commands returns the commands a transcript sends ("UID FETCH" for UID
// commands), sorted, without duplicates.
func (s *Script) Commands() []string {
	seen := map[string]bool{}
	for _, b := range s.Blocks {
		if !b.Client {
			continue
		}
		for _, snd := range b.Sends {
			if snd.Continue {
				continue
			}
			f := strings.Fields(snd.Text)
			if len(f) < 2 {
				continue
			}
			cmd := strings.ToUpper(f[1])
			if cmd == "UID" && len(f) > 2 {
				cmd += " " + strings.ToUpper(f[2])
			}
			if !isCommandName(cmd) {
				continue
			}
			seen[cmd] = true
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// commandNames are the commands the coverage counts (a transcript may
// send others, to see them refused).
var commandNames = map[string]bool{
	"CAPABILITY": true, "NOOP": true, "LOGOUT": true, "STARTTLS": true, "AUTHENTICATE": true, "LOGIN": true,
	"ENABLE": true, "SELECT": true, "EXAMINE": true, "CREATE": true, "DELETE": true, "RENAME": true,
	"SUBSCRIBE": true, "UNSUBSCRIBE": true, "LIST": true, "LSUB": true, "NAMESPACE": true, "STATUS": true,
	"APPEND": true, "IDLE": true, "CHECK": true, "CLOSE": true, "UNSELECT": true, "EXPUNGE": true,
	"SEARCH": true, "FETCH": true, "STORE": true, "COPY": true, "MOVE": true, "ID": true,
	"UID FETCH": true, "UID STORE": true, "UID SEARCH": true, "UID COPY": true, "UID MOVE": true,
	"UID EXPUNGE": true,
}

func isCommandName(s string) bool { return commandNames[s] }
