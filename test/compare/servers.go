package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/test/dovecot"
	"github.com/imapd-go/imapd/test/pgtest"
)

// loginCacheDir is the logincache_dir of our servers: a tmpfs folder the
// run removes at its end ("" = imapd's default, /dev/shm).
var loginCacheDir string

// oursEnv is added to the environment of our masters, and so of every
// imapd they start (-ours-env).
var oursEnv []string

// parseEnv reads -ours-env: NAME=value words separated by spaces.
func parseEnv(s string) ([]string, error) {
	env := strings.Fields(s)
	for _, kv := range env {
		if i := strings.IndexByte(kv, '='); i <= 0 {
			return nil, fmt.Errorf("%q: want NAME=value", kv)
		}
	}
	return env, nil
}

// server is one IMAP server under measurement; addr is empty when it
// could not be started, and absent says why.
type server struct {
	name   string
	addr   string
	absent string
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	logs   string        // where its logs go, for the report of a failure
	// Users the measurements log in as, with their password.
	pass string
	// perSession: the server runs a process per session (ours in single
	// mode, Cyrus, Dovecot's imap), which bounds the idle sessions asked.
	perSession bool
	cyrus      bool
	startProcs int // its processes once it answered
	// restart starts the server again on the same folders (the same
	// mailboxes), at another address.
	restart func() *server
	// peer is a second host serving the same mailboxes (the PostgreSQL
	// store): the mixed load spreads its sessions over both, and memory
	// and CPU are summed over both.
	peer *server
}

// addrFor returns the address session k dials: with a peer, every other
// session goes to it.
func (s *server) addrFor(k int) string {
	if s.peer != nil && k%2 == 1 {
		return s.peer.addr
	}
	return s.addr
}

// fresh stops s and starts it again in its place: a master with no
// processes left from earlier measurements and no memory grown by them.
func (s *server) fresh() error {
	s.stop()
	ns := s.restart()
	ns.restart = s.restart
	*s = *ns
	if !s.up() {
		return errors.New(s.absent)
	}
	s.startProcs = memoryOf(s).procs
	return nil
}

// passwords are the users' password and, with -auth bcrypt, each user's
// bcrypt hash of it (nil: passwords cost nothing).
type passwords struct {
	pass string
	hash map[string]string
}

// bcryptCost is the work factor of the hashes: our user database's default.
const bcryptCost = sasl.DefaultCost

// bcryptHashes hashes pass for each user (a salt of its own each), on
// every core.
func bcryptHashes(users []string, pass string) (map[string]string, error) {
	out := make(map[string]string, len(users))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var first error
	sem := make(chan struct{}, runtime.NumCPU())
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			h, err := bcrypt.GenerateFromPassword([]byte(pass), bcryptCost)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			out[u] = string(h)
		}()
	}
	wg.Wait()
	return out, first
}

// passwdLines is a passwd file with one "user:<prefix><hash><suffix>"
// line per user, in a fixed order.
func passwdLines(hash map[string]string, prefix, suffix func(user string) string) string {
	users := make([]string, 0, len(hash))
	for u := range hash {
		users = append(users, u)
	}
	sort.Strings(users)
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%s:%s%s%s\n", u, prefix(u), hash[u], suffix(u))
	}
	return b.String()
}

func (s *server) up() bool { return s.addr != "" }

// stop ends the server's master and waits for it.
func (s *server) stop() {
	if s.peer != nil {
		s.peer.stop()
	}
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// start starts cmd as the server's master.
func (s *server) start(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	return nil
}

// freePort returns a loopback address no one listens on right now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitUp waits until a user can log in at addr.
func (s *server) waitUp(addr string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		cl, err := login(addr, "bench", s.pass, 5*time.Second)
		if err == nil {
			cl.ok(5*time.Second, "", "LOGOUT")
			cl.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("master exited: %v", s.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func write(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// buildOurs builds imapd and master into bin.
func buildOurs(root, bin string) error {
	for _, name := range []string{"imapd", "master"} {
		cmd := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", filepath.Join(bin, name), "./cmd/"+name)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", name, err, out)
		}
	}
	return nil
}

// startOurs runs our imapd with store under our own master, in dir: a
// session per process, or with multi many (multisession: yes, and -U high
// enough that a process does not end while the measurements run). With
// bcrypt hashes the users are in the password file (what `imapctl user
// add` writes, a bcrypt hash at DefaultCost per user); without, any
// password is good (alwaystrue, as for Cyrus), so that a login costs the
// session and not a password hash.
func startOurs(bin, dir, store string, multi bool, prefork int, pw passwords) *server {
	return startHost(bin, dir, store, "", multi, prefork, pw)
}

// cluster is the PostgreSQL of the postgres column, started once and kept
// across the column's restarts, so that they find the same mailboxes.
var cluster struct {
	once sync.Once
	pg   *pgtest.Server
	dsn  string
	err  error
}

// stopCluster stops the PostgreSQL cluster, if one was started.
func stopCluster() {
	if cluster.pg != nil {
		cluster.pg.Stop()
	}
}

// startPostgres runs two hosts of ours, each under its own master with its
// own configdirectory, on one PostgreSQL database of a cluster it starts
// once (with fsync on, as a production database runs).
func startPostgres(bin, dir string, prefork int, pw passwords) *server {
	name := "ours (postgres, 2 hosts)"
	cluster.once.Do(func() {
		cluster.pg, cluster.err = pgtest.Start(pgtest.Options{Durable: true})
		if cluster.err != nil {
			return
		}
		var db string
		db, cluster.err = cluster.pg.CreateDatabase()
		cluster.dsn = cluster.pg.DSN(db)
	})
	if cluster.err != nil {
		return &server{name: name, absent: "PostgreSQL: " + cluster.err.Error()}
	}
	conf := "postgres_dsn: " + cluster.dsn + "\n"
	a := startHost(bin, filepath.Join(dir, "a"), "postgres", conf, false, prefork, pw)
	b := startHost(bin, filepath.Join(dir, "b"), "postgres", conf, false, prefork, pw)
	a.name, b.name = name, name
	a.peer = b
	if !a.up() || !b.up() {
		a.stop()
		a.addr = ""
		a.absent = strings.TrimSpace(a.absent + " " + b.absent)
	}
	return a
}

// startHost is startOurs with extra added to imapd.conf.
func startHost(bin, dir, store, extra string, multi bool, prefork int, pw passwords) *server {
	s := &server{name: "ours (" + store + ")", pass: pw.pass, perSession: !multi}
	if multi {
		s.name = "ours-multi (" + store + ")"
	}
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{"conf/socket", "conf/spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			s.absent = err.Error()
			return s
		}
	}
	addr, err := freePort()
	if err != nil {
		s.absent = err.Error()
		return s
	}
	imapdConf := filepath.Join(dir, "imapd.conf")
	text := "configdirectory: " + conf + "\npartition-default: " + conf + "/spool\nstore: " + store +
		"\nallowplaintext: yes\nservername: ours\nfailedloginpause: 0\n"
	if pw.hash == nil {
		text += "sasl_pwcheck_method: alwaystrue\n"
	} else {
		none := func(string) string { return "" }
		if err := os.WriteFile(filepath.Join(conf, sasl.PasswdFile), []byte(passwdLines(pw.hash, none, none)), 0o600); err != nil {
			s.absent = err.Error()
			return s
		}
	}
	if loginCacheDir != "" {
		text += "logincache_dir: " + loginCacheDir + "\n"
	}
	text += extra
	uses := ""
	if multi {
		text += "multisession: yes\n"
		uses = " -U 100000"
	}
	write(imapdConf, text)
	cyrusConf := filepath.Join(dir, "cyrus.conf")
	write(cyrusConf, fmt.Sprintf("SERVICES {\n  imap cmd=\"%s -C %s%s\" listen=\"%s\" prefork=%d\n}\n",
		filepath.Join(bin, "imapd"), imapdConf, uses, addr, prefork))
	s.logs = filepath.Join(dir, "master.log")
	mc := exec.Command(filepath.Join(bin, "master"), "-C", imapdConf, "-M", cyrusConf, "-p", filepath.Join(dir, "master.pid"), "-L", s.logs)
	if len(oursEnv) > 0 {
		mc.Env = append(os.Environ(), oursEnv...)
	}
	if err := s.start(mc); err != nil {
		s.absent = err.Error()
		return s
	}
	if err := s.waitUp(addr, 20*time.Second); err != nil {
		s.stop()
		s.absent = fmt.Sprintf("did not answer: %v (log: %s)", err, s.logs)
		return s
	}
	s.addr = addr
	return s
}

const (
	cyrusMaster = "/usr/lib/cyrus/bin/master"
	cyrusImapd  = "/usr/lib/cyrus/bin/imapd"
)

// startCyrus runs Debian's Cyrus imapd under its own master, which must
// start as root (it runs its services as cyrus:mail). INBOX is created at
// the first login (autocreate_quota: 0) and any password is good
// (sasl_pwcheck_method: alwaystrue). By default Cyrus fsyncs the message
// file, cyrus.cache and cyrus.index before it answers an APPEND.
func startCyrus(dir string, prefork int) *server {
	s := &server{name: "Cyrus", pass: "secret", perSession: true, cyrus: true}
	if _, err := os.Stat(cyrusImapd); err != nil {
		s.absent = "not installed (" + cyrusImapd + ")"
		return s
	}
	if os.Geteuid() != 0 {
		s.absent = "its master needs root"
		return s
	}
	if _, err := user.Lookup("cyrus"); err != nil {
		s.absent = "no cyrus user"
		return s
	}
	for _, d := range []string{"conf/socket", "conf/proc", "conf/db", "conf/log", "spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			s.absent = err.Error()
			return s
		}
	}
	addr, err := freePort()
	if err != nil {
		s.absent = err.Error()
		return s
	}
	imapdConf := filepath.Join(dir, "imapd.conf")
	write(imapdConf, "configdirectory: "+dir+"/conf\npartition-default: "+dir+"/spool\nsasl_pwcheck_method: alwaystrue\n"+
		"allowplaintext: yes\nautocreate_quota: 0\nservername: cyrus\n")
	cyrusConf := filepath.Join(dir, "cyrus.conf")
	write(cyrusConf, fmt.Sprintf("SERVICES {\n  imap cmd=\"%s -C %s\" listen=\"%s\" prefork=%d\n}\n", cyrusImapd, imapdConf, addr, prefork))
	if out, err := exec.Command("chown", "-R", "cyrus:mail", dir).CombinedOutput(); err != nil {
		s.absent = fmt.Sprintf("chown: %v %s", err, out)
		return s
	}
	s.logs = "syslog"
	if err := s.start(exec.Command(cyrusMaster, "-C", imapdConf, "-M", cyrusConf, "-p", filepath.Join(dir, "master.pid"))); err != nil {
		s.absent = err.Error()
		return s
	}
	if err := s.waitUp(addr, 20*time.Second); err != nil {
		s.stop()
		s.absent = fmt.Sprintf("did not answer: %v", err)
		return s
	}
	s.addr = addr
	return s
}

// startDovecot runs Dovecot 2.3 from the unpacked packages. Its binaries
// have their paths built in (/usr/lib/dovecot for its services, private
// libraries and modules, /usr/bin/doveconf to read the configuration), so
// it runs in a mount namespace of its own (unshare -m, which needs root)
// in which /usr/lib and /usr/bin are read-only overlays of the unpacked
// tree over the real ones: nothing is installed or changed outside the
// namespace. The private libraries are found through LD_LIBRARY_PATH,
// which Dovecot passes on to its services through import_environment.
//
// Durability: mail_fsync = always, so that an APPEND is on disk when its
// OK is sent, as with ours.
//
// Passwords: with bcrypt hashes, the passwd-file holds them as
// {BLF-CRYPT} and the auth cache is on. Dovecot's cache keeps the hash,
// not a cheaper proof, so every LOGIN still runs bcrypt: by default in the
// one auth process; auth_cache_verify_password_with_worker spreads that
// over its auth-worker processes, on every core, as its documentation
// advises for strong hashes. Without hashes, {PLAIN}. Its process and client limits
// let sessions sessions in at once (besides the defaults' 100 and 1000).
func startDovecot(cache, dir string, users []string, pw passwords, sessions int) *server {
	s := &server{name: "Dovecot", pass: pw.pass, perSession: true}
	if os.Geteuid() != 0 {
		s.absent = "needs root (a private mount namespace for its built-in paths)"
		return s
	}
	for _, tool := range []string{"unshare", "mount", "apt-get", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			s.absent = "no " + tool
			return s
		}
	}
	dc, err := dovecot.Unpack(cache)
	if err != nil {
		s.absent = err.Error()
		return s
	}
	root := dc.Root
	nobody, err := user.Lookup("nobody")
	if err != nil {
		s.absent = "no user nobody"
		return s
	}
	group, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		s.absent = "no group for nobody"
		return s
	}
	for _, d := range []string{"base", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			s.absent = err.Error()
			return s
		}
	}
	if out, err := exec.Command("chown", nobody.Uid+":"+nobody.Gid, filepath.Join(dir, "mail")).CombinedOutput(); err != nil {
		s.absent = fmt.Sprintf("chown: %v %s", err, out)
		return s
	}
	hash, scheme, cache := pw.hash, "{BLF-CRYPT}", "auth_cache_size = 10M\nauth_cache_ttl = 1 hour\nauth_cache_negative_ttl = 0\n"+
		"auth_cache_verify_password_with_worker = yes\n"
	if hash == nil {
		hash, scheme, cache = map[string]string{}, "{PLAIN}", ""
		for _, u := range users {
			hash[u] = s.pass
		}
	}
	rest := func(u string) string { return fmt.Sprintf(":%s:%s::%s/mail/%s", nobody.Uid, nobody.Gid, dir, u) }
	write(filepath.Join(dir, "passwd"), passwdLines(hash, func(string) string { return scheme }, rest))
	limits := max(sessions+100, 1000)
	addr, err := freePort()
	if err != nil {
		s.absent = err.Error()
		return s
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "dovecot.conf")
	s.logs = filepath.Join(dir, "dovecot.log")
	write(conf, fmt.Sprintf(`# written by test/compare
base_dir = %[1]s/base
state_dir = %[1]s/state
instance_name = compare-%[4]s
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
import_environment = TZ LD_LIBRARY_PATH=/usr/lib/dovecot
default_login_user = %[2]s
default_internal_user = %[2]s
default_internal_group = %[3]s
first_valid_uid = 1
mail_location = maildir:%[1]s/mail/%%u
mail_fsync = always
mail_max_userip_connections = 100000
%[5]sdefault_process_limit = %[6]d
default_client_limit = %[7]d
service imap {
  process_limit = %[6]d
}
service imap-login {
  process_limit = %[6]d
}
passdb {
  driver = passwd-file
  args = %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = %[1]s/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[4]s
  }
  inet_listener imaps {
    port = 0
  }
}
`, dir, nobody.Username, group.Name, port, cache, limits, 4*limits))
	script := fmt.Sprintf("mount -t overlay overlay -o lowerdir=%[1]s/usr/lib:/usr/lib /usr/lib && "+
		"mount -t overlay overlay -o lowerdir=%[1]s/usr/bin:/usr/bin /usr/bin && "+
		"LD_LIBRARY_PATH=/usr/lib/dovecot exec %[1]s/usr/sbin/dovecot -F -c %[2]s", root, conf)
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
	if out, err := os.Create(filepath.Join(dir, "master.out")); err == nil {
		cmd.Stdout, cmd.Stderr = out, out
		defer out.Close()
	}
	if err := s.start(cmd); err != nil {
		s.absent = err.Error()
		return s
	}
	if err := s.waitUp(addr, 20*time.Second); err != nil {
		s.stop()
		b, _ := os.ReadFile(filepath.Join(dir, "master.out"))
		s.absent = fmt.Sprintf("did not answer: %v; %s (log: %s)", err, strings.TrimSpace(string(b)), s.logs)
		return s
	}
	s.addr = addr
	return s
}
