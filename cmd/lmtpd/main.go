// Command lmtpd delivers mail into imapd's store over LMTP (RFC 2033), as
// Cyrus's lmtpd does: as a service of Cyrus's master or ours (an lmtpunix
// or lmtp line in cyrus.conf, with the same -C, -U and -T as imapd), or
// one session on standard input and output for an MTA that pipes. It
// reads the same imapd.conf and opens the same store as imapd, assembled
// by wire from the same provider sets.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/imapd-go/imapd/adapters/transport/master"
	"github.com/imapd-go/imapd/app/config"
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

// defaultService is the service name when CYRUS_SERVICE is not set.
const defaultService = "lmtp"

func main() {
	// A client that goes away must not kill the process by SIGPIPE.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	os.Exit(run(os.Args, os.Getenv("CYRUS_SERVICE"), os.Stdin, os.Stdout, os.Stderr))
}

func run(argv []string, service string, stdin io.Reader, stdout, stderr io.Writer) int {
	fatal := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "lmtpd: "+format+"\n", args...)
		return code
	}
	o, err := parseFlags(argv[1:])
	if err != nil {
		fmt.Fprintln(stderr, usageLine)
		return exitUsage
	}
	o.Service = service
	if o.Service == "" {
		o.Service = defaultService
	}
	cfg, err := config.Load(o.ConfigPath, o.Service)
	if err != nil {
		return fatal(exitConfig, "%v", err)
	}
	settings, err := cfg.Settings()
	if err != nil {
		return fatal(exitConfig, "%v", err)
	}
	lset, err := cfg.LMTP()
	if err != nil {
		return fatal(exitConfig, "%v", err)
	}
	// One session at a time: a delivery's work is the store's, and master
	// runs as many processes as there are MTA connections.
	settings.MultiSession = false
	settings.Debug = settings.Debug || o.Debug
	tlsCfg, err := wiring.LoadTLS(settings, o.TLS, "lmtpd", o.ConfigPath, stderr)
	if err != nil {
		return fatal(exitConfig, "%v", err)
	}
	logger := wiring.ProvideLogger(settings)

	// Events go where imapd's go: syslog under master, standard error
	// in the stdio mode, both with -D or debug.
	o.UnderMaster = master.Detect(service)
	o.Flags.Debug = o.Debug
	tr, hangup, done, err := wiring.OpenTransport(wiring.TransportOptions{
		UnderMaster: o.UnderMaster, Service: o.Service, ConfigDir: settings.ConfigDir,
		Uses: o.Uses, ReuseTimeout: o.ReuseTimeout, TLS: tlsCfg, ImmediateTLS: o.TLS, Log: logger,
	}, stdin, stdout)
	if err != nil {
		return fatal(exitSoftware, "%v", err)
	}
	defer done()
	srv, cleanup, err := initServer(settings, lset, o.Flags)
	if err != nil {
		return fatal(exitTempFail, "%v", err)
	}
	defer cleanup()
	ctx, stop := signalContext(hangup, logger)
	defer stop()
	if err := srv.Serve(ctx, tr); err != nil && !errors.Is(err, context.Canceled) {
		return fatal(exitSoftware, "%v", err)
	}
	return exitOK
}

// signalContext handles master's signals as imapd does: SIGTERM, SIGINT
// and SIGQUIT end the process with EX_TEMPFAIL (a delivery in progress
// has not been answered, so the MTA tries again; what was stored is
// durable); SIGHUP lets the current session finish, then ends.
func signalContext(hangup func(), log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	go func() {
		for sig := range ch {
			if sig != syscall.SIGHUP {
				log.Debug("lmtpd: terminated", "signal", sig)
				os.Exit(exitTempFail)
			}
			hangup()
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}
