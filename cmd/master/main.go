// Command master starts and supervises imapd processes as Cyrus's
// master(8) does, for systems without Cyrus and for `make run`: it reads
// cyrus.conf, binds each SERVICES entry's listen address, and runs the
// entry's cmd with the status pipe on fd 3 and the listening socket on
// fd 4 (CYRUS_SERVICE and CYRUS_ID in the environment), keeping prefork
// processes ready, never more than maxchild, starting one on demand when a
// connection waits and none is ready. SIGHUP re-reads cyrus.conf and asks
// every child to finish; SIGTERM or SIGINT stops the children and exits.
// START, EVENTS and DAEMON entries are read and ignored.
//
//	master [-C imapd.conf] [-M cyrus.conf] [-p pidfile] [-L logfile] [-d]
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imapd-go/imapd/app/config"
)

const usageLine = "usage: master [-C imapd.conf] [-M cyrus.conf] [-p pidfile] [-L logfile] [-d]"

// daemonEnv marks the process that -d started in the background.
const daemonEnv = "IMAPD_MASTER_DAEMON"

type options struct {
	imapdConf string
	cyrusConf string
	pidFile   string
	logFile   string
	daemon    bool
	debug     bool
}

func parseFlags(args []string) (options, error) {
	o := options{imapdConf: "/etc/imapd.conf", cyrusConf: "/etc/cyrus.conf"}
	for i := 0; i < len(args); i++ {
		arg := func() (string, error) {
			if i+1 >= len(args) || args[i+1] == "" {
				return "", fmt.Errorf("%s needs an argument", args[i])
			}
			i++
			return args[i], nil
		}
		var err error
		switch args[i] {
		case "-C":
			o.imapdConf, err = arg()
		case "-M":
			o.cyrusConf, err = arg()
		case "-p":
			o.pidFile, err = arg()
		case "-L":
			o.logFile, err = arg()
		case "-d":
			o.daemon = true
		case "-D":
			o.debug = true
		default:
			err = fmt.Errorf("unknown argument %q", args[i])
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	o, err := parseFlags(argv[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "master: %v\n%s\n", err, usageLine)
		return 64
	}
	if o.daemon && os.Getenv(daemonEnv) == "" {
		return daemonize(argv, o)
	}

	out := os.Stderr
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			fmt.Fprintf(os.Stderr, "master: %v\n", err)
			return 73
		}
		out = f
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})).With("pid", os.Getpid())
	fatal := func(code int, msg string, args ...any) int {
		log.Error(msg, args...)
		if out != os.Stderr {
			fmt.Fprintf(os.Stderr, "master: %s %v\n", msg, args)
		}
		return code
	}

	cfg, err := config.Load(o.imapdConf, "")
	if err != nil {
		return fatal(78, "imapd.conf", "err", err)
	}
	settings, err := cfg.Settings()
	if err != nil {
		return fatal(78, "imapd.conf", "err", err)
	}
	// The services' accept locks live here (Cyrus's mkimap makes it).
	if err := os.MkdirAll(filepath.Join(settings.ConfigDir, "socket"), 0o755); err != nil {
		log.Warn("no socket folder for accept locks", "err", err)
	}

	libexec := ""
	if exe, err := os.Executable(); err == nil {
		libexec = filepath.Dir(exe)
	}
	sup := newSupervisor(log, o.cyrusConf, libexec, out)
	if err := sup.load(); err != nil {
		return fatal(78, "cyrus.conf", "err", err)
	}
	if len(sup.services) == 0 {
		return fatal(69, "no service could be started")
	}

	// Signals are taken before the pid file exists, so that whoever reads
	// it may signal at once.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	signal.Ignore(syscall.SIGPIPE)
	if o.pidFile != "" {
		if err := writePidFile(o.pidFile); err != nil {
			return fatal(73, "pid file", "err", err)
		}
		defer os.Remove(o.pidFile)
	}
	log.Info("ready", "services", len(sup.services))
	sup.run(signals)
	log.Info("exiting")
	return 0
}

func writePidFile(path string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// daemonize starts master again in the background, in a session of its
// own (so that its shutdown never signals our caller's process group),
// and returns once it has written its pid file, or failed.
func daemonize(argv []string, o options) int {
	exe, err := os.Executable()
	if err != nil {
		exe = argv[0]
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "master: %v\n", err)
		return 71
	}
	if o.pidFile != "" {
		os.Remove(o.pidFile)
	}
	// The daemon must not hold our caller's standard error open (a caller
	// waiting for it to close would wait forever): without -L its log is
	// lost, as Cyrus's goes to syslog.
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "master: %v\n", err)
		return 71
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	want := strconv.Itoa(cmd.Process.Pid)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		select {
		case <-exited:
			fmt.Fprintf(os.Stderr, "master: the daemon exited at start (%v)\n", cmd.ProcessState)
			return 1
		case <-time.After(10 * time.Millisecond):
		}
		if o.pidFile == "" {
			return 0
		}
		if b, err := os.ReadFile(o.pidFile); err == nil && strings.TrimSpace(string(b)) == want {
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "master: the daemon did not start in time")
	return 1
}
