package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"
)

// tmpfsDir returns a new folder on /dev/shm, removed after the test: the
// processes' login cache (logincache_dir) goes there rather than in
// /dev/shm itself. Without a tmpfs at /dev/shm it is t.TempDir(), where
// imapd refuses to keep the cache (each process keeps its own in memory).
func tmpfsDir(t testing.TB) string {
	t.Helper()
	var fs unix.Statfs_t
	if unix.Statfs("/dev/shm", &fs) == nil && fs.Type == unix.TMPFS_MAGIC {
		if d, err := os.MkdirTemp("/dev/shm", "imapd-e2e-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// onTmpfs skips the test unless dir is on a tmpfs.
func onTmpfs(t testing.TB, dir string) {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		t.Skipf("%s is not on a tmpfs", dir)
	}
}

var entryName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// cacheEntries lists the login cache entries in logincache_dir parent.
func cacheEntries(t testing.TB, parent string) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(parent, "imapd-logincache-*"))
	var out []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if entryName.MatchString(e.Name()) {
				out = append(out, e.Name())
			}
		}
	}
	return out
}

// loginInNewProcess starts imapd -C conf, sends LOGIN and returns the time
// from sending it to its tagged answer, which must have the given status;
// then it logs out and waits for the process to end. The time is LOGIN's
// alone: not the process's start nor its greeting.
func loginInNewProcess(t testing.TB, bins binaries, conf, user, password, status string) time.Duration {
	t.Helper()
	cmd, stdin, stdout, stderr := spawnImapd(t, bins, conf)
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("imapd: %v\n%s", err, stderr.String())
		}
	}()
	tc := newTranscript(t, stdout, stdin, nil)
	tc.expect("* OK ")
	start := time.Now()
	tc.send("a1 LOGIN " + user + " " + password + "\r\n")
	for {
		line := tc.next()
		if strings.HasPrefix(line, "a1 ") {
			if !strings.HasPrefix(line, "a1 "+status+" ") {
				t.Fatalf("LOGIN %s %s: %q, want %s", user, password, line, status)
			}
			break
		}
	}
	d := time.Since(start)
	tc.send("a2 LOGOUT\r\n")
	for {
		if s, err := tc.read(); err != nil || strings.HasPrefix(s, "a2 ") {
			break
		}
	}
	return d
}

// setPasswordHash replaces user's line in conf's imapd.passwd with a
// bcrypt hash of password at cost.
func setPasswordHash(t testing.TB, conf, user, password string, cost int) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(filepath.Dir(conf), "imapd.passwd")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := slices.DeleteFunc(strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"),
		func(l string) bool { return strings.HasPrefix(l, user+":") })
	lines = append(lines, user+":"+string(h))
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestProcessLoginCache: the first LOGIN of a user costs bcrypt; the same
// LOGIN in another imapd process of the configdirectory then does not,
// and a wrong password always does.
func TestProcessLoginCache(t *testing.T) {
	bins := buildBinaries(t)
	cache := tmpfsDir(t)
	onTmpfs(t, cache)
	conf := newProcessConfig(t, []string{"logincache_dir: " + cache})
	// A costlier hash than imapctl's, so that bcrypt stands out from
	// the rest of a LOGIN even on a busy machine. Its cost is judged on
	// imapd's own LOGINs: bcrypt timed in this process would be the race
	// detector's when the tests run with -race, ten times slower.
	setPasswordHash(t, conf, "alice", "secret", 12)

	first := loginInNewProcess(t, bins, conf, "alice", "secret", "OK")
	if n := len(cacheEntries(t, cache)); n != 1 {
		t.Fatalf("%d cache entries after a LOGIN, want 1", n)
	}
	var hits []time.Duration
	for range 3 {
		hits = append(hits, loginInNewProcess(t, bins, conf, "alice", "secret", "OK"))
	}
	wrong := loginInNewProcess(t, bins, conf, "alice", "Secret", "NO")
	unknown := loginInNewProcess(t, bins, conf, "nobody", "secret", "NO")
	t.Logf("LOGIN: first %v, then in other processes %v; wrong password %v, unknown user %v",
		first, hits, wrong, unknown)
	// The first LOGIN checked bcrypt (cost 12: hundreds of
	// milliseconds); the others found the entry.
	if slices.Max(hits)*10 > first {
		t.Errorf("LOGIN in a second process took up to %v, the first %v: no cache hit", slices.Max(hits), first)
	}
	// A wrong password is never answered from the cache: it costs a
	// bcrypt check, ten times a hit at least. (Against the first LOGIN
	// it cannot be held: that one also pays the first process's start,
	// which other work on the machine stretches at random.)
	if wrong < 10*slices.Max(hits) {
		t.Errorf("a wrong password took %v, the first LOGIN %v and a hit %v: it must cost bcrypt", wrong, first, slices.Max(hits))
	}
	if n := len(cacheEntries(t, cache)); n != 1 {
		t.Errorf("%d cache entries, want 1", n)
	}
}

// TestProcessLoginCacheImapctl: imapctl user passwd and user del remove the
// user's entry at once, and the old password fails in the next process.
func TestProcessLoginCacheImapctl(t *testing.T) {
	bins := buildBinaries(t)
	cache := tmpfsDir(t)
	onTmpfs(t, cache)
	conf := newProcessConfig(t, []string{"logincache_dir: " + cache})
	imapctl := func(input string, args ...string) {
		t.Helper()
		cmd := exec.Command(bins.imapctl, append([]string{"-C", conf}, args...)...)
		cmd.Stdin = strings.NewReader(input)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("imapctl %v: %v\n%s", args, err, out)
		}
	}
	entries := func(want int) {
		t.Helper()
		if n := len(cacheEntries(t, cache)); n != want {
			t.Fatalf("%d cache entries, want %d", n, want)
		}
	}

	loginInNewProcess(t, bins, conf, "alice", "secret", "OK")
	loginInNewProcess(t, bins, conf, "bob", "secret", "OK")
	entries(2)
	imapctl("changed\n", "user", "passwd", "alice")
	entries(1)
	loginInNewProcess(t, bins, conf, "alice", "secret", "NO")
	loginInNewProcess(t, bins, conf, "alice", "changed", "OK")
	loginInNewProcess(t, bins, conf, "bob", "secret", "OK")
	entries(2)

	imapctl("", "user", "del", "alice")
	entries(1)
	loginInNewProcess(t, bins, conf, "alice", "changed", "NO")
	imapctl("again\n", "user", "add", "alice")
	loginInNewProcess(t, bins, conf, "alice", "changed", "NO")
	loginInNewProcess(t, bins, conf, "alice", "again", "OK")
	entries(2)
}

// BenchmarkLoginSecondProcess measures LOGIN of a bcrypt user (imapctl's
// hash, cost 10) in a new imapd process after a first LOGIN in another.
// An operation is a whole process: start, greeting, LOGIN, LOGOUT, exit
// (ns/op); p50-ms and p90-ms are the median and 90th percentile of LOGIN's
// round trip alone. cold-ms is the median LOGIN in a new process without
// a cache entry (the user's store exists): one bcrypt check, whose median
// time alone, in the benchmark's own process, is bcrypt-ms.
func BenchmarkLoginSecondProcess(b *testing.B) {
	bins := buildBinaries(b)
	cache := tmpfsDir(b)
	onTmpfs(b, cache)
	conf := newProcessConfig(b, []string{"logincache_dir: " + cache})
	loginInNewProcess(b, bins, conf, "alice", "secret", "OK") // makes the store and the entry
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		times = append(times, loginInNewProcess(b, bins, conf, "alice", "secret", "OK"))
	}
	b.StopTimer()

	var cold []time.Duration
	for range 5 {
		for _, e := range cacheEntries(b, cache) {
			matches, _ := filepath.Glob(filepath.Join(cache, "imapd-logincache-*", e))
			for _, m := range matches {
				os.Remove(m)
			}
		}
		cold = append(cold, loginInNewProcess(b, bins, conf, "alice", "secret", "OK"))
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.DefaultCost)
	var kdf []time.Duration
	for range 5 {
		start := time.Now()
		bcrypt.CompareHashAndPassword(hash, []byte("secret"))
		kdf = append(kdf, time.Since(start))
	}

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	slices.Sort(times)
	slices.Sort(cold)
	slices.Sort(kdf)
	b.ReportMetric(ms(times[len(times)/2]), "p50-ms")
	b.ReportMetric(ms(times[len(times)*9/10]), "p90-ms")
	b.ReportMetric(ms(cold[len(cold)/2]), "cold-ms")
	b.ReportMetric(ms(kdf[len(kdf)/2]), "bcrypt-ms")
}
