// Package wiring holds the provider functions and wire sets shared by the
// binaries: it turns the typed settings of imapd.conf and the command-line
// flags into the adapters (chosen at run time from the configuration) and
// the app.Server. It is the only place, with cmd/, that knows both app and
// the adapters.
package wiring

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/wire"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/adapters/presence/procdir"
	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/adapters/store/sqlite"
	"github.com/imapd-go/imapd/adapters/telemetry/filelog"
	"github.com/imapd-go/imapd/adapters/telemetry/syslog"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/ports"
)

// Flags are the command-line settings that reach the graph.
type Flags struct {
	Service         string        // CYRUS_SERVICE, or "imap"
	Uses            int           // -U: sessions per process under master
	ReuseTimeout    time.Duration // -T: how long an idle process waits under master
	NoPasswordCheck bool          // -N
	ExternalSSF     int           // -p
	// UnderMaster is set when the process serves master's connections
	// (CYRUS_SERVICE set): events then go to syslog.
	UnderMaster bool
	// Debug is -D: events go to standard error too.
	Debug bool
}

// DefaultService is the service name when CYRUS_SERVICE is not set.
const DefaultService = "imap"

// ServiceName returns the service name from the CYRUS_SERVICE value.
func ServiceName(env string) string {
	if env == "" {
		return DefaultService
	}
	return env
}

// ProvideStore opens the storage backend named by the store option.
func ProvideStore(s *config.Settings) (ports.Store, func(), error) {
	switch s.Store {
	case "sqlite", "maildir":
	case "postgres":
		return providePostgres(s)
	default:
		return nil, nil, fmt.Errorf("store %q is not available in this build", s.Store)
	}
	if err := os.MkdirAll(s.Partition, 0o750); err != nil {
		return nil, nil, fmt.Errorf("partition-default: %w", err)
	}
	// Each case returns a nil interface on failure, never a nil pointer
	// in one.
	switch s.Store {
	case "maildir":
		st, err := maildir.Open(s.Partition)
		if err != nil {
			return nil, nil, fmt.Errorf("open store in %s: %w", s.Partition, err)
		}
		return st, func() { st.Close() }, nil
	default:
		st, err := sqlite.Open(s.Partition)
		if err != nil {
			return nil, nil, fmt.Errorf("open store in %s: %w", s.Partition, err)
		}
		if s.MultiSession {
			st.KeepOpen(multiSessionOpenUsers)
		}
		return st, func() { st.Close() }, nil
	}
}

// multiSessionOpenUsers is how many user databases a multi-session
// process keeps open between their uses: its sessions come from many
// users, and reopening costs milliseconds (sqlite.Store.KeepOpen).
const multiSessionOpenUsers = 256

// ProvideUserDB returns the users: the password file in configdirectory,
// or with sasl_auxprop_plugin: sql a table in PostgreSQL (sql_* options);
// either way with the login cache shared by the processes of that
// configdirectory (logincache_dir, logincache_ttl). The cleanup ends the
// database connections.
func ProvideUserDB(s *config.Settings, log *slog.Logger) (*sasl.UserDB, func(), error) {
	cache := sasl.CacheOptions{Dir: s.LoginCacheDir, TTL: s.LoginCacheTTL, Log: log}
	if s.SQLAuth == nil {
		return sasl.OpenWithCache(s.ConfigDir, cache), func() {}, nil
	}
	a := s.SQLAuth
	db := sasl.OpenSQL(s.ConfigDir, cache, sasl.SQLConfig{
		Engine: a.Engine, Hostnames: a.Hostnames, User: a.User, Passwd: a.Passwd, Database: a.Database,
		UseSSL: a.UseSSL, Select: a.Select, Insert: a.Insert, Update: a.Update, Delete: a.Delete, List: a.List,
	})
	if err := db.Err(); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	return db, db.Close, nil
}

// ProvideAuth returns the SASL mechanisms, the plaintext policy and the
// password checks (sasl_pwcheck_method) over db.
func ProvideAuth(s *config.Settings, db *sasl.UserDB) ports.Auth {
	return sasl.New(sasl.Options{
		MechList:       s.SASLMechList,
		AllowPlaintext: s.AllowPlaintext,
		Admins:         s.Admins,
		TLSRequired:    s.TLSRequired,
		ClientCerts:    s.TLSClientCAFile != "",
		PwcheckMethods: s.SASLPwcheck,
		SaslauthdPath:  s.SASLSaslauthd,
	}, db)
}

// ProvideTelemetry returns Cyrus-style session logs, and events as Cyrus
// logs them: to syslog under master (syslog_prefix, syslog_facility),
// to standard error (log) in the stdio mode, and to both under master
// with -D or debug.
func ProvideTelemetry(s *config.Settings, f Flags, log *slog.Logger) ports.Telemetry {
	t := filelog.New(s.ConfigDir, ServiceName(f.Service), log)
	t.BySessionID = s.TelemetryBySessionID
	t.Multi = s.MultiSession
	if !f.UnderMaster {
		return t
	}
	return NewSyslog(s, ServiceName(f.Service), t, f.Debug || s.Debug)
}

// TestSyslogSocketEnv names the variable that sends syslog lines to
// another socket than /dev/log. It exists for tests only (a socket of the
// test stands in for the syslog daemon) and must not be set in
// production.
const TestSyslogSocketEnv = "IMAPD_TEST_ONLY_SYSLOG_SOCKET"

// NewSyslog returns the syslog telemetry of a master service (imapd's,
// lmtpd's): lines tagged [syslog_prefix/]service[pid] at syslog_facility,
// protocol logs handed to files (nil: none), every event also handed to
// files when echo is set (-D, debug).
func NewSyslog(s *config.Settings, service string, files ports.Telemetry, echo bool) *syslog.Telemetry {
	fac, ok := syslog.Facility(s.SyslogFacility)
	if !ok {
		fac = -1 // Cyrus's LOCAL6
	}
	return syslog.New(syslog.Options{
		Service:  service,
		Prefix:   s.SyslogPrefix,
		Facility: fac,
		Debug:    s.Debug,
		Socket:   os.Getenv(TestSyslogSocketEnv),
		Files:    files,
		Echo:     echo,
	})
}

// ProvidePresence keeps the proc/ records behind maxlogins_per_user and
// maxlogins_per_host.
func ProvidePresence(s *config.Settings, f Flags) ports.Presence {
	return procdir.New(s.ConfigDir, ServiceName(f.Service))
}

// ProvideServer assembles the app; Presence is used only when a login
// limit is configured.
func ProvideServer(opts app.Options, store ports.Store, auth ports.Auth, tel ports.Telemetry, log *slog.Logger, p ports.Presence) *app.Server {
	srv := app.New(opts, store, auth, tel, log)
	if opts.MaxLoginsPerUser > 0 || opts.MaxLoginsPerHost > 0 {
		srv.SetPresence(p)
	}
	return srv
}

// ProvideLogger logs to standard error: warnings and errors, or everything
// with the debug option.
func ProvideLogger(s *config.Settings) *slog.Logger {
	level := slog.LevelWarn
	if s.Debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// ProvideOptions builds the app's options from the settings and flags.
func ProvideOptions(s *config.Settings, f Flags) app.Options {
	return app.Options{
		ServerName:        s.ServerName,
		ConfigDir:         s.ConfigDir,
		Service:           ServiceName(f.Service),
		IdleTimeout:       s.Timeout,
		IMAPIdleTimeout:   s.IMAPIdleTimeout,
		LiteralMinus:      s.LiteralMinus,
		IndexOnWrite:      s.SearchIndexOnWrite,
		AutocreateFolders: s.AutocreateFolders,
		SubmitServers:     s.SubmitServers,
		DefaultACL:        s.DefaultACL,
		MaxLoginsPerUser:  s.MaxLoginsPerUser,
		MaxLoginsPerHost:  s.MaxLoginsPerHost,
		FailedLoginPause:  s.FailedLoginPause,
		MaxMessageSize:    s.MaxMessageSize,
		IDResponse:        s.IDResponse,
		NoPasswordCheck:   f.NoPasswordCheck,
		ExternalSSF:       f.ExternalSSF,
		MultiSession:      s.MultiSession,
		QuotaWarn:         s.QuotaWarn,
		AutocreateQuota:   s.AutocreateQuota,
		SyslogPrefix:      s.SyslogPrefix,

		MetadataMaxSize:    s.MetadataMaxSize,
		MetadataMaxEntries: s.MetadataMaxEntries,
	}
}

// AdapterSet provides the ports' implementations chosen by the settings.
var AdapterSet = wire.NewSet(ProvideStore, ProvideUserDB, ProvideAuth, ProvideTelemetry, ProvideLogger)

// ServerSet provides an *app.Server and everything it needs, given
// *config.Settings and Flags.
var ServerSet = wire.NewSet(AdapterSet, ProvidePresence, ProvideOptions, ProvideServer)
