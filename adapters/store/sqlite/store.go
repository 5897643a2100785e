// Package sqlite keeps each user's mailboxes and messages in an SQLite
// database of their own (users/NAME/mail.db in the partition directory,
// see users.go) and implements ports.Store on them. One database per user
// means that writes by different users never wait for each other: each
// database has its own write lock, its own WAL and its own fsyncs. The
// store's directory database, mail.db, holds no mail: it records the
// layout, and a store written before per-user databases is split on
// first open (split.go).
//
// Many imapd processes open the same databases at once, so each runs in
// WAL mode (readers never block the writer), every write is one short
// transaction begun with BEGIN IMMEDIATE (two processes never deadlock
// while upgrading a read lock to a write lock) and every commit is fsynced
// (synchronous=FULL), which makes an APPEND durable when it returns.
// Message bytes are kept in 64 KiB chunks so that a reader fetches only
// the chunks a FETCH needs. The package depends on the ports and the
// domain vocabulary only; it knows nothing of the protocol.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"github.com/imapd-go/imapd/adapters/store/fswatch"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// FileName is the name of the store's directory database, and of each
// user's database inside the user's folder.
const FileName = "mail.db"

const (
	// chunkSize is the size of each stored piece of a message body.
	chunkSize = 64 << 10
	// busyTimeout is how long SQLite itself waits for another process's lock.
	busyTimeout = 10 * time.Second
	// beginAttempts bounds how often a write retries BEGIN IMMEDIATE when
	// SQLite still answers SQLITE_BUSY after its own timeout.
	beginAttempts = 5
	// maxConns caps each connection pool: a process serves one session at a
	// time, so a few connections are plenty.
	maxConns = 4
	// idleConnTime is how long a connection no operation uses stays open:
	// its page cache and statements go with it (maxOpenUsers).
	idleConnTime = 2 * time.Minute
	// schemaVersion is recorded in PRAGMA user_version of each user's
	// database (and was, before the split, in the shared one). A new
	// table or column is a new version: a step in upgrade and the table
	// in schema.
	schemaVersion = 12
)

// Store is a ports.Store on one SQLite database per user. It is safe for
// concurrent use by many goroutines and by many processes opening the same
// directory.
type Store struct {
	dir string // the partition: mail.db and users/

	mu   sync.Mutex
	dbs  map[string]*userDB // open databases, by user
	tick uint64             // counts releases, for least-recently-used
	// keepOpen is KeepOpen's bound; 0 = maxOpenUsers.
	keepOpen int

	// Both caches key their entries by user, so one of each serves every
	// user database of the process.
	counts     counts     // mailbox counters last counted (see counts)
	structures structures // structure blobs last read (see structures)
	records    records    // message records last read (see records)
}

// db is one SQLite database file with its three connection pools.
type db struct {
	w *sql.DB // writes: every transaction begins IMMEDIATE
	r *sql.DB // reads: deferred transactions, one consistent WAL snapshot each; not mapped
	// b reads message bodies (body.go), and nothing else. SQLite drops a
	// connection's whole memory map at its first read after any commit,
	// at a cost that grows with the pages it had mapped (1 ms for the 15
	// MB a FETCH 1:* BODY[] of the comparison's corpus maps): bodies on
	// connections of their own leave that cost to the next large read of
	// bodies, instead of to the read of changes that ends every STORE.
	b   *sql.DB
	dir string // the folder of the database, its WAL and shared memory

	notifyOnce sync.Once
	notifyFile *os.File
}

var _ ports.Store = (*Store)(nil)

// schema creates every table. Mailbox counters live in the mailboxes row,
// with keywords: a superset of the keywords its messages carry (folded,
// space-separated), or NULL when not known (admitKeywords);
// message rows are small (flags and numbers) and clustered by (mailbox, uid)
// so that a snapshot is one range scan; bodies are shared by copies and
// counted; expunged keeps tombstones so that ChangesSince can report
// expunges to sessions in other processes.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS mailboxes (
	id            INTEGER PRIMARY KEY,
	user_id       INTEGER NOT NULL,
	name          TEXT NOT NULL,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL,
	recentuid     INTEGER NOT NULL,
	specialuse    TEXT NOT NULL DEFAULT '',
	keywords      TEXT,
	mailboxid     TEXT,
	UNIQUE (user_id, name)
);
CREATE TABLE IF NOT EXISTS bodies (
	id        INTEGER PRIMARY KEY,
	size      INTEGER NOT NULL,
	refs      INTEGER NOT NULL,
	structure BLOB
);
CREATE TABLE IF NOT EXISTS chunks (
	body_id INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (body_id, seq)
);
CREATE TABLE IF NOT EXISTS messages (
	mailbox_id   INTEGER NOT NULL,
	uid          INTEGER NOT NULL,
	modseq       INTEGER NOT NULL,
	flags        TEXT NOT NULL,
	internaldate INTEGER NOT NULL,
	zone         INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	body_id      INTEGER NOT NULL,
	savedate     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (mailbox_id, modseq);
CREATE TABLE IF NOT EXISTS expunged (
	mailbox_id INTEGER NOT NULL,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged (mailbox_id, modseq);
CREATE TABLE IF NOT EXISTS threads (
	msgid    TEXT PRIMARY KEY,
	threadid TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sortrecords (
	mailbox_id  INTEGER PRIMARY KEY,
	uidvalidity INTEGER NOT NULL,
	data        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
	user_id INTEGER NOT NULL,
	name    TEXT NOT NULL,
	PRIMARY KEY (user_id, name)
) WITHOUT ROWID;
` + quotaSchema

// readDriver is the driver of the body pool: SQLite with its database
// file memory-mapped (PRAGMA mmap_size), so that reading a page of a
// message's chunk is a copy out of the page cache instead of a pread
// system call per page. Only reads go through the mapping; writes still
// use write(2) on their own pool, so durability is unchanged.
//
// The read pool does without (see db.b): it answers the short reads that
// follow every APPEND, STORE and EXPUNGE, each the first read after a
// commit, when SQLite drops the mapping and maps the file again, page
// faults and all. On test/compare's mixed load (single mode, 10 clients)
// a command cost 2,200 µs of CPU with the read pool mapped, 1,600-2,000
// without.
const readDriver = "sqlite3-imapd-read"

// mmapSize is address space only: pages are mapped as they are read.
const mmapSize = 1 << 30

func init() {
	sql.Register(readDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(fmt.Sprintf("PRAGMA mmap_size = %d", mmapSize), nil)
		return err
	}})
}

// Open opens (creating if needed) the store kept in dir. Any number of
// processes may open the same directory at once. A store written in the
// shared layout (every user in dir/mail.db) is split into per-user
// databases first, under the shared database's write lock.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s := &Store{dir: abs, dbs: map[string]*userDB{}}
	if err := s.openLayout(); err != nil {
		return nil, err
	}
	return s, nil
}

// openDB opens the database file at path (creating it if needed), without
// looking at its schema.
func openDB(path string) (*db, error) {
	// No _journal_mode: WAL is recorded in the file when it is created
	// (init, splitUser), and asking for it again on every connection cost
	// a third of opening one.
	base := "file:" + escapePath(path) + fmt.Sprintf(
		"?_busy_timeout=%d&_synchronous=FULL&_stmt_cache_size=32",
		busyTimeout.Milliseconds())
	w, err := sql.Open("sqlite3", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r, err := sql.Open("sqlite3", base+"&_txlock=deferred")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	b, err := sql.Open(readDriver, base+"&_txlock=deferred")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	for _, p := range []*sql.DB{w, r, b} {
		p.SetMaxOpenConns(maxConns)
		p.SetMaxIdleConns(maxConns)
		p.SetConnMaxIdleTime(idleConnTime)
	}
	return &db{w: w, r: r, b: b, dir: filepath.Dir(path)}, nil
}

// init creates the schema once per database, or brings an older one up to
// schemaVersion; later opens only read the version, so many processes
// starting together do not queue for the lock.
func (d *db) init() error {
	_, err := d.initText()
	return err
}

// initText is init that also reports whether the database has the
// full-text index's FTS5 table (ensureTextTable), read with the version
// in one statement: a user's database is opened at every session.
func (d *db) initText() (hasText bool, err error) {
	ctx := context.Background()
	var v int
	err = retryBusy(ctx, func() error {
		return d.r.QueryRowContext(ctx, `SELECT user_version,
			EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?) FROM pragma_user_version`, textTable).Scan(&v, &hasText)
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: open: %w", err)
	}
	if v == schemaVersion {
		return hasText, nil
	}
	return false, d.upgradeFrom(ctx, v)
}

// upgradeFrom brings a database at version v to schemaVersion.
func (d *db) upgradeFrom(ctx context.Context, v int) error {
	if v > schemaVersion {
		return fmt.Errorf("sqlite: open: database schema %d is newer than this program (%d)", v, schemaVersion)
	}
	// WAL mode is kept in the file; it cannot change inside a transaction.
	err := retryBusy(ctx, func() error {
		var mode string
		return d.w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
	})
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	return d.write(ctx, "open", func(tx *sql.Tx) error {
		// Read the version again under the write lock: another process
		// may have upgraded the database meanwhile.
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		if v == schemaVersion {
			return nil
		}
		if err := upgrade(ctx, tx, v); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return err
		}
		if err := upgradeQuota(ctx, tx, v); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, msgSortSchema); err != nil {
			return err
		}
		if err := upgradeCounters(ctx, tx, v); err != nil {
			return err
		}
		if v < 5 {
			// Version 5 adds the full-text index's bookkeeping
			// (textindex.go); bodies stored before are not indexed.
			if _, err := tx.ExecContext(ctx, textIndexSchema); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, textIndexMigration); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion))
		return err
	})
}

// upgrade brings the tables of a database at version v (0: new, empty)
// up to schemaVersion, inside the caller's write transaction; schema then
// creates whatever is missing. A new version adds its step here, guarded
// by v >= 1 && v < N (a new database gets everything from schema).
func upgrade(ctx context.Context, tx *sql.Tx, v int) error {
	if v >= 1 && v < 2 {
		// Version 2 adds the special-use attributes of mailboxes.
		if _, err := tx.ExecContext(ctx, `ALTER TABLE mailboxes ADD COLUMN specialuse TEXT NOT NULL DEFAULT ''`); err != nil {
			return err
		}
	}
	if v >= 1 && v < 3 {
		// Version 3 adds each message's save date (RFC 8514).
		if _, err := tx.ExecContext(ctx, `ALTER TABLE messages ADD COLUMN savedate INTEGER NOT NULL DEFAULT 0`); err != nil {
			return err
		}
	}
	if v >= 1 && v < 4 {
		// Version 4 adds the mailbox's keyword bound (admitKeywords).
		if _, err := tx.ExecContext(ctx, `ALTER TABLE mailboxes ADD COLUMN keywords TEXT`); err != nil {
			return err
		}
	}
	if v >= 1 && v < 6 {
		// Version 6 adds RFC 8474 mailbox ids (given here to the
		// mailboxes that have none) and the thread index (schema).
		if _, err := tx.ExecContext(ctx, `ALTER TABLE mailboxes ADD COLUMN mailboxid TEXT`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mailboxes SET mailboxid = `+newMailboxIDSQL); err != nil {
			return err
		}
	}
	// Version 7 adds the mailboxes' saved sort records (sortrecords,
	// created by schema; SaveSortRecords fills it as SORT and THREAD
	// compute them).
	// Version 8 adds METADATA entries (metadata.go).
	if err := upgradeMetadata(ctx, tx, v); err != nil {
		return err
	}
	// Version 9 adds the mailboxes' ACLs and the seen state of other
	// users' mailboxes (acl.go); mailboxes without a row keep the
	// default ACL.
	// Version 10 adds the quota root (quota.go: the table comes from
	// schema, its row from upgradeQuota, after it).
	// Version 11 adds each body's sort record (msgSortSchema, msgsort.go,
	// made after schema; bodies stored before have none).
	// Version 12 adds the mailboxes' kept counters (counters.go:
	// upgradeCounters, after schema, counts them).
	return upgradeACL(ctx, tx, v)
}

// Close releases every database connection.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for user, u := range s.dbs {
		errs = append(errs, u.close())
		delete(s.dbs, user)
	}
	return errors.Join(errs...)
}

// close releases the database's connections.
func (d *db) close() error {
	var nerr error
	if d.notifyFile != nil {
		nerr = d.notifyFile.Close()
	}
	return errors.Join(d.w.Close(), d.r.Close(), d.b.Close(), nerr)
}

// escapePath makes a file name safe inside a file: URI, whose query part
// starts at '?' and whose escapes start with '%'.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// isBusy reports whether err is SQLite telling us another connection holds
// the lock we need.
func isBusy(err error) bool {
	var e sqlite3.Error
	if errors.As(err, &e) {
		return e.Code == sqlite3.ErrBusy || e.Code == sqlite3.ErrLocked
	}
	return false
}

// retryBusy runs fn again, with a growing pause, while it fails with
// SQLITE_BUSY; the busy timeout already waited inside SQLite, so this only
// covers the cases where SQLite gives up at once (WAL recovery, a snapshot
// that cannot be upgraded, a journal mode change racing another process).
func retryBusy(ctx context.Context, fn func() error) error {
	pause := 10 * time.Millisecond
	var err error
	for range beginAttempts {
		if err = fn(); !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 4
	}
	return err
}

// write runs fn in one IMMEDIATE transaction on the user's database and
// commits it.
func (s *Store) write(ctx context.Context, user, op string, fn func(*sql.Tx) error) error {
	u, err := s.acquire(user)
	if err != nil {
		return wrapErr(op, err)
	}
	defer s.release(u)
	return u.write(ctx, op, fn)
}

// writeLight is write for changes that need not be durable on their own.
func (s *Store) writeLight(ctx context.Context, user, op string, fn func(*sql.Tx) error) error {
	u, err := s.acquire(user)
	if err != nil {
		return wrapErr(op, err)
	}
	defer s.release(u)
	return u.writeLight(ctx, op, fn)
}

// read runs fn in one read transaction on the user's database.
func (s *Store) read(ctx context.Context, user, op string, fn func(*sql.Tx) error) error {
	u, err := s.acquire(user)
	if err != nil {
		return wrapErr(op, err)
	}
	defer s.release(u)
	return u.read(ctx, op, fn)
}

// write runs fn in one IMMEDIATE transaction and commits it. Only beginning
// the transaction is retried: fn may consume a stream (APPEND's body), so a
// transaction that started is never replayed. Once BEGIN IMMEDIATE holds the
// write lock, nothing inside fn or COMMIT can be refused as busy in WAL mode.
func (d *db) write(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	return d.writeOn(d.w.BeginTx, ctx, op, fn)
}

// writeLight is write for changes whose loss in a power cut harms nothing
// (which session saw a message as \Recent): they commit without an fsync
// of their own, since in WAL mode the next durable commit makes them
// durable too, and the database is consistent either way. The write
// connection is switched to synchronous=NORMAL for the one transaction
// (a pool of its own would cost another connection per user database).
func (d *db) writeLight(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return wrapErr(op, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return wrapErr(op, err)
	}
	defer func() {
		// Back to FULL before the connection serves a durable write; one
		// that cannot be switched back is dropped from the pool.
		if _, err := conn.ExecContext(context.Background(), "PRAGMA synchronous = FULL"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return d.writeOn(conn.BeginTx, ctx, op, fn)
}

func (d *db) writeOn(begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), ctx context.Context, op string, fn func(*sql.Tx) error) error {
	var tx *sql.Tx
	err := retryBusy(ctx, func() error {
		var err error
		tx, err = begin(ctx, nil)
		return err
	})
	if err != nil {
		return wrapErr(op, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return wrapErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return wrapErr(op, err)
	}
	d.notify()
	return nil
}

// NotifyFile is written after every commit, so that watchers in other
// processes wake when the change is visible, not when its bytes first
// reach the WAL (which comes before the commit is published).
const NotifyFile = "mail.db-notify"

// notify touches NotifyFile: one write, no fsync, after each commit.
func (d *db) notify() {
	d.notifyOnce.Do(func() {
		d.notifyFile, _ = os.OpenFile(filepath.Join(d.dir, NotifyFile), os.O_WRONLY|os.O_CREATE, 0o600)
	})
	if d.notifyFile != nil {
		d.notifyFile.WriteAt([]byte{1}, 0)
	}
}

// read runs fn in one read transaction: every query in it sees the same
// committed state of the database.
func (d *db) read(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	var err error
	for range beginAttempts {
		var tx *sql.Tx
		tx, err = d.r.BeginTx(ctx, nil)
		if err != nil {
			return wrapErr(op, err)
		}
		err = fn(tx)
		tx.Rollback()
		if !isBusy(err) {
			break
		}
		// A read that met SQLITE_BUSY (rare in WAL mode) did nothing
		// irreversible, so it can start over on a fresh snapshot.
		select {
		case <-ctx.Done():
			return wrapErr(op, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return wrapErr(op, err)
}

// wrapErr keeps the domain kinds as they are and labels everything else
// with the operation; a lock that never came free is imap.ErrUnavailable.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if isBusy(err) {
		return &imap.Error{Op: op, Kind: imap.ErrUnavailable, Detail: err.Error()}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// Watch wakes the caller after any commit to the user's database by any
// process: every commit writes NotifyFile, which inotify reports. The
// wake-up is not specific to the mailbox; the caller asks ChangesSince,
// which is cheap. Only NotifyFile is watched, not the folder: the WAL and
// shared-memory files also change when nothing was committed (a reader
// opening the database creates them, the last connection to close
// checkpoints and removes them), and a wake-up for those would send every
// session watching the user to its store for nothing.
func (s *Store) Watch(ctx context.Context, user, name string) (<-chan struct{}, error) {
	if _, err := s.Status(ctx, user, name); err != nil {
		return nil, err
	}
	return s.watchNotify(ctx, user)
}

// WatchUser wakes the caller after any commit to the user's database, as
// Watch does: mailboxes, messages and subscriptions all live in it, so
// one file covers them all, including mailboxes created later.
func (s *Store) WatchUser(ctx context.Context, user string) (<-chan struct{}, error) {
	if _, err := s.ListMailboxes(ctx, user); err != nil {
		return nil, err
	}
	return s.watchNotify(ctx, user)
}

// watchNotify watches the user's NotifyFile.
func (s *Store) watchNotify(ctx context.Context, user string) (<-chan struct{}, error) {
	dir := filepath.Dir(userPath(s.dir, user))
	notify := filepath.Join(dir, NotifyFile)
	// Made if missing (no commit since the layout came), and only then:
	// closing a descriptor opened for writing is an event, and would wake
	// every session already watching the user.
	if _, err := os.Lstat(notify); errors.Is(err, fs.ErrNotExist) {
		if f, err := os.OpenFile(notify, os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
	}
	return fswatch.Watch(ctx, fswatch.Fallback, notify)
}
