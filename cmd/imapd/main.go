// Command imapd is an IMAP4rev1 server that runs as Cyrus imapd does: with
// its flags, its imapd.conf and, without master, one session on standard
// input and output. It parses the command line, loads the configuration
// and lets wire assemble the server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/master"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/cmd/imapd/timerslack"
	"github.com/imapd-go/imapd/cmd/internal/wiring"
)

// Exit statuses from sysexits.h.
const (
	exitOK       = 0
	exitUsage    = 64
	exitSoftware = 70
	exitTempFail = 75
	exitConfig   = 78
)

func main() {
	// A client that goes away must not kill the process by SIGPIPE on fd 1:
	// once SIGPIPE is being notified, the write fails with EPIPE and the
	// session ends normally. (Notify rather than Ignore, so that the
	// debug_command's shell does not inherit an ignored SIGPIPE.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// A process serves one session at a time (multisession changes that,
	// once the configuration is read: tuneMulti), and master runs as many
	// processes as there are sessions: they are the parallelism. A second
	// P in each process only adds hand-offs between threads (every
	// goroutine a query or a transaction starts wakes another thread),
	// which under many clients cost more CPU than the sessions' own work.
	// GOMAXPROCS in the environment still decides.
	if n := procs(os.Getenv("GOMAXPROCS")); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	stopProfile = startProfile()
	code := run(os.Args, os.Getenv("CYRUS_SERVICE"), os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

// procs is the GOMAXPROCS imapd sets given the environment's: one, unless
// the environment says otherwise (0: leave the runtime's choice).
func procs(env string) int {
	if env != "" {
		return 0
	}
	return 1
}

// stopProfile ends the CPU profile of ProfileEnv, if any, before the
// process exits.
var stopProfile = func() {}

// shutdownGrace is how long SIGTERM waits, in multi mode, for the sessions
// told BYE to end before the process exits.
const shutdownGrace = 2 * time.Second

// Both modes keep Go's default collection target (GOGC=100): a
// collection each time the heap has grown by what the last one kept alive,
// and none before it reaches 4 MB. The default mode once collected at 400,
// when FETCH copied every message body into the heap. Now FETCH 1:*
// BODY[] of 9 MB allocates under 1 MB and UID SEARCH TEXT on 10,000
// messages 0.4 MB (BenchmarkFetchBody, BenchmarkSearchText10k in app), a
// session of the mixed load of test/compare about 190 KB
// (BenchmarkMixedSession). The larger target then only made each process
// cycle through a 16 MB heap where 4 MB does: with 50 clients (57
// processes) the mixed load ran 11-22% faster at 100, in five rounds each
// (README, "Sessions per process").

// tuneMulti undoes, for multi mode, what main set for one session per
// process: all cores (the sessions of one process are now the
// parallelism), unless the environment decides.
func tuneMulti(multi bool) {
	if multi && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.NumCPU())
	}
}

func run(argv []string, service string, stdin io.Reader, stdout io.Writer, stderr io.Writer) int {
	fatal := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "imapd: "+format+"\n", args...)
		return code
	}
	o, err := parseFlags(argv[1:])
	if err != nil {
		fmt.Fprintln(stderr, usageLine)
		return exitUsage
	}
	o.Service = wiring.ServiceName(service)
	o.Flags.Debug = o.Debug

	cfg, err := config.Load(o.ConfigPath, o.Service)
	if err != nil {
		return fatal(exitConfig, "%v", err)
	}
	settings, err := cfg.Settings()
	if err != nil {
		return fatal(exitConfig, "%v", err)
	}
	underMaster := master.Detect(service)
	o.UnderMaster = underMaster
	if !underMaster {
		// One session on standard input and output: nothing to share.
		settings.MultiSession = false
	}
	if settings.MultiSession {
		if err := timerslack.ExecInherited(argv); err != nil {
			fmt.Fprintf(stderr, "imapd: timer slack: %v\n", err)
		}
	}
	if o.Debug && settings.DebugCommand != "" {
		runDebugCommand(formatDebugCommand(settings.DebugCommand, argv[0], os.Getpid(), o.Service), stderr)
	}
	tlsCfg, err := wiring.LoadTLS(settings, o.TLS, "imapd", o.ConfigPath, stderr)
	if err != nil {
		return fatal(exitConfig, "%v", err)
	}
	logger := wiring.ProvideLogger(settings)

	tuneMulti(settings.MultiSession)
	tr, hangup, done, err := wiring.OpenTransport(wiring.TransportOptions{
		UnderMaster: underMaster, Service: o.Service, ConfigDir: settings.ConfigDir,
		Uses: o.Uses, ReuseTimeout: o.ReuseTimeout, TLS: tlsCfg, ImmediateTLS: o.TLS,
		Multi: settings.MultiSession, SSF: o.ExternalSSF, Log: logger,
	}, stdin, stdout)
	if err != nil {
		return fatal(exitSoftware, "%v", err)
	}
	defer done()

	var terminate atomic.Pointer[func()]
	ctx, stop := signalContext(hangup, func() {
		if f := terminate.Load(); f != nil {
			(*f)()
		}
	})
	defer stop()
	srv, cleanup, err := initServer(settings, o.Flags)
	if err != nil {
		return fatal(exitTempFail, "%v", err)
	}
	defer cleanup()
	if settings.MultiSession {
		bye := func() { srv.Shutdown("Server shutting down", shutdownGrace) }
		terminate.Store(&bye)
	}
	if err := srv.Serve(ctx, tr); err != nil && !errors.Is(err, context.Canceled) {
		return fatal(exitSoftware, "%v", err)
	}
	return exitOK
}

// runDebugCommand runs debug_command through the shell and waits for it
// (Cyrus uses system(3)). Its standard output goes to our standard error,
// since our standard output may be the client's connection.
func runDebugCommand(command string, stderr io.Writer) {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "imapd: debug_command: %v\n", err)
	}
}

// signalContext handles the signals master sends: SIGTERM, SIGINT and
// SIGQUIT end the process with EX_TEMPFAIL (a process that dies by a
// signal counts as a failure for master), after terminate: nothing in
// single mode (no BYE, at once, as Cyrus), a BYE to every session in multi
// mode. SIGHUP calls hangup, which lets the current sessions finish and
// then ends the process (with a single stdio session there is nothing
// more to do after it).
func signalContext(hangup, terminate func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	go func() {
		for sig := range ch {
			if sig != syscall.SIGHUP {
				terminate()
				stopProfile()
				os.Exit(exitTempFail)
			}
			hangup()
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}
