package sasl

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/authtest"
	"github.com/imapd-go/imapd/test/pgtest"
)

func TestExpandSQL(t *testing.T) {
	tests := []struct {
		stmt, name, value, want string
	}{
		{DefaultSQLSelect, "alice", "",
			`SELECT password FROM imapd_users WHERE username = 'alice' AND realm = ''`},
		{DefaultSQLSelect, "bob@example.org", "",
			`SELECT password FROM imapd_users WHERE username = 'bob' AND realm = 'example.org'`},
		// The last '@' separates the realm.
		{"'%u' '%r'", "a@b@c", "", "'a@b' 'c'"},
		// A quote in a value is doubled, so it cannot end the literal.
		{"SELECT pw FROM u WHERE name = '%u'", "o'brien", "", "SELECT pw FROM u WHERE name = 'o''brien'"},
		{"'%p'", "x", "", "'userPassword'"},
		{"UPDATE u SET pw = '%v' WHERE name = '%u'", "x", "$2a$'x", "UPDATE u SET pw = '$2a$''x' WHERE name = 'x'"},
		// %% is a percent; other escapes and a final % stay.
		{"'%%u' LIKE 'a%' '%x' 100%", "x", "", "'%u' LIKE 'a%' '%x' 100%"},
		// A backslash is an ordinary character (standard_conforming_strings).
		{"'%u'", `a\b`, "", `'a\b'`},
	}
	for _, tt := range tests {
		if got := ExpandSQL(tt.stmt, tt.name, tt.value); got != tt.want {
			t.Errorf("ExpandSQL(%q, %q, %q) = %q, want %q", tt.stmt, tt.name, tt.value, got, tt.want)
		}
	}
}

func TestSQLConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  SQLConfig
		err  string // "" for none
	}{
		{"default", SQLConfig{}, ""},
		{"pgsql", SQLConfig{Engine: "PGSQL", Hostnames: []string{"db1", "db2:5433", "/run/postgresql", "/tmp/s:6000", "[::1]:5432", "::1", "10.0.0.1"}}, ""},
		{"mysql", SQLConfig{Engine: "mysql"}, `sql_engine "mysql" is not available`},
		{"bad port", SQLConfig{Hostnames: []string{"db:x"}}, `"db:x": bad port`},
		{"port out of range", SQLConfig{Hostnames: []string{"db:70000"}}, "bad port"},
		{"empty host", SQLConfig{Hostnames: []string{""}}, "empty"},
		{"bad v6", SQLConfig{Hostnames: []string{"[::1"}}, "not [address]:port"},
		{"unquoted macro", SQLConfig{Select: "SELECT pw FROM u WHERE name = %u"}, "sql_select: macro %u must be inside single quotes"},
		{"unquoted in insert", SQLConfig{Select: "SELECT '%u'", Insert: "INSERT INTO u VALUES ('%u', %v)"}, "sql_insert: macro %v"},
		{"open literal", SQLConfig{Select: "SELECT pw FROM u WHERE name = '%u"}, "unterminated"},
		{"doubled quote", SQLConfig{Select: "SELECT pw FROM u WHERE name = '%u' AND x = 'it''s'"}, ""},
		{"percent outside", SQLConfig{Select: "SELECT pw FROM u WHERE name = '%u' AND 5 % 2 = 1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Check()
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Check() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrSQLConfig) {
				t.Fatalf("Check() = %v, want ErrSQLConfig with %q", err, tt.err)
			}
		})
	}
}

func TestSQLConnString(t *testing.T) {
	c := SQLConfig{Hostnames: []string{"/run/pg:5433", "db.example", "[::1]:6000"}, User: "imapd",
		Passwd: `p'w\d x`, Database: "mail", UseSSL: true}
	got, err := c.connString()
	if err != nil {
		t.Fatal(err)
	}
	want := `host='/run/pg,db.example,::1' port='5433,5432,6000' user='imapd' password='p\'w\\d x' dbname='mail' sslmode=require connect_timeout=5 application_name=imapd`
	if got != want {
		t.Errorf("connString() =\n%s\nwant\n%s", got, want)
	}
	cfg, err := pgx.ParseConfig(got)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password != `p'w\d x` || cfg.Host != "/run/pg" || cfg.Port != 5433 || len(cfg.Fallbacks) < 2 {
		t.Errorf("parsed: password %q host %q port %d, %d fallbacks", cfg.Password, cfg.Host, cfg.Port, len(cfg.Fallbacks))
	}
}

func TestCheckHash(t *testing.T) {
	a, err := NewArgon2idHash("right")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := credentials("right")
	for _, h := range []string{a, b.hash} {
		if err := checkHash([]byte(h), []byte("right")); err != nil {
			t.Errorf("%.12s: right password: %v", h, err)
		}
		if err := checkHash([]byte(h), []byte("wrong")); !errors.Is(err, errHashMismatch) {
			t.Errorf("%.12s: wrong password: %v", h, err)
		}
	}
	for _, h := range []string{"right", "{PLAIN}right", "$1$abc$def", "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=99999999,t=3,p=4$c2FsdHNhbHQ$" + strings.Repeat("A", 43), // too much memory
		"$argon2id$v=19$m=65536,t=3$c2FsdHNhbHQ$" + strings.Repeat("A", 43), "$2a$10$short"} {
		if err := checkHash([]byte(h), []byte("right")); !errors.Is(err, ErrUnknownHash) {
			t.Errorf("%q: %v, want ErrUnknownHash", h, err)
		}
	}
	if got := hashCost(a); got != "$argon2id$v=19$m=65536,t=3,p=4" {
		t.Errorf("hashCost(argon2id) = %q", got)
	}
	if got := hashCost(b.hash); got != "bcrypt$4" {
		t.Errorf("hashCost(bcrypt) = %q", got)
	}
}

// TestDummyCheckFollowsCost: after an argon2id hash was checked, an
// unknown user costs an argon2id check too, not a cheap bcrypt one.
func TestDummyCheckFollowsCost(t *testing.T) {
	a, _ := NewArgon2idHash("x")
	noteCost(a)
	t.Cleanup(func() { dummies.mu.Lock(); dummies.last = ""; dummies.mu.Unlock() })
	var checked []string
	orig := compareHash
	compareHash = func(h, p []byte) error { checked = append(checked, string(h)); return orig(h, p) }
	t.Cleanup(func() { compareHash = orig })
	dummyCheck("guess")
	if len(checked) != 1 || hashCost(checked[0]) != hashCost(a) {
		t.Errorf("dummy check against %q, want the cost of %q", checked, a)
	}
}

// sqlDB returns a UserDB over a fresh database of the shared server, and
// the database's DSN.
func sqlDB(t testing.TB, cfg SQLConfig) (*UserDB, string) {
	t.Helper()
	srv := pgtest.Shared(t)
	dsn := srv.NewDatabase(t)
	cfg.Hostnames = []string{srv.SocketDir + ":" + strconv.Itoa(srv.Port)}
	cfg.User = srv.User
	cfg.Database = pgtest.DatabaseOf(dsn)
	db := OpenSQL(t.TempDir(), CacheOptions{TTL: DefaultCacheTTL}, cfg)
	t.Cleanup(db.Close)
	if err := db.Err(); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

func sqlExec(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// The SQL source (sasl_auxprop_plugin: sql) under the Auth contract.
func TestContractSQL(t *testing.T) {
	authtest.Run(t, func(t testing.TB, c authtest.Config) authtest.Fixture {
		db, _ := sqlDB(t, SQLConfig{})
		if err := db.Add(contractUser, contractPassword); err != nil {
			t.Fatal(err)
		}
		return authtest.Fixture{Auth: New(contractOptions(c, PwcheckAuxprop), db),
			User: contractUser, Password: contractPassword, ListsUsers: true}
	})
}

// TestSQLDefaultTable: the verbs of imapctl on imapd's own table, the
// table made by the first add, and lookups before it exists.
func TestSQLDefaultTable(t *testing.T) {
	db, dsn := sqlDB(t, SQLConfig{})
	a := New(Options{AllowPlaintext: true}, db)
	ctx := context.Background()
	if names, err := db.List(); err != nil || len(names) != 0 {
		t.Fatalf("List() before any user = %v, %v", names, err)
	}
	if _, err := a.CheckPassword(ctx, "alice", "pw"); !errors.Is(err, imap.ErrAuthFailed) || !errors.Is(err, imap.ErrNoUser) {
		t.Fatalf("login without a table: %v", err)
	}
	for _, u := range []string{"alice", "bob@example.org"} {
		if err := db.Add(u, "pw-"+u); err != nil {
			t.Fatalf("Add(%s): %v", u, err)
		}
	}
	if err := db.Add("alice", "again"); !errors.Is(err, ErrUserExists) {
		t.Errorf("Add(alice) twice: %v", err)
	}
	if names, err := db.List(); err != nil || strings.Join(names, " ") != "alice bob@example.org" {
		t.Errorf("List() = %v, %v", names, err)
	}
	for _, u := range []string{"alice", "bob@example.org"} {
		if _, err := a.CheckPassword(ctx, u, "pw-"+u); err != nil {
			t.Errorf("login %s: %v", u, err)
		}
	}
	// The realm is a column of its own.
	sqlExec(t, dsn, `UPDATE imapd_users SET password = 'x' WHERE username = 'bob' AND realm = 'example.org'`)
	if _, err := a.CheckPassword(ctx, "bob@example.org", "pw-bob@example.org"); err == nil || errors.Is(err, imap.ErrAuthFailed) {
		t.Errorf("value that is not a hash: %v, want a fault", err)
	}
	if err := db.SetPassword("alice", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckPassword(ctx, "alice", "pw-alice"); !errors.Is(err, imap.ErrAuthFailed) {
		t.Errorf("old password after SetPassword: %v", err)
	}
	if _, err := a.CheckPassword(ctx, "alice", "new"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := db.SetPassword("carol", "x"); !errors.Is(err, imap.ErrNoUser) {
		t.Errorf("SetPassword(carol) = %v", err)
	}
	if err := db.Delete("alice"); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete("alice"); !errors.Is(err, imap.ErrNoUser) {
		t.Errorf("Delete twice: %v", err)
	}
	if ok, err := db.Exists("alice"); ok || err != nil {
		t.Errorf("Exists(alice) after Delete = %v, %v", ok, err)
	}
}

// TestSQLCustomSelect: a site's own table, with libsasl's statements; the
// password and SCRAM keys in two columns; argon2id and bcrypt hashes;
// imapctl's writes refused without their statements.
func TestSQLCustomSelect(t *testing.T) {
	cfg := SQLConfig{Select: `SELECT pw || coalesce(':' || scram, '') FROM accounts WHERE login = '%u' AND domain = '%r' AND '%p' = 'userPassword'`}
	db, dsn := sqlDB(t, cfg)
	argon, _ := NewArgon2idHash("argon-pw")
	bc, _ := credentials("bcrypt-pw")
	sqlExec(t, dsn, `CREATE TABLE accounts (login text, domain text, pw text, scram text)`,
		`INSERT INTO accounts VALUES ('ann', '', '`+argon+`', NULL), ('ben', 'example.org', '`+bc.hash+`', '`+bc.scram.String()+`')`)
	a := New(Options{AllowPlaintext: true}, db)
	ctx := context.Background()
	if _, err := a.CheckPassword(ctx, "ann", "argon-pw"); err != nil {
		t.Errorf("argon2id user: %v", err)
	}
	if _, err := a.CheckPassword(ctx, "ann", "bcrypt-pw"); !errors.Is(err, imap.ErrAuthFailed) {
		t.Errorf("argon2id user, wrong password: %v", err)
	}
	if _, err := a.CheckPassword(ctx, "ben@example.org", "bcrypt-pw"); err != nil {
		t.Errorf("bcrypt user: %v", err)
	}
	if _, err := a.CheckPassword(ctx, "ben", "bcrypt-pw"); !errors.Is(err, imap.ErrNoUser) {
		t.Errorf("ben without his realm: %v", err)
	}
	if k, ok, err := db.ScramKeys("ben@example.org"); err != nil || !ok || k.String() != bc.scram.String() {
		t.Errorf("ScramKeys(ben@example.org) = %v, %v", ok, err)
	}
	if _, ok, err := db.ScramKeys("ann"); err != nil || ok {
		t.Errorf("ScramKeys(ann) = %v, %v; she has none", ok, err)
	}
	for name, err := range map[string]error{
		"add":    db.Add("cat", "x"),
		"passwd": db.SetPassword("ann", "x"),
		"del":    db.Delete("ann"),
	} {
		if !errors.Is(err, ErrSQLNoStatement) {
			t.Errorf("%s on the site's table without its statement: %v", name, err)
		}
	}
	if _, err := db.List(); !errors.Is(err, ErrSQLNoStatement) {
		t.Errorf("list without sql_list: %v", err)
	}
	if _, err := a.CheckPassword(ctx, "ann", "argon-pw"); err != nil {
		t.Errorf("ann after the refused writes: %v", err)
	}

	// With the statements, imapctl writes through them.
	cfg.Insert = `INSERT INTO accounts (login, domain, pw) VALUES ('%u', '%r', '%v')`
	cfg.Update = `UPDATE accounts SET pw = '%v', scram = NULL WHERE login = '%u' AND domain = '%r'`
	cfg.Delete = `DELETE FROM accounts WHERE login = '%u' AND domain = '%r'`
	cfg.List = `SELECT login || CASE WHEN domain = '' THEN '' ELSE '@' || domain END FROM accounts`
	db2 := OpenSQL(t.TempDir(), CacheOptions{}, SQLConfig{Hostnames: db.sql.cfg.Hostnames, User: db.sql.cfg.User,
		Database: db.sql.cfg.Database, Select: cfg.Select, Insert: cfg.Insert, Update: cfg.Update, Delete: cfg.Delete, List: cfg.List})
	defer db2.Close()
	a2 := New(Options{AllowPlaintext: true}, db2)
	if err := db2.Add("cat@example.org", "cat-pw"); err != nil {
		t.Fatal(err)
	}
	if err := db2.SetPassword("ann", "ann-new"); err != nil {
		t.Fatal(err)
	}
	if err := db2.Delete("ben@example.org"); err != nil {
		t.Fatal(err)
	}
	if names, err := db2.List(); err != nil || strings.Join(names, " ") != "ann cat@example.org" {
		t.Errorf("List() = %v, %v", names, err)
	}
	for u, pw := range map[string]string{"ann": "ann-new", "cat@example.org": "cat-pw"} {
		if _, err := a2.CheckPassword(ctx, u, pw); err != nil {
			t.Errorf("login %s: %v", u, err)
		}
	}
	// SCRAM keys are written with the hash, into the one value.
	if _, ok, err := db2.ScramKeys("cat@example.org"); !ok || err != nil {
		t.Errorf("ScramKeys(cat) after add = %v, %v", ok, err)
	}
}

// TestSQLDown: a database out of reach is a temporary failure, for a
// known and an unknown user alike, never a refusal; it works again when
// the database is back.
func TestSQLDown(t *testing.T) {
	srv, err := pgtest.Start(pgtest.Options{})
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	t.Cleanup(func() { srv.Kill(); os.RemoveAll(srv.Dir) })
	name, err := srv.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	db := OpenSQL(t.TempDir(), CacheOptions{TTL: DefaultCacheTTL}, SQLConfig{
		Hostnames: []string{srv.SocketDir + ":" + strconv.Itoa(srv.Port)}, User: srv.User, Database: name})
	t.Cleanup(db.Close)
	if err := db.Add("alice", "pw"); err != nil {
		t.Fatal(err)
	}
	a := New(Options{AllowPlaintext: true, PwcheckMethods: []string{PwcheckAuxprop}}, db)
	ctx := context.Background()
	if _, err := a.CheckPassword(ctx, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	for _, u := range []string{"alice", "nobody"} {
		start := time.Now()
		_, err := a.CheckPassword(ctx, u, "pw")
		if !errors.Is(err, imap.ErrUnavailable) || errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("database down, %s: %v, want ErrUnavailable", u, err)
		}
		if d := time.Since(start); d > sqlTimeout {
			t.Errorf("database down, %s: answered after %v", u, d)
		}
	}
	if ok, err := a.UserExists(ctx, "alice"); !errors.Is(err, imap.ErrUnavailable) {
		t.Errorf("UserExists with the database down = %v, %v", ok, err)
	}
	if err := db.SetPassword("alice", "x"); !errors.Is(err, imap.ErrUnavailable) {
		t.Errorf("SetPassword with the database down = %v", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CheckPassword(ctx, "alice", "pw"); err != nil {
		t.Errorf("database back: %v", err)
	}
}

// TestSQLScram: SCRAM-SHA-256 with the keys stored in the SQL value, as
// imapctl user add writes them; refused for a wrong password and for a
// user whose value has no keys.
func TestSQLScram(t *testing.T) {
	db, dsn := sqlDB(t, SQLConfig{})
	if err := db.Add("alice", "wonderland"); err != nil {
		t.Fatal(err)
	}
	argon, _ := NewArgon2idHash("hashonly")
	sqlExec(t, dsn, `INSERT INTO imapd_users (username, password) VALUES ('hugo', '`+argon+`')`)
	a := New(Options{}, db)
	for _, tt := range []struct {
		c    scramClient
		want string
	}{
		{scramClient{user: "alice", password: "wonderland", flag: "n"}, "alice"},
		{scramClient{user: "alice", password: "looking-glass", flag: "n"}, ""},
		{scramClient{user: "hugo", password: "hashonly", flag: "n"}, ""},
		{scramClient{user: "nobody", password: "wonderland", flag: "n"}, ""},
	} {
		tt.c.nonce = "fyko+d2lbbFgONRv9qkxdawL"
		s, err := a.NewSASL(context.Background(), ScramSHA256, ports.ConnInfo{})
		if err != nil {
			t.Fatal(err)
		}
		id, err := tt.c.run(t, s, true)
		if tt.want != "" && (err != nil || id != tt.want) {
			t.Errorf("%s: identity %q, %v", tt.c.user, id, err)
		}
		if tt.want == "" && !errors.Is(err, imap.ErrAuthFailed) {
			t.Errorf("%s, %s: %v, want ErrAuthFailed", tt.c.user, tt.c.password, err)
		}
	}
}
