// Command compare measures our imapd side by side with the reference
// servers on this machine, on the same data and the same workloads, and
// prints one table: ours on each store (sqlite, maildir), with a session
// per process and in multi-session mode, Cyrus imapd under its own master,
// and Dovecot 2.3 unpacked from Debian's packages without installing them.
// A server that cannot be started is shown as absent.
//
// It runs as root (Cyrus's master starts as root; Dovecot runs in a mount
// namespace of its own); `make compare` runs it. See README.md, "Reading
// make compare".
//
//	go run ./test/compare [-reps 5] [-duration 10s] [-clients 10,50] ...
//
// To look at one thing alone: -servers picks the columns that are started
// (say -servers sqlite,maildir for ours only), -mixed-only skips the
// single-connection table, and -cpu reports, for each mixed-load run, the
// CPU time the server's processes and this load generator used. -auth
// plain makes passwords cost nothing (bcrypt by default). -idle 1000,10000
// adds the memory of that many idle sessions (-idle-only: that alone).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	reps     int
	msgs     int
	seed     uint64
	appends  int
	users    int
	perUser  int
	clients  []int
	duration time.Duration
	warmup   time.Duration // the mixed load, untimed, before each timed run
	rounds   int           // timed runs of each mixed-load cell; the table has their median
	prefork  int
	cache    string
	keep     bool
	mb       float64 // the corpus's size
	servers  [ncols]bool
	mixed    bool    // the mixed load only
	cpu      bool    // report the CPU time of each mixed-load run
	stealMax float64 // a mixed-load run the hypervisor took more of is run again
	// bcrypt: the load users have bcrypt hashes (at our DefaultCost) on
	// ours and Dovecot; otherwise passwords cost nothing anywhere.
	bcrypt       bool
	multiPrefork int   // prefork of ours in multi-session mode
	idle         []int // session counts of the idle-memory rows; none: not measured
	idleCap      int   // the most idle sessions asked of a server that runs a process per session
	idleCyrus    int   // the most asked of Cyrus
	idleWait     time.Duration
	idleOnly     bool // the idle rows only
}

// columnNames are the -servers names of the columns.
var columnNames = [ncols]string{colSqlite: "sqlite", colMaildir: "maildir", colMultiSqlite: "multi-sqlite",
	colMultiMaildir: "multi-maildir", colPostgres: "postgres", colCyrus: "cyrus", colDovecot: "dovecot"}

// columnHeads are the columns' titles in the table.
var columnHeads = [ncols]string{colSqlite: "ours sqlite", colMaildir: "ours maildir", colMultiSqlite: "ours-multi sqlite",
	colMultiMaildir: "ours-multi maildir", colPostgres: "ours postgres (2 hosts)", colCyrus: "Cyrus", colDovecot: "Dovecot"}

// oursCols are the columns of our imapd, the ones goals apply to.
var oursCols = []int{colSqlite, colMaildir, colMultiSqlite, colMultiMaildir, colPostgres}

// parseCounts reads "10,50" into positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, c := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want positive counts separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseFlags() options {
	var o options
	var clients, servers string
	flag.IntVar(&o.reps, "reps", 5, "timed repetitions of each command of the single-connection table (after one untimed)")
	flag.IntVar(&o.msgs, "msgs", 500, "messages in the measured mailbox (500 are about 15 MB)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated messages")
	flag.IntVar(&o.appends, "appends", 50, "APPENDs per repetition of the APPEND row")
	flag.IntVar(&o.users, "users", 100, "users of the mixed load")
	flag.IntVar(&o.perUser, "user-msgs", 10, "messages in each mixed-load user's INBOX beforehand")
	flag.StringVar(&clients, "clients", "10,50", "client counts of the mixed load")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each mixed-load run")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds of the mixed load: each runs every client count on every server, each run on the server started again (the same mailboxes), so that a drift of the machine's speed falls on all alike; the table gives the median of the rounds, and the 50-client goal the median of each round's 50/10 ratio")
	flag.DurationVar(&o.warmup, "warmup", 10*time.Second, "the mixed load runs this long untimed before each timed run (the processes started and grown to the memory they keep, the users' passwords checked once)")
	flag.IntVar(&o.prefork, "prefork", 5, "prefork of the Cyrus-style masters")
	flag.StringVar(&o.cache, "cache", "/tmp/imapd-compare", "where Dovecot's packages are unpacked and kept between runs")
	flag.BoolVar(&o.keep, "keep", false, "keep the servers' folders (printed) instead of removing them")
	flag.StringVar(&servers, "servers", strings.Join(columnNames[:], ","), "the servers to start, separated by commas (the others show as absent)")
	flag.BoolVar(&o.mixed, "mixed-only", false, "run the mixed load only, without the single-connection table")
	flag.Float64Var(&o.stealMax, "steal-max", 0.03, "run a mixed-load run again (twice at most) when the hypervisor took more than this share of the machine's CPU during it (steal time, /proc/stat): on a shared virtual machine such a run measures the neighbours; 0 or less: never")
	flag.BoolVar(&o.cpu, "cpu", false, "after each mixed-load run, print the CPU time used by the server's processes, by this program and by the whole machine")
	auth := flag.String("auth", "bcrypt", "passwords: bcrypt (ours and Dovecot check the same bcrypt hashes, Dovecot with its auth cache; Cyrus alwaystrue) or plain (no password costs anything: alwaystrue, Dovecot {PLAIN})")
	flag.IntVar(&o.multiPrefork, "multi-prefork", 1, "prefork of ours in multi-session mode (multi-sqlite, multi-maildir)")
	idle := flag.String("idle", "", "measure the memory of this many idle sessions (LOGIN, SELECT, IDLE), e.g. 1000,10000; empty: not measured")
	flag.IntVar(&o.idleCap, "idle-max-procs", 1000, "the most idle sessions asked of a server with a process per session (ours single, Dovecot)")
	flag.IntVar(&o.idleCyrus, "idle-cyrus", 100, "the most idle sessions asked of Cyrus")
	flag.DurationVar(&o.idleWait, "idle-wait", 5*time.Second, "how long the wake-up check of the idle sessions waits for EXISTS")
	env := flag.String("ours-env", "", "NAME=value words, separated by spaces, added to the environment of our servers (every imapd inherits them from master), e.g. \"GOGC=50 IMAPD_TIMERSLACK_NS=0\" to measure a runtime setting against the default in two runs")
	flag.BoolVar(&o.idleOnly, "idle-only", false, "measure the idle sessions only (with -idle), without the single-connection table and the mixed load")
	flag.Parse()
	if o.idleOnly {
		o.mixed = true // no single-connection table
		if *idle == "" {
			fmt.Fprintln(os.Stderr, "-idle-only wants -idle")
			os.Exit(2)
		}
	}
	var err error
	if oursEnv, err = parseEnv(*env); err != nil {
		fmt.Fprintf(os.Stderr, "-ours-env %v\n", err)
		os.Exit(2)
	}
	switch *auth {
	case "bcrypt":
		o.bcrypt = true
	case "plain":
	default:
		fmt.Fprintf(os.Stderr, "-auth %q: want bcrypt or plain\n", *auth)
		os.Exit(2)
	}
	if *idle != "" {
		n, err := parseCounts(*idle)
		if err != nil {
			fmt.Fprintf(os.Stderr, "-idle %v\n", err)
			os.Exit(2)
		}
		o.idle = n
	}
	for _, name := range strings.Split(servers, ",") {
		i := slices.Index(columnNames[:], strings.TrimSpace(name))
		if i < 0 {
			fmt.Fprintf(os.Stderr, "-servers %q: want some of %s\n", servers, strings.Join(columnNames[:], ","))
			os.Exit(2)
		}
		o.servers[i] = true
	}
	n, err := parseCounts(clients)
	if err != nil {
		fmt.Fprintf(os.Stderr, "-clients %v\n", err)
		os.Exit(2)
	}
	o.clients = n
	return o
}

// Columns of the table, in order.
const (
	colSqlite = iota
	colMaildir
	colMultiSqlite
	colMultiMaildir
	colPostgres
	colCyrus
	colDovecot
	ncols
)

// row is one line of the table: a figure per server (0: not measured).
type row struct {
	name, unit string
	values     [ncols]float64
	lower      bool // lower is better
	goal       string
	// met reports, per column of ours, whether the goal is met, with the
	// figure that says so; known is false when it cannot be told; nil: no goal.
	met func(r *row, col int) (text string, ok, known bool)
	// same marks a row whose figure bounds every server alike.
	same bool
}

// ratioGoal is a goal of ours over another column (Dovecot) of at least x.
func ratioGoal(of int, x float64) func(r *row, col int) (string, bool, bool) {
	return func(r *row, col int) (string, bool, bool) {
		if r.values[of] == 0 || r.values[col] == 0 {
			return "", false, false
		}
		v := r.values[col] / r.values[of]
		return fmt.Sprintf("%.2fx", v), v >= x, true
	}
}

func main() {
	o := parseFlags()
	log := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...) }
	// Many idle sessions take as many descriptors here: the soft limit
	// goes up to the hard one in this process only (and its children).
	if err := raiseFileLimit(); err != nil {
		log("raising the file limit: %v", err)
	}
	root, err := repoRoot()
	if err != nil {
		log("%v", err)
		os.Exit(1)
	}
	tmp, err := os.MkdirTemp("", "imapd-compare-")
	if err != nil {
		log("%v", err)
		os.Exit(1)
	}
	os.Chmod(tmp, 0o755)
	// Our servers' login cache lives on tmpfs, in a folder of this run's.
	if d, err := os.MkdirTemp("/dev/shm", "imapd-compare-"); err == nil {
		os.Chmod(d, 0o755)
		loginCacheDir = d
	}
	bin := filepath.Join(tmp, "bin")
	log("building our imapd and master into %s", bin)
	if err := buildOurs(root, bin); err != nil {
		log("%v", err)
		os.Exit(1)
	}

	users := []string{"bench", "appender"}
	var loadUsers []string
	for i := 0; i < o.users; i++ {
		loadUsers = append(loadUsers, fmt.Sprintf("load%d", i))
	}
	users = append(users, loadUsers...)
	pw := passwords{pass: "secret"}
	if o.bcrypt {
		start := time.Now()
		if pw.hash, err = bcryptHashes(users, pw.pass); err != nil {
			log("%v", err)
			os.Exit(1)
		}
		log("bcrypt hashes (cost %d) of %d users made in %s", bcryptCost, len(users), time.Since(start).Round(time.Millisecond))
	}
	// Dovecot accepts as many sessions as the idle rows ask of it.
	dovecotMax := 0
	for _, n := range countsFor(o.idle, o.idleCap) {
		dovecotMax = max(dovecotMax, n)
	}

	log("starting the servers")
	servers := make([]*server, ncols)
	var wg sync.WaitGroup
	for col, f := range []func() *server{
		func() *server { return startOurs(bin, filepath.Join(tmp, "sqlite"), "sqlite", false, o.prefork, pw) },
		func() *server { return startOurs(bin, filepath.Join(tmp, "maildir"), "maildir", false, o.prefork, pw) },
		func() *server {
			return startOurs(bin, filepath.Join(tmp, "multi-sqlite"), "sqlite", true, o.multiPrefork, pw)
		},
		func() *server {
			return startOurs(bin, filepath.Join(tmp, "multi-maildir"), "maildir", true, o.multiPrefork, pw)
		},
		func() *server { return startPostgres(bin, filepath.Join(tmp, "postgres"), o.prefork, pw) },
		func() *server { return startCyrus(filepath.Join(tmp, "cyrus"), o.prefork) },
		func() *server { return startDovecot(o.cache, filepath.Join(tmp, "dovecot"), users, pw, dovecotMax) },
	} {
		if !o.servers[col] {
			servers[col] = &server{name: columnNames[col], absent: "not asked for (-servers)"}
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); servers[col] = f(); servers[col].restart = f }()
	}
	wg.Wait()
	stopAll := func() {
		for _, s := range servers {
			s.stop()
		}
		if o.keep {
			log("the servers' folders are in %s", tmp)
		} else {
			os.RemoveAll(tmp)
		}
		if loginCacheDir != "" {
			os.RemoveAll(loginCacheDir)
		}
		stopCluster()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		log("interrupted: stopping the servers")
		stopAll()
		os.Exit(1)
	}()
	defer stopAll()
	for _, s := range servers {
		if s.up() {
			s.startProcs = memoryOf(s).procs
			log("%s: listening on %s", s.name, s.addr)
		} else {
			log("%s: absent: %s", s.name, s.absent)
		}
	}

	msgs := corpus(o.seed, o.msgs)
	var small [][]byte
	for _, m := range msgs {
		if len(m.raw) < 8000 {
			small = append(small, m.raw)
		}
	}
	if len(small) == 0 {
		small = [][]byte{msgs[0].raw}
	}
	appendMsgs := make([]message, o.appends)
	for i := range appendMsgs {
		appendMsgs[i] = msgs[(i*7)%len(msgs)]
	}
	o.mb = float64(size(msgs)) / 1e6
	log("%d messages, %.1f MB; loading them into each server", len(msgs), o.mb)
	for _, s := range servers {
		if !s.up() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			bench := msgs
			if o.mixed {
				bench = nil
			}
			if err := load(s, bench, small, loadUsers, o.perUser); err != nil {
				s.absent = "loading the messages failed: " + err.Error()
				s.addr = ""
				return
			}
			log("%s: loaded in %s", s.name, time.Since(start).Round(time.Millisecond))
		}()
	}
	wg.Wait()

	var rows []*row
	// The loopback bound.
	lb := &row{name: "loopback limit (Go-to-Go TCP copy)", unit: "MB/s", same: true}
	var lbs []float64
	for i := 0; i < max(o.reps, 3); i++ {
		if v, err := loopback(msgs); err == nil {
			lbs = append(lbs, v)
		}
	}
	for c := range lb.values {
		lb.values[c] = median(lbs)
	}
	rows = append(rows, lb)

	// The single-connection table.
	ps := probes(msgs, o.appends)
	sessions := make([]*session, ncols)
	for c, s := range servers {
		if !s.up() || o.mixed {
			continue
		}
		ss, err := openSession(s)
		if err != nil {
			s.absent, s.addr = "session: "+err.Error(), ""
			continue
		}
		sessions[c] = ss
		defer ss.close()
	}
	times := make([][][]time.Duration, len(ps))
	for i := range times {
		times[i] = make([][]time.Duration, ncols)
	}
	for rep := 0; rep <= o.reps && !o.mixed; rep++ {
		log("single connection: repetition %d of %d%s", rep, o.reps, map[bool]string{true: " (untimed)"}[rep == 0])
		for i, p := range ps {
			for k := 0; k < ncols; k++ {
				c := (k + rep) % ncols // each server first in turn
				ss := sessions[c]
				if ss == nil || !servers[c].up() {
					continue
				}
				d, err := ss.time(p, appendMsgs)
				if err != nil {
					log("%s: %s: %v", servers[c].name, p.name, err)
					servers[c].absent, servers[c].addr = p.name+": "+err.Error(), ""
					continue
				}
				if rep > 0 {
					times[i][c] = append(times[i][c], d)
				}
			}
		}
	}
	for i, p := range ps {
		if o.mixed {
			break
		}
		r := &row{name: p.name, unit: p.unit}
		for c := range servers {
			if len(times[i][c]) > 0 {
				r.values[c] = p.value(medianDuration(times[i][c]))
			}
		}
		if p.goal > 0 {
			r.goal = fmt.Sprintf(">= %gx Dovecot", p.goal)
			r.met = ratioGoal(colDovecot, p.goal)
		}
		rows = append(rows, r)
	}
	// SEARCH answers that differ between servers make their times
	// incomparable: the table says how many messages each found.
	var searches []string
	for _, p := range ps {
		if !strings.HasPrefix(p.cmd, "SEARCH") {
			continue
		}
		var seen []string
		for c, ss := range sessions {
			if ss != nil {
				seen = append(seen, servers[c].name+"="+ss.hits[p.name])
			}
		}
		hits := map[string]bool{}
		for _, s := range seen {
			hits[s[strings.Index(s, "=")+1:]] = true
		}
		if len(hits) > 1 {
			searches = append(searches, p.cmd+": "+strings.Join(seen, ", "))
		} else if len(seen) > 0 {
			searches = append(searches, p.cmd+": "+seen[0][strings.Index(seen[0], "=")+1:])
		}
	}

	// The mixed load, one server at a time, o.rounds times over.
	var mixed []*row
	if o.idleOnly {
		o.clients = nil
	}
	// runs[i][c] are the rates of client count o.clients[i] on column c,
	// one per round.
	runs := make([][ncols][]float64, len(o.clients))
	for round := 1; round <= max(o.rounds, 1); round++ {
		tag := ""
		if o.rounds > 1 {
			tag = fmt.Sprintf(" (round %d of %d)", round, o.rounds)
		}
		// Every run starts on a server started again: once after the
		// loading (whose sessions leave processes of their own), then
		// after each run. A process per session that an earlier run's
		// 50 clients started would otherwise still be there for the
		// next 10 (spreading them over cold processes). The restart
		// follows each run at once, so that the server's
		// processes left idle do not work during another server's run:
		// ours give their memory back after a few seconds without a
		// session, SQLite's connections closing with a checkpoint, and
		// that took 0.4 cores of the next server's run.
		restart := func(s *server) {
			if err := s.fresh(); err != nil {
				log("mixed load%s: %s could not start again: %v", tag, s.name, err)
			}
		}
		if round == 1 {
			for _, s := range servers {
				if s.up() {
					restart(s)
				}
			}
		}
		// A server's client counts run one after the other, so that the
		// ratio of its own rates (50 over 10 clients) compares runs a
		// minute apart, not runs the other servers' runs separate (a
		// neighbour of the virtual machine busy during one of them);
		// the order is reversed in even rounds, so that no count always
		// runs on the mailboxes the other has grown.
		for c, s := range servers {
			for k := range o.clients {
				if !s.up() {
					continue
				}
				i := k
				if round%2 == 0 {
					i = len(o.clients) - 1 - k
				}
				n := o.clients[i]
				var st *loadStats
				var before, after cpuSample
				for try := 1; ; try++ {
					if o.warmup > 0 {
						mixedLoad(s, loadUsers, small, n, o.warmup)
					}
					before = sampleCPU(s)
					st = mixedLoad(s, loadUsers, small, n, o.duration)
					after = sampleCPU(s)
					stolen := after.stolenShare(before)
					if o.stealMax <= 0 || stolen <= o.stealMax || try == 3 {
						break
					}
					log("mixed load, %d clients, %s%s: the hypervisor took %.0f%% of the machine during the run (%d commands/s): running it again",
						n, s.name, tag, 100*stolen, int(float64(st.commands.Load())/o.duration.Seconds()))
					restart(s)
				}
				v := float64(st.commands.Load()) / o.duration.Seconds()
				runs[i][c] = append(runs[i][c], v)
				log("mixed load, %d clients, %s%s: %.0f commands/s, %d failed sessions%s", n, s.name, tag, v, st.errors.Load(),
					map[bool]string{true: " (first: " + st.first + ")"}[st.first != ""])
				if o.cpu {
					log("mixed load, %d clients, %s%s: %s", n, s.name, tag, after.since(before, st.commands.Load()))
				}
				restart(s)
			}
		}
	}
	for i, n := range o.clients {
		r := &row{name: fmt.Sprintf("mixed load, %d clients", n), unit: "cmd/s"}
		for c := range ncols {
			if len(runs[i][c]) > 0 {
				r.values[c] = median(runs[i][c])
			}
		}
		mixed = append(mixed, r)
		rows = append(rows, r)
	}
	mixedGoals(mixed, runs, o)

	// Memory of idle sessions, one server and one count at a time.
	var notes []string
	if len(o.idle) > 0 {
		rows = append(rows, idleRows(servers, loadUsers, o, &notes, log)...)
	}

	printTable(os.Stdout, servers, rows, searches, notes, o)
}

// mixedGoals sets the goals of the mixed-load rows. With bcrypt passwords:
// every count at least 2x Dovecot, and 50 clients not below
// our own 10 clients. With plain passwords (the earlier goal): 50 clients
// at least 1.8x our own 10 clients. runs holds each round's rates (see
// main): the 50/10 ratio is the median of the rounds' ratios.
func mixedGoals(mixed []*row, runs [][ncols][]float64, o options) {
	i10 := slices.Index(o.clients, 10)
	own := 1.8
	if o.bcrypt {
		own = 1.0
	}
	for i, n := range o.clients {
		r := mixed[i]
		var parts []string
		var checks []func(r *row, col int) (string, bool, bool)
		if o.bcrypt {
			parts = append(parts, ">= 2x Dovecot")
			checks = append(checks, ratioGoal(colDovecot, 2))
		}
		if n == 50 && i10 >= 0 {
			parts = append(parts, fmt.Sprintf(">= %gx own 10-client", own))
			checks = append(checks, func(r *row, col int) (string, bool, bool) {
				a, b := runs[i][col], runs[i10][col]
				var xs []float64
				for k := range min(len(a), len(b)) {
					if a[k] > 0 && b[k] > 0 {
						xs = append(xs, a[k]/b[k])
					}
				}
				if len(xs) == 0 {
					return "", false, false
				}
				x := median(xs)
				return fmt.Sprintf("%.2fx own", x), x >= own, true
			})
		}
		if len(checks) == 0 {
			continue
		}
		r.goal = strings.Join(parts, ", ")
		r.met = allOf(checks)
	}
}

// allOf meets a goal when every check does; its text is theirs together.
func allOf(checks []func(r *row, col int) (string, bool, bool)) func(r *row, col int) (string, bool, bool) {
	return func(r *row, col int) (string, bool, bool) {
		var texts []string
		all, known := true, true
		for _, c := range checks {
			t, ok, k := c(r, col)
			if !k {
				known = false
				t = "n/a"
			}
			all = all && ok
			texts = append(texts, t)
		}
		return strings.Join(texts, " "), all && known, known
	}
}

// printTable writes the one table.
func printTable(w *os.File, servers []*server, rows []*row, searches, notes []string, o options) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"measurement", "unit", "better"}
	head = append(head, columnHeads[:]...)
	// Ratios of ours over Dovecot and Cyrus, where both ran.
	var pairs [][2]int
	for _, ref := range []int{colDovecot, colCyrus} {
		for _, c := range oursCols {
			if servers[c].up() && servers[ref].up() {
				pairs = append(pairs, [2]int{c, ref})
				head = append(head, columnNames[c]+"/"+columnHeads[ref])
			}
		}
	}
	var metCols []string
	for _, c := range oursCols {
		if servers[c].up() {
			metCols = append(metCols, columnNames[c])
		}
	}
	head = append(head, "goal", "met ("+strings.Join(metCols, ", ")+")")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, r := range rows {
		cells := []string{r.name, r.unit, "higher"}
		if r.lower {
			cells[2] = "lower"
		}
		for c := range ncols {
			cells = append(cells, figure(r.values[c], servers[c].up() || r.same))
		}
		for _, pair := range pairs {
			if r.same || r.values[pair[0]] == 0 || r.values[pair[1]] == 0 {
				cells = append(cells, "")
			} else {
				cells = append(cells, fmt.Sprintf("%.2fx", r.values[pair[0]]/r.values[pair[1]]))
			}
		}
		if r.same {
			cells[2] = ""
		}
		cells = append(cells, r.goal)
		met := ""
		if r.met != nil {
			var parts []string
			for _, c := range oursCols {
				if !servers[c].up() {
					continue
				}
				text, ok, known := r.met(r, c)
				switch {
				case !known && text != "":
					parts = append(parts, "n/a "+text)
				case !known:
					parts = append(parts, "n/a")
				case ok:
					parts = append(parts, "yes "+text)
				default:
					parts = append(parts, "no "+text)
				}
			}
			met = strings.Join(parts, ", ")
		}
		cells = append(cells, met)
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
	if !o.mixed {
		fmt.Fprintf(w, "%d messages, %.1f MB, generated with seed %d. Single connection: median of %d repetitions, servers interleaved.\n",
			o.msgs, o.mb, o.seed, o.reps)
	}
	if len(o.clients) > 0 {
		fmt.Fprintf(w, "Mixed load: %s per run, one server at a time, %d users with %d messages each beforehand.\n", o.duration, o.users, o.perUser)
	}
	if o.bcrypt {
		fmt.Fprintf(w, "Passwords: ours and Dovecot check the same bcrypt hashes (cost %d); Dovecot's auth cache is on; Cyrus takes any password (alwaystrue).\n", bcryptCost)
	} else {
		fmt.Fprintln(w, "Passwords cost nothing: alwaystrue on ours and Cyrus, a {PLAIN} passwd-file on Dovecot (-auth plain).")
	}
	fmt.Fprintf(w, "Ours: a session per process under our master (prefork %d); ours-multi: multisession: yes, -U 100000, prefork %d.\n", o.prefork, o.multiPrefork)
	if len(oursEnv) > 0 {
		fmt.Fprintf(w, "Ours ran with %s added to its environment (-ours-env).\n", strings.Join(oursEnv, " "))
	}
	fmt.Fprintln(w, "Durability: an APPEND is on disk when its OK comes back on every server: ours fsyncs, Dovecot has mail_fsync = always,\n"+
		"and Cyrus, by default, fsyncs the message file, cyrus.cache and cyrus.index before its OK.")
	fmt.Fprintln(w, "Rates: higher is better, and a ratio above 1 means ours is faster. The loopback row bounds FETCH BODY[] for every server.")
	if len(o.idle) > 0 {
		fmt.Fprintln(w, "Idle memory: lower is better (a ratio below 1 means ours uses less); the figure is the growth of the sum over the server's\n"+
			"processes of smaps_rollup's Pss or Rss, from before the sessions to while they are all in IDLE, divided by the sessions.")
	}
	if !o.mixed {
		fmt.Fprintf(w, "Messages found (one number: the same on every server): %s.\n", strings.Join(searches, "; "))
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	for _, s := range servers {
		if !s.up() {
			fmt.Fprintf(w, "absent: %s: %s\n", s.name, s.absent)
		}
	}
}

// figure formats a measurement with three significant digits or so.
func figure(v float64, up bool) string {
	switch {
	case !up:
		return "absent"
	case v == 0:
		return "-"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

func medianDuration(v []time.Duration) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// repoRoot is the folder of go.mod at or above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod at or above the working directory")
		}
		dir = parent
	}
}
