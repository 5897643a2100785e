package sasl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/imapd-go/imapd/domain/imap"
)

// Users and password hashes in PostgreSQL, as Cyrus sites keep them
// through libsasl's sql auxprop plugin (sasl_pwcheck_method: auxprop,
// sasl_auxprop_plugin: sql), read with the plugin's option names.
//
// The lookup is sql_select with libsasl's macros expanded: %u is the user
// name before its last '@', %r the realm after it ("" when the name has
// none: many hosts share one database, so the realm is not the host's
// name as libsasl would have it), %p the property asked for (always
// userPassword: the value holds every credential), %v the value written
// (sql_insert, sql_update only) and %% a '%'. The values are escaped for a
// string literal, so each macro must stand inside single quotes in the
// statement, which is checked when the statement is read. The first column
// of the first row is the value; no row, or NULL, is no such user.
//
// The value is what follows "name:" in imapd.passwd: a bcrypt or argon2id
// hash, then optionally ":" and SCRAM-SHA-256 keys as
// "scram-sha-256$<iterations>$<salt>$<StoredKey>$<ServerKey>" (base64),
// which SCRAM-SHA-256 logins need. A table that keeps them apart can
// select password || coalesce(':' || scram, '').
//
// Without sql_select the table is imapd's own, DefaultSQLSchema, which
// imapctl user add creates when it is missing; imapctl then manages it.
// With a site's own sql_select, imapctl writes only through sql_insert and
// sql_update (libsasl's keys) and, ours, sql_delete and sql_list; each
// verb without its statement is refused.

// DefaultSQLTable is the table of DefaultSQLSchema.
const DefaultSQLTable = "imapd_users"

// DefaultSQLSchema is the table imapd manages when sql_select is not set.
const DefaultSQLSchema = `CREATE TABLE IF NOT EXISTS imapd_users (
	username text NOT NULL,
	realm text NOT NULL DEFAULT '',
	password text NOT NULL,
	PRIMARY KEY (username, realm)
)`

// DefaultSQLSelect is the lookup in DefaultSQLSchema.
const DefaultSQLSelect = `SELECT password FROM imapd_users WHERE username = '%u' AND realm = '%r'`

// SQLPasswordProperty is the property (%p) asked for: libsasl's name of
// the password.
const SQLPasswordProperty = "userPassword"

// SQLEngine is the one sql_engine supported.
const SQLEngine = "pgsql"

// Connection bounds of the SQL source.
const (
	sqlMaxConns    = 4
	sqlIdleTime    = time.Minute
	sqlTimeout     = 10 * time.Second // one statement, connecting included
	sqlConnTimeout = 5 * time.Second  // one host of sql_hostnames
	sqlDefaultPort = "5432"
)

// Errors of the SQL source.
var (
	// ErrSQLConfig is a setting that cannot work.
	ErrSQLConfig = errors.New("sql auxprop")
	// ErrSQLNoStatement is a write imapctl cannot make to a site's own
	// table: the statement for it is not configured.
	ErrSQLNoStatement = errors.New("not configured")
)

// SQLConfig is the sql auxprop plugin's configuration.
type SQLConfig struct {
	Engine    string   // sql_engine; "" is SQLEngine
	Hostnames []string // sql_hostnames: host[:port], [v6addr][:port] or /socket/dir[:port], tried in order
	User      string   // sql_user
	Passwd    string   // sql_passwd
	Database  string   // sql_database
	UseSSL    bool     // sql_usessl: TLS required (not verified, as libsasl's)
	Select    string   // sql_select; "" is DefaultSQLSelect on DefaultSQLSchema
	Insert    string   // sql_insert: imapctl user add
	Update    string   // sql_update: imapctl user passwd
	Delete    string   // sql_delete (ours): imapctl user del
	List      string   // sql_list (ours): imapctl user list, one name a row
}

// Check reports why c cannot work, or nil.
func (c SQLConfig) Check() error {
	if c.Engine != "" && !strings.EqualFold(c.Engine, SQLEngine) {
		return fmt.Errorf("%w: sql_engine %q is not available (valid: %s)", ErrSQLConfig, c.Engine, SQLEngine)
	}
	for _, h := range c.Hostnames {
		if _, _, err := parseSQLHost(h); err != nil {
			return err
		}
	}
	for _, s := range []struct{ key, stmt string }{{"sql_select", c.Select}, {"sql_insert", c.Insert},
		{"sql_update", c.Update}, {"sql_delete", c.Delete}, {"sql_list", c.List}} {
		if err := checkMacros(s.stmt); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrSQLConfig, s.key, err)
		}
	}
	return nil
}

// custom tells whether the site has its own table.
func (c SQLConfig) custom() bool { return c.Select != "" }

// parseSQLHost splits one entry of sql_hostnames.
func parseSQLHost(h string) (host, port string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: sql_hostnames: %q: %s", ErrSQLConfig, h, why)
	}
	switch {
	case h == "":
		return bad("empty")
	case strings.HasPrefix(h, "/"):
		host, port = h, ""
		if i := strings.LastIndexByte(h, ':'); i > 0 {
			if _, err := strconv.Atoi(h[i+1:]); err == nil {
				host, port = h[:i], h[i+1:]
			}
		}
	case strings.HasPrefix(h, "["):
		if strings.HasSuffix(h, "]") {
			host = h[1 : len(h)-1]
		} else if host, port, err = net.SplitHostPort(h); err != nil {
			return bad("not [address]:port")
		}
	case strings.Count(h, ":") == 1:
		host, port, _ = strings.Cut(h, ":")
	default:
		host = h // a name, an IPv4 address or a bare IPv6 one
	}
	if host == "" || strings.ContainsAny(host, ", \t") {
		return bad("not a host")
	}
	if port == "" {
		port = sqlDefaultPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("bad port")
	}
	return host, port, nil
}

// checkMacros makes sure every macro of stmt stands inside a string
// literal, where its escaped value cannot end the literal.
func checkMacros(stmt string) error {
	in := false
	for i := 0; i < len(stmt); i++ {
		switch c := stmt[i]; {
		case c == '\'':
			in = !in // '' inside a literal toggles twice
		case c == '%' && i+1 < len(stmt):
			i++
			switch m := stmt[i]; m {
			case 'u', 'r', 'p', 'v':
				if !in {
					return fmt.Errorf("macro %%%c must be inside single quotes", m)
				}
			}
		}
	}
	if in {
		return errors.New("unterminated string literal")
	}
	return nil
}

// sqlLiteral escapes s for the inside of a standard string literal
// (standard_conforming_strings on: only the quote is special).
func sqlLiteral(s string) string { return strings.ReplaceAll(s, "'", "''") }

// splitRealm splits a login name at its last '@' into libsasl's user and
// realm.
func splitRealm(name string) (user, realm string) {
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return name, ""
}

// ExpandSQL expands libsasl's macros in stmt for the login name and value
// (%v): %u, %r, %p (SQLPasswordProperty), %v and %%. Any other '%' is
// kept as it is.
func ExpandSQL(stmt, name, value string) string {
	user, realm := splitRealm(name)
	var b strings.Builder
	for i := 0; i < len(stmt); i++ {
		c := stmt[i]
		if c != '%' || i+1 == len(stmt) {
			b.WriteByte(c)
			continue
		}
		i++
		switch stmt[i] {
		case 'u':
			b.WriteString(sqlLiteral(user))
		case 'r':
			b.WriteString(sqlLiteral(realm))
		case 'p':
			b.WriteString(SQLPasswordProperty)
		case 'v':
			b.WriteString(sqlLiteral(value))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(stmt[i])
		}
	}
	return b.String()
}

// dsnValue quotes a value of a keyword/value connection string.
func dsnValue(v string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`) + "'"
}

// connString is the pgx connection string of c.
func (c SQLConfig) connString() (string, error) {
	var parts []string
	if len(c.Hostnames) > 0 {
		var hosts, ports []string
		for _, h := range c.Hostnames {
			host, port, err := parseSQLHost(h)
			if err != nil {
				return "", err
			}
			hosts, ports = append(hosts, host), append(ports, port)
		}
		parts = append(parts, "host="+dsnValue(strings.Join(hosts, ",")), "port="+dsnValue(strings.Join(ports, ",")))
	}
	for _, kv := range []struct{ k, v string }{{"user", c.User}, {"password", c.Passwd}, {"dbname", c.Database}} {
		if kv.v != "" {
			parts = append(parts, kv.k+"="+dsnValue(kv.v))
		}
	}
	if c.UseSSL {
		parts = append(parts, "sslmode=require")
	} else {
		parts = append(parts, "sslmode=disable")
	}
	parts = append(parts, "connect_timeout="+strconv.Itoa(int(sqlConnTimeout/time.Second)), "application_name=imapd")
	return strings.Join(parts, " "), nil
}

// sqlUsers is the SQL source of a UserDB.
type sqlUsers struct {
	cfg  SQLConfig
	pool *pgxpool.Pool
	err  error // why the pool could not be made: every use returns it
}

func newSQLUsers(cfg SQLConfig) *sqlUsers {
	s := &sqlUsers{cfg: cfg}
	if s.err = cfg.Check(); s.err != nil {
		return s
	}
	dsn, err := cfg.connString()
	if err != nil {
		s.err = err
		return s
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		s.err = fmt.Errorf("%w: %v", ErrSQLConfig, err)
		return s
	}
	// No connection is opened until one is needed, none is kept for
	// long, and the statements are sent as text, as libsasl sends them:
	// each holds its user name, so preparing them would gain nothing.
	pc.MinConns = 0
	pc.MaxConns = sqlMaxConns
	pc.MaxConnIdleTime = sqlIdleTime
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pc.ConnConfig.RuntimeParams["standard_conforming_strings"] = "on"
	s.pool, err = pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		s.err = fmt.Errorf("%w: %v", ErrSQLConfig, err)
	}
	return s
}

func (s *sqlUsers) close() {
	if s.pool != nil {
		s.pool.Close()
	}
}

// fault turns a database error into one of ours: the database out of
// reach, starting or shutting down (or a statement out of time) is
// imap.ErrUnavailable, a temporary failure; an error the database
// answered (a bad statement) is a fault of the configuration.
func (s *sqlUsers) fault(ctx context.Context, err error) error {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return ctx.Err()
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57P"),
			pe.Code == "40001", pe.Code == "40P01":
			return fmt.Errorf("%w: sql: %v", imap.ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %v", ErrSQLConfig, err)
	}
	if errors.Is(err, ErrSQLConfig) {
		return err
	}
	return fmt.Errorf("%w: sql: %v", imap.ErrUnavailable, err)
}

// noTable tells the error of a statement on a missing table.
func noTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// run calls f with a connection, under sqlTimeout.
func (s *sqlUsers) run(ctx context.Context, f func(ctx context.Context, c *pgxpool.Conn) error) error {
	if s.err != nil {
		return s.err
	}
	ctx, cancel := context.WithTimeout(ctx, sqlTimeout)
	defer cancel()
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return f(ctx, c)
}

// lookup returns name's entry; ok is false when there is no such user.
func (s *sqlUsers) lookup(ctx context.Context, name string) (e entry, ok bool, err error) {
	stmt := s.cfg.Select
	if stmt == "" {
		stmt = DefaultSQLSelect
	}
	var value *string
	err = s.run(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, ExpandSQL(stmt, name, ""))
		if err != nil {
			return err
		}
		defer rows.Close()
		if rows.Next() {
			// The first column as text, whatever its type.
			vals, err := rows.Values()
			if err != nil {
				return err
			}
			if len(vals) > 0 && vals[0] != nil {
				v := fmt.Sprint(vals[0])
				if b, isBytes := vals[0].([]byte); isBytes {
					v = string(b)
				}
				value = &v
			}
		}
		rows.Close()
		return rows.Err()
	})
	if err != nil {
		if !s.cfg.custom() && noTable(err) {
			return entry{}, false, nil // no table yet: no users
		}
		return entry{}, false, s.fault(ctx, err)
	}
	if value == nil {
		return entry{}, false, nil
	}
	e, err = parseEntry(*value)
	if err != nil {
		return entry{}, false, fmt.Errorf("%w: value of %s: %v", ErrSQLConfig, name, err)
	}
	return e, true, nil
}

// exec runs a statement of the site's (key names it for the error) or,
// with the default table, def with args after creating the table; it
// returns the number of rows the statement touched.
func (s *sqlUsers) exec(ctx context.Context, key, custom, def string, name, value string, args ...any) (int64, error) {
	var n int64
	err := s.run(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		if s.cfg.custom() {
			if custom == "" {
				return fmt.Errorf("%w: %s: sql_select is set, so the table is the site's own and imapd writes to it only through %s",
					ErrSQLNoStatement, key, key)
			}
			tag, err := c.Exec(ctx, ExpandSQL(custom, name, value))
			n = tag.RowsAffected()
			return err
		}
		if _, err := c.Exec(ctx, DefaultSQLSchema); err != nil {
			return err
		}
		tag, err := c.Exec(ctx, def, args...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil && !errors.Is(err, ErrSQLNoStatement) {
		err = s.fault(ctx, err)
	}
	return n, err
}

func (s *sqlUsers) add(ctx context.Context, name string, e entry) error {
	user, realm := splitRealm(name)
	n, err := s.exec(ctx, "sql_insert", s.cfg.Insert,
		`INSERT INTO imapd_users (username, realm, password) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		name, e.String(), user, realm, e.String())
	if err == nil && n == 0 && !s.cfg.custom() {
		err = fmt.Errorf("%w: %s", ErrUserExists, name)
	}
	return err
}

func (s *sqlUsers) setPassword(ctx context.Context, name string, e entry) error {
	user, realm := splitRealm(name)
	n, err := s.exec(ctx, "sql_update", s.cfg.Update,
		`UPDATE imapd_users SET password = $3 WHERE username = $1 AND realm = $2`,
		name, e.String(), user, realm, e.String())
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: %s", imap.ErrNoUser, name)
	}
	return err
}

// canDelete reports why delete would be refused without trying it.
func (s *sqlUsers) canDelete() error {
	if s.err != nil {
		return s.err
	}
	if s.cfg.custom() && s.cfg.Delete == "" {
		return fmt.Errorf("%w: sql_delete: sql_select is set, so the table is the site's own and imapd deletes from it only through sql_delete", ErrSQLNoStatement)
	}
	return nil
}

func (s *sqlUsers) delete(ctx context.Context, name string) error {
	user, realm := splitRealm(name)
	n, err := s.exec(ctx, "sql_delete", s.cfg.Delete,
		`DELETE FROM imapd_users WHERE username = $1 AND realm = $2`, name, "", user, realm)
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: %s", imap.ErrNoUser, name)
	}
	return err
}

func (s *sqlUsers) list(ctx context.Context) ([]string, error) {
	stmt := s.cfg.List
	if !s.cfg.custom() {
		stmt = `SELECT CASE WHEN realm = '' THEN username ELSE username || '@' || realm END AS name FROM imapd_users ORDER BY 1`
	} else if stmt == "" {
		return nil, fmt.Errorf("%w: sql_list: sql_select is set, so the table is the site's own and imapd lists its users only through sql_list", ErrSQLNoStatement)
	}
	var names []string
	err := s.run(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, stmt)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		if !s.cfg.custom() && noTable(err) {
			return nil, nil
		}
		return nil, s.fault(ctx, err)
	}
	return names, nil
}
