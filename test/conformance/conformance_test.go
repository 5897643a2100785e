package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TraceEnv names the variable that, set to 1, adds the whole exchange
// to each failure.
const TraceEnv = "IMAPD_CONFORMANCE_TRACE"

func failure(rep Report) string {
	if os.Getenv(TraceEnv) == "1" {
		return rep.Failure + "\n  trace:\n" + indent(rep.Trace)
	}
	return rep.Failure
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

const (
	corpusDir       = "testdata"
	differencesFile = "cyrus-differences.txt"
	knownFile       = "known-failures.txt"
)

// loadCorpus parses every testdata/<group>/*.imap transcript.
func loadCorpus(t *testing.T) []*Script {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*", "*.imap"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var out []*Script
	names := map[string]string{}
	for _, p := range paths {
		s, err := ParseFile(p, filepath.Base(filepath.Dir(p)))
		if err != nil {
			t.Fatal(err)
		}
		if s.Source == "" {
			t.Fatalf("%s: no rfc: header (the RFC and section the transcript comes from)", p)
		}
		if other := names[s.Name]; other != "" {
			t.Fatalf("%s and %s are both named %q", other, p, s.Name)
		}
		names[s.Name] = p
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatal("no transcripts under testdata/")
	}
	return out
}

// Workers is how many transcripts run at once on one server: the time
// goes into waiting for the servers, not into the runner.
const Workers = 8

// runAll runs fn for every script that skip (when not nil) does not
// skip, on workers goroutines (Workers when 0), and returns the reports
// by script index.
func runAll(scripts []*Script, skip func(*Script) bool, fn func(int, *Script) Report, workers ...int) []Report {
	n := Workers
	if len(workers) > 0 && workers[0] > 0 {
		n = workers[0]
	}
	reps := make([]Report, len(scripts))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				reps[i] = fn(i, scripts[i])
			}
		}()
	}
	for i, s := range scripts {
		if skip == nil || !skip(s) {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	return reps
}

// userFor names the fresh user of the i-th transcript.
func userFor(i int) string { return fmt.Sprintf("u%03d", i) }

// TestConformance runs the corpus against our server on each store. A
// transcript listed in known-failures.txt must fail (and is then not an
// error); one that passes must leave the list.
func TestConformance(t *testing.T) {
	scripts := loadCorpus(t)
	known, err := ParseKnownFailures(knownFile)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range scripts {
		names[s.Name] = true
	}
	for _, k := range known {
		if !names[k.Name] {
			t.Errorf("%s:%d: no transcript is named %q", knownFile, k.Line, k.Name)
		}
	}
	for _, store := range Stores {
		t.Run(store, func(t *testing.T) {
			target := ours(t, store)
			reps := runAll(scripts, nil, func(i int, s *Script) Report {
				return Run(s, target, Options{User: userFor(i), Password: "secret"})
			})
			for i, s := range scripts {
				t.Run(s.Group+"/"+s.Name, func(t *testing.T) {
					rep := reps[i]
					k := Lookup(known, s.Name, store)
					switch {
					case rep.Failure != "" && k != nil:
						t.Logf("known failure (%s): %s\n%s", knownFile, k.Reason, failure(rep))
					case rep.Failure != "":
						t.Error(failure(rep))
					case k != nil:
						t.Errorf("%s passes on %s now: remove it from %s (line %d)", s.Name, store, knownFile, k.Line)
					}
				})
			}
		})
	}
}

// TestCyrusDifferential runs the corpus against Cyrus imapd 3.6 under
// its master. Where Cyrus answers a block otherwise than the transcript
// expects, cyrus-differences.txt must say what it answers and why; a
// listed difference that no longer occurs fails too.
func TestCyrusDifferential(t *testing.T) {
	scripts := loadCorpus(t)
	diffs, err := ParseDifferences(differencesFile)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Script{}
	for _, s := range scripts {
		byName[s.Name] = s
	}
	keys := map[string]bool{}
	for _, s := range scripts {
		for _, b := range s.Blocks {
			if !b.Client {
				for _, k := range b.Keys(s.Name) {
					keys[k] = true
				}
			}
		}
	}
	for k, d := range diffs {
		if !keys[k] {
			t.Errorf("%s:%d: %q names no block of a transcript", differencesFile, d.Line, k)
		}
	}
	target := cyrus(t)
	var mu sync.Mutex
	used := map[string]bool{}
	completed := map[string]bool{}
	// A transcript on which Cyrus drops the connection runs alone, after
	// the others: a dying imapd may leave damage behind (RENAME INBOX
	// does, to other users' mailboxes).
	alone := map[string]bool{}
	for k, d := range diffs {
		for _, e := range d.Expect {
			if strings.Contains(e.Pattern, "{closed}") {
				name, _, _ := strings.Cut(k, " ")
				alone[name] = true
			}
		}
	}
	for _, group := range []string{"cyrus", "cyrus-alone"} {
		t.Run(group, func(t *testing.T) {
			skip := func(s *Script) bool { return alone[s.Name] != (group == "cyrus-alone") }
			workers := 0
			if group == "cyrus-alone" {
				workers = 1
			}
			reps := runAll(scripts, skip, func(i int, s *Script) Report {
				return Run(s, target, Options{User: userFor(i), Password: "secret", Diffs: diffs})
			}, workers)
			for i, s := range scripts {
				if skip(s) {
					continue
				}
				t.Run(s.Group+"/"+s.Name, func(t *testing.T) {
					rep := reps[i]
					mu.Lock()
					for _, k := range append(rep.Used, rep.Stale...) {
						used[k] = true
					}
					completed[s.Name] = rep.Failure == ""
					mu.Unlock()
					for _, k := range rep.Stale {
						t.Errorf("Cyrus now answers %q as the transcript expects: remove it from %s (line %d)", k, differencesFile, diffs[k].Line)
					}
					if rep.Failure != "" {
						t.Errorf("%s\n(an intended difference goes to %s with its reason; a bug of ours gets fixed)", failure(rep), differencesFile)
					}
				})
			}
		})
	}
	for k, d := range diffs {
		name, _, _ := strings.Cut(k, " ")
		if completed[name] && !used[k] {
			t.Errorf("%s:%d: %q did not occur: remove it", differencesFile, d.Line, k)
		}
	}
}

// groupOf names the corpus group (testdata folder) of each capability
// our server advertises.
var groupOf = map[string]string{
	"IMAP4rev1": "rfc3501", "IMAP4rev2": "rfc9051", "SASL-IR": "sasl-ir", "ID": "id", "ENABLE": "enable",
	"LITERAL+": "literal-plus", "AUTH=PLAIN": "rfc3501", "AUTH=LOGIN": "rfc3501", "BINARY": "binary",
	"CHILDREN": "children", "CONDSTORE": "condstore", "CREATE-SPECIAL-USE": "create-special-use",
	"ESEARCH": "esearch", "IDLE": "idle", "LIST-EXTENDED": "list-extended", "LIST-STATUS": "list-status",
	"MOVE": "move", "MULTIAPPEND": "multiappend", "NAMESPACE": "namespace", "QRESYNC": "qresync",
	"SEARCHRES": "searchres", "SPECIAL-USE": "special-use", "STATUS=SIZE": "status-size",
	"SAVEDATE": "savedate", "UIDPLUS": "uidplus", "UNSELECT": "unselect", "UTF8=ACCEPT": "utf8",
	"WITHIN": "within", "APPENDLIMIT": "appendlimit", "CATENATE": "catenate", "URLAUTH": "urlauth", "URLAUTH=BINARY": "urlauth-binary", "STARTTLS": "rfc3501", "LOGINDISABLED": "rfc3501",
	"PARTIAL": "partial", "CONTEXT=SEARCH": "context-search", "ESORT": "esort", "CONTEXT=SORT": "context-sort",
	"COMPRESS=DEFLATE": "compress", "UNAUTHENTICATE": "unauthenticate", "REPLACE": "replace",
	"OBJECTID": "objectid", "PREVIEW": "preview",
	"SORT": "sort", "SORT=DISPLAY": "sort", "THREAD=ORDEREDSUBJECT": "thread", "THREAD=REFERENCES": "thread", "THREAD=REFS": "thread",
	"NOTIFY": "notify", "METADATA": "metadata", "METADATA-SERVER": "metadata", "LIST-METADATA": "metadata",
	"ACL": "acl", "RIGHTS=kxten": "acl", "LIST-MYRIGHTS": "list-myrights",
	"QUOTA": "quota", "QUOTA=RES-STORAGE": "quota", "QUOTA=RES-MESSAGE": "quota", "QUOTA=RES-MAILBOX": "quota", "QUOTASET": "quota",
}

// TestCoverage prints the size of the corpus and, per group (an RFC or
// an extension), its transcripts, the commands they send and how many
// command steps; then it checks that every capability our server
// advertises has a group with transcripts:
//
//	go test ./test/conformance -run TestCoverage -v
func TestCoverage(t *testing.T) {
	scripts := loadCorpus(t)
	type group struct {
		n, steps int
		cmds     map[string]bool
	}
	groups := map[string]*group{}
	all := map[string]bool{}
	steps := 0
	for _, s := range scripts {
		g := groups[s.Group]
		if g == nil {
			g = &group{cmds: map[string]bool{}}
			groups[s.Group] = g
		}
		g.n++
		for _, c := range s.Commands() {
			g.cmds[c] = true
			all[c] = true
		}
		for _, b := range s.Blocks {
			if !b.Client && b.Final {
				g.steps++
				steps++
			}
		}
	}
	var names []string
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%d transcripts, %d command steps, in %d groups; %d distinct commands\n\n", len(scripts), steps, len(groups), len(all))
	fmt.Fprintf(&b, "%-20s %5s %5s  %s\n", "group", "files", "steps", "commands")
	for _, n := range names {
		g := groups[n]
		fmt.Fprintf(&b, "%-20s %5d %5d  %s\n", n, g.n, g.steps, strings.Join(sorted(g.cmds), " "))
	}
	t.Log("\n" + b.String())

	// Every advertised capability, before and after login, has its group.
	target := ours(t, "sqlite")
	caps := capabilities(t, target)
	for _, c := range caps {
		name := c
		if strings.HasPrefix(c, "APPENDLIMIT=") {
			name = "APPENDLIMIT"
		}
		g, ok := groupOf[name]
		switch {
		case !ok:
			t.Errorf("capability %s has no group in groupOf", c)
		case groups[g] == nil:
			t.Errorf("capability %s: no transcript in testdata/%s", c, g)
		}
	}
}

// capabilities returns what the server advertises before and after
// login.
func capabilities(t *testing.T, target Target) []string {
	t.Helper()
	s, err := Parse(strings.NewReader("login: no\nC: a1 CAPABILITY\nS: * CAPABILITY {$pre=any}\nS: a1 OK\n"+
		"C: a2 LOGIN u {$pass}\nS: a2 OK [{any}]?\nC: a3 CAPABILITY\nS: * CAPABILITY {$post=any}\nS: a3 OK\n"), "capabilities")
	if err != nil {
		t.Fatal(err)
	}
	var caps []string
	seen := map[string]bool{}
	vars, rep := runVars(s, target, Options{User: "u", Password: "secret"})
	if rep.Failure != "" {
		t.Fatal(rep.Failure)
	}
	for _, c := range strings.Fields(vars["pre"] + " " + vars["post"]) {
		if !seen[c] {
			seen[c] = true
			caps = append(caps, c)
		}
	}
	return caps
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
