// Package postgres implements ports.Store on a PostgreSQL database that
// many imapd processes, on many hosts, share.
//
// Every user's mailboxes, messages and subscriptions are rows of a few
// tables (schema.go). A write is one READ COMMITTED transaction that
// first locks the user's row (SELECT ... FOR UPDATE): writes of one user
// are serialised across every host, as one SQLite database per user
// serialises them on one machine, and writes of different users never
// wait for each other (but for creations of mailboxes, which take in turn
// the one row that hands out UIDVALIDITY values). UIDs and mod-sequences come from the mailbox's
// row, updated in the same transaction as the messages they number, and
// commits wait for the WAL flush (synchronous_commit = on), so a message
// is durable when APPEND returns. Reads are REPEATABLE READ, READ ONLY
// transactions: one consistent snapshot each.
//
// Message bytes are kept in chunks of 256 KiB (chunkSize), written one by
// one as APPEND's reader yields them and read by offset, so no message is
// ever held whole in memory. Each commit notifies the channel
// notifyChannel with the user's name; one listening connection per
// process wakes that process's watchers (watch.go).
//
// Connections come from one pool per Store, bounded by Config.PoolSize; a
// session holds one only for the length of an operation.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

const (
	// chunkSize is the size of each stored piece of a message body.
	chunkSize = 256 << 10
	// DefaultPoolSize bounds a process's connections when Config gives
	// no bound.
	DefaultPoolSize = 8
	// idleConnTime is how long an unused pooled connection stays open.
	idleConnTime = time.Minute
	// maxUID is the largest UID a mailbox can hand out.
	maxUID = 1<<32 - 1
)

// Config says how to reach the database.
type Config struct {
	// DSN is a libpq connection string or URL (host, port, dbname,
	// user, sslmode...). It should hold no password: see Password.
	DSN string
	// Password, when not empty, is the password to connect with (read
	// from a file by the caller, never from a command line).
	Password string
	// PoolSize bounds the connections this process opens for
	// operations (DefaultPoolSize when 0); the listener for Watch takes
	// one more.
	PoolSize int
}

// ReadPasswordFile reads a password kept alone in a file, without its
// trailing newline.
func ReadPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("postgres: password file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// Store is a ports.Store on one PostgreSQL database. It is safe for
// concurrent use by many goroutines, processes and hosts.
type Store struct {
	pool   *pgxpool.Pool
	listen *listener
	// schemaMu guards the schema check; schemaOK is set once the
	// database's schema is known to be this program's.
	schemaMu sync.Mutex
	schemaOK atomic.Bool
}

var _ ports.Store = (*Store)(nil)

// Open connects to the database, creates or upgrades its schema (one host
// at a time, under an advisory lock), and returns the store. A database
// that cannot be reached is not an error here: the process starts (under
// master, a service whose processes fail at start is disabled until
// SIGHUP), its operations fail with imap.ErrUnavailable, and the first
// one after the database is back checks the schema.
func Open(ctx context.Context, c Config) (*Store, error) {
	return open(ctx, c, nil)
}

// open is Open; a tracer, when not nil, sees every statement (the tests
// count round trips with it).
func open(ctx context.Context, c Config, tracer pgx.QueryTracer) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(c.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if tracer != nil {
		cfg.ConnConfig.Tracer = tracer
	}
	if c.Password != "" {
		cfg.ConnConfig.Password = c.Password
	}
	size := c.PoolSize
	if size <= 0 {
		size = DefaultPoolSize
	}
	cfg.MaxConns = int32(size)
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = idleConnTime
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	// A commit returns once its WAL is flushed: APPEND is durable when
	// it answers, whatever the server's default.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	cfg.ConnConfig.RuntimeParams["application_name"] = "imapd"
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool}
	s.listen = newListener(cfg.ConnConfig.Copy())
	if err := s.ensureSchema(ctx); err != nil && !unavailable(err) {
		pool.Close()
		return nil, wrapErr("open", err)
	}
	return s, nil
}

// ensureSchema creates or upgrades the schema unless that is done.
func (s *Store) ensureSchema(ctx context.Context) error {
	if s.schemaOK.Load() {
		return nil
	}
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.schemaOK.Load() {
		return nil
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	s.schemaOK.Store(true)
	return nil
}

// Close releases the pool and the listening connection.
func (s *Store) Close() error {
	s.listen.close()
	s.pool.Close()
	return nil
}

// notifyChannel is the LISTEN/NOTIFY channel; the payload is the user.
const notifyChannel = "imapd_mail"

// userTx is a write transaction holding the lock of one user's row.
type userTx struct {
	pgx.Tx
	uid  int64 // the user's id; 0 when the user does not exist
	user string
	// notified is set by an fn that queued the commit's notification
	// itself, in one of its statements, saving a round trip.
	notified bool
}

// write runs fn in one transaction that holds user's row lock, and
// commits it with a notification to the user's watchers. With create, a
// missing user is added first; without it fn runs with uid 0. Only
// beginning is ever retried: fn may consume a stream.
func (s *Store) write(ctx context.Context, user, op string, create bool, fn func(*userTx) error) error {
	return s.writeAfter(ctx, user, op, create, nil, fn)
}

// writeAfter is write that runs pre in the transaction before it takes
// the user's lock: APPEND streams its bodies in there, so that a large
// upload keeps no other writer of the user waiting.
func (s *Store) writeAfter(ctx context.Context, user, op string, create bool, pre func(pgx.Tx) error, fn func(*userTx) error) error {
	return s.writeTx(ctx, user, op, create, false, pre, fn)
}

// writeTx is writeAfter; with selfLock, fn takes the user's lock itself
// (lockLookup), in the statement that finds its mailbox.
func (s *Store) writeTx(ctx context.Context, user, op string, create, selfLock bool, pre func(pgx.Tx) error, fn func(*userTx) error) error {
	var tx pgx.Tx
	err := s.retry(ctx, func() error {
		var err error
		tx, err = s.pool.Begin(ctx)
		return err
	})
	if err != nil {
		return wrapErr(op, err)
	}
	err = func() error {
		if pre != nil {
			if err := pre(tx); err != nil {
				return err
			}
		}
		t := &userTx{Tx: tx, user: user}
		if !selfLock {
			if err := t.lock(ctx, create); err != nil {
				return err
			}
		}
		if err := fn(t); err != nil {
			return err
		}
		if t.notified {
			return nil
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, user)
		return err
	}()
	if err == nil {
		err = tx.Commit(ctx)
	} else {
		tx.Rollback(context.WithoutCancel(ctx))
	}
	return wrapErr(op, err)
}

// retryAttempts bounds how often retry runs fn.
const retryAttempts = 3

// retry runs fn again while it fails because the database is unavailable:
// after a restart of the database the pool's first use of each old
// connection fails, and a new connection then succeeds. Only what may be
// repeated goes through it: reads, and beginning a transaction.
func (s *Store) retry(ctx context.Context, fn func() error) error {
	var err error
	for i := range retryAttempts {
		if err = s.ensureSchema(ctx); err == nil {
			err = fn()
		}
		if err == nil || !unavailable(err) || ctx.Err() != nil {
			return err
		}
		if i < retryAttempts-1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(i+1) * 50 * time.Millisecond):
			}
		}
	}
	return err
}

// lock takes the user's row lock, adding the user first with create.
func (t *userTx) lock(ctx context.Context, create bool) error {
	if create {
		if _, err := t.Exec(ctx, `INSERT INTO users (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, t.user); err != nil {
			return err
		}
	}
	err := t.QueryRow(ctx, `SELECT id FROM users WHERE name = $1 FOR UPDATE`, t.user).Scan(&t.uid)
	if errors.Is(err, pgx.ErrNoRows) {
		t.uid = 0
		return nil
	}
	return err
}

// lockLookup takes the user's row lock and finds the user's mailbox name
// in one statement: what lock then lookup do in two. A missing user or
// mailbox is reported with the given kind.
//
// The mailbox's row is read in the statement's snapshot, which may predate
// the wait for the lock (READ COMMITTED re-reads only the locked row): its
// id and UIDVALIDITY hold, but a caller must take UIDs, mod-sequences and
// counters from later statements (allocate, UPDATE ... RETURNING), never
// from the mailbox returned.
func lockLookup(ctx context.Context, t *userTx, op, name string, kind error) (mailbox, error) {
	var m mailbox
	if !storable(t.user) || !storable(name) {
		return m, imap.Errorf(op, kind, "%q", name)
	}
	var id, v, next, high, recent *int64
	err := t.QueryRow(ctx, `SELECT u.id, m.id, m.uidvalidity, m.uidnext, m.highestmodseq, m.recentuid
		FROM users u LEFT JOIN mailboxes m ON m.user_id = u.id AND m.name = $2
		WHERE u.name = $1 FOR UPDATE OF u`, t.user, name).Scan(&t.uid, &id, &v, &next, &high, &recent)
	if errors.Is(err, pgx.ErrNoRows) {
		t.uid = 0
		return m, imap.Errorf(op, kind, "%q", name)
	}
	if err != nil {
		return m, err
	}
	if id == nil {
		return m, imap.Errorf(op, kind, "%q", name)
	}
	m.id, m.uidValidity, m.uidNext, m.highest, m.recentUID = *id, uint32(*v), imap.UID(*next), uint64(*high), imap.UID(*recent)
	return m, nil
}

// read runs fn in one read-only transaction on one snapshot.
func (s *Store) read(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	err := s.retry(ctx, func() error {
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	})
	return wrapErr(op, err)
}

// wrapErr keeps the domain kinds as they are, reports a database that
// cannot be reached (down, restarting, refusing connections) as
// imap.ErrUnavailable, and labels everything else with the operation.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if unavailable(err) {
		return &imap.Error{Op: op, Kind: imap.ErrUnavailable, Detail: err.Error()}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailable reports whether err says the database cannot serve now
// rather than that the request was wrong.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),       // insufficient resources
			strings.HasPrefix(pe.Code, "57P"),      // shutdown, crash recovery
			pe.Code == "40001", pe.Code == "40P01": // serialization, deadlock
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgx.ErrTxClosed) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "conn busy")
}

// isUniqueViolation reports a unique index refusing a row.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
