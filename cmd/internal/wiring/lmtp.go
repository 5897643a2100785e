package wiring

import (
	"fmt"
	"log/slog"

	"github.com/google/wire"

	"github.com/imapd-go/imapd/adapters/duplicates"
	"github.com/imapd-go/imapd/adapters/store/postgres"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/app/lmtp"
	"github.com/imapd-go/imapd/ports"
)

// ProvideDuplicates opens the delivery records: with store: postgres in
// the store's database, which every host shares (so that a message
// delivered through two hosts is stored once); otherwise in
// configdirectory. It returns nil when duplicatesuppression is off.
func ProvideDuplicates(s *config.Settings, l *config.LMTP, st ports.Store) (ports.Duplicates, func(), error) {
	if !l.DuplicateSuppression {
		return nil, func() {}, nil
	}
	if pg, ok := st.(*postgres.Store); ok {
		// The store's pool serves the records too; the store's cleanup
		// closes it.
		return pg.Duplicates(l.DuplicateExpire), func() {}, nil
	}
	db, err := duplicates.Open(s.ConfigDir, l.DuplicateExpire)
	if err != nil {
		return nil, nil, fmt.Errorf("duplicate suppression: %w", err)
	}
	return db, func() { db.Close() }, nil
}

// ProvideLMTPStore is ProvideStore for lmtpd: one process delivers to
// many users in turn (twenty recipients of one message are twenty user
// databases for the sqlite store), so it keeps as many databases open as
// a multi-session imapd does, rather than reopening them, milliseconds
// each, for every recipient.
func ProvideLMTPStore(s *config.Settings) (ports.Store, func(), error) {
	st, cleanup, err := ProvideStore(s)
	if err != nil {
		return nil, nil, err
	}
	if k, ok := st.(interface{ KeepOpen(int) }); ok {
		k.KeepOpen(multiSessionOpenUsers)
	}
	return st, cleanup, nil
}

// ProvideLMTPOptions builds lmtpd's options from the settings.
func ProvideLMTPOptions(s *config.Settings, l *config.LMTP) lmtp.Options {
	return lmtp.Options{
		ServerName:           s.ServerName,
		MaxMessageSize:       s.MaxMessageSize,
		DowncaseRcpt:         l.DowncaseRcpt,
		DuplicateSuppression: l.DuplicateSuppression,
		OverQuotaPermFailure: l.OverQuotaPermFailure,
		StrictQuota:          l.StrictQuota,
		Timeout:              l.Timeout,
	}
}

// ProvideLMTPServer assembles lmtpd's server; the password database
// (through Auth) says which users exist, and tel (ProvideTelemetry, as
// for imapd: syslog under master, standard error otherwise) receives its
// Delivered and dupelim lines.
func ProvideLMTPServer(opts lmtp.Options, store ports.Store, auth ports.Auth, dups ports.Duplicates, tel ports.Telemetry, log *slog.Logger) *lmtp.Server {
	return lmtp.New(opts, store, auth, dups, tel, log)
}

// LMTPSet provides an *lmtp.Server and everything it needs, given
// *config.Settings, *config.LMTP and Flags.
var LMTPSet = wire.NewSet(ProvideLMTPStore, ProvideUserDB, ProvideAuth, ProvideLogger, ProvideTelemetry, ProvideDuplicates, ProvideLMTPOptions, ProvideLMTPServer)
