package wiring

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/imapd-go/imapd/adapters/transport/master"
	"github.com/imapd-go/imapd/adapters/transport/stdio"
	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/ports"
)

// LoadTLS loads the TLS keys imapd.conf names, for imapd and lmtpd alike.
// With immediate (-s: TLS from the first byte) missing or unusable keys
// are an error; otherwise, as Cyrus does, they only take STARTTLS away,
// which is said on stderr under the program's name, and the config is
// nil.
func LoadTLS(s *config.Settings, immediate bool, program, configPath string, stderr io.Writer) (*tls.Config, error) {
	opts := tlsconf.Options{
		CertFile:     s.TLSServerCert,
		KeyFile:      s.TLSServerKey,
		ClientCAFile: s.TLSClientCAFile,
		Versions:     s.TLSVersions,
	}
	if immediate && !opts.Enabled() {
		return nil, fmt.Errorf("-s needs tls_server_cert and tls_server_key in %s", configPath)
	}
	cfg, err := tlsconf.Load(opts)
	if err != nil {
		if immediate {
			return nil, err
		}
		fmt.Fprintf(stderr, "%s: STARTTLS disabled: %v\n", program, err)
		return nil, nil
	}
	return cfg, nil
}

// TransportOptions are what a daemon's transport needs from its flags and
// configuration.
type TransportOptions struct {
	UnderMaster  bool // master started the process (master.Detect)
	Service      string
	ConfigDir    string
	Uses         int           // -U
	ReuseTimeout time.Duration // -T
	TLS          *tls.Config
	ImmediateTLS bool // -s
	Multi        bool // many sessions at once (imapd's multisession)
	SSF          int  // -p, for the stdio transport
	Log          *slog.Logger
}

// OpenTransport returns master's transport when master started the
// process, with hangup to stop accepting (SIGHUP); otherwise one session
// on stdin and stdout. done undoes what the stdio transport changed of
// stdin; call it when the session is over.
func OpenTransport(o TransportOptions, stdin io.Reader, stdout io.Writer) (tr ports.Transport, hangup, done func(), err error) {
	hangup, done = func() {}, func() {}
	if o.UnderMaster {
		mt, err := master.FromEnv(master.Options{
			Service:      o.Service,
			ConfigDir:    o.ConfigDir,
			Uses:         o.Uses,
			ReuseTimeout: o.ReuseTimeout,
			TLS:          o.TLS,
			ImmediateTLS: o.ImmediateTLS,
			Log:          o.Log,
			Multi:        o.Multi,
		})
		if err != nil {
			return nil, nil, nil, err
		}
		return mt, mt.Hangup, done, nil
	}
	if f, ok := stdin.(*os.File); ok && !term.IsTerminal(int(f.Fd())) {
		// A pollable descriptor lets the autologout and the TLS
		// handshake limit end a read that waits; a terminal stays as it
		// is, since a signal may end the process before done.
		stdin, done = stdio.Pollable(f)
	}
	return stdio.NewWithOptions(stdin, stdout, stdio.Options{SSF: o.SSF, TLS: o.TLS, ImmediateTLS: o.ImmediateTLS, Log: o.Log}), hangup, done, nil
}
