package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// schemaLock is the key of the advisory lock under which one host at a
// time creates or upgrades the schema ("imapd" in ASCII).
const schemaLock = 0x696d617064

// migrations are the schema's versions, in order: migrations[i] brings a
// database at version i to version i+1. A new table or column is a new
// step at the end, never a change of an old one.
var migrations = []string{
	// 1: mailboxes, messages in chunks, tombstones, subscriptions, and
	// the counters the triggers keep.
	schemaV1,
	// 2: quotas, threads, sort records, METADATA, ACLs, seen states
	// (schema2.go).
	schemaV2,
	// 3: the full-text index (textindex.go).
	schemaV3,
	// 4: lmtpd's delivery records (duplicates.go).
	schemaV4,
}

// schemaVersion is the version this program writes.
var schemaVersion = len(migrations)

// schemaV1 is the first schema. Mailbox counters (messages, unseen, total
// size) live in mailbox_counts and are kept by statement triggers on
// messages, so they commit or roll back with every change, whichever path
// made it; \Recent is counted from recentuid. Flags are stored as one
// space-separated text (system flags canonical, keywords as first set);
// keywords holds a superset of the mailbox's keywords, folded, or NULL
// when unknown (admitKeywords). Bodies are shared by copies and counted
// (refs); expunged keeps tombstones for ChangesSince.
const schemaV1 = `
CREATE TABLE meta (
	key   text PRIMARY KEY,
	value bigint NOT NULL
);
CREATE TABLE users (
	id   bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE
);
CREATE TABLE mailboxes (
	id            bigserial PRIMARY KEY,
	user_id       bigint NOT NULL,
	name          text NOT NULL,
	uidvalidity   bigint NOT NULL,
	uidnext       bigint NOT NULL,
	highestmodseq bigint NOT NULL,
	recentuid     bigint NOT NULL,
	specialuse    text NOT NULL DEFAULT '',
	keywords      text,
	mailboxid     text NOT NULL,
	UNIQUE (user_id, name)
);
CREATE TABLE mailbox_counts (
	mailbox_id bigint PRIMARY KEY,
	messages   bigint NOT NULL,
	unseen     bigint NOT NULL,
	size       bigint NOT NULL
);
CREATE TABLE bodies (
	id         bigserial PRIMARY KEY,
	size       bigint NOT NULL,
	refs       integer NOT NULL,
	structure  bytea,
	sortrecord bytea
);
CREATE TABLE chunks (
	body_id bigint NOT NULL,
	seq     integer NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (body_id, seq)
);
CREATE TABLE messages (
	mailbox_id   bigint NOT NULL,
	uid          bigint NOT NULL,
	modseq       bigint NOT NULL,
	flags        text NOT NULL,
	internaldate bigint NOT NULL,
	zone         integer NOT NULL,
	size         bigint NOT NULL,
	body_id      bigint NOT NULL,
	savedate     bigint NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
CREATE TABLE expunged (
	mailbox_id bigint NOT NULL,
	uid        bigint NOT NULL,
	modseq     bigint NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
CREATE TABLE subscriptions (
	user_id bigint NOT NULL,
	name    text NOT NULL,
	PRIMARY KEY (user_id, name)
);

CREATE FUNCTION imapd_unseen(flags text) RETURNS bigint LANGUAGE sql IMMUTABLE AS
	$$ SELECT CASE WHEN position(' \Seen ' in ' ' || flags || ' ') = 0 THEN 1 ELSE 0 END $$;

CREATE FUNCTION imapd_counts_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO mailbox_counts (mailbox_id, messages, unseen, size)
		SELECT mailbox_id, count(*), sum(imapd_unseen(flags)), sum(size) FROM new_rows GROUP BY mailbox_id
		ON CONFLICT (mailbox_id) DO UPDATE SET messages = mailbox_counts.messages + excluded.messages,
			unseen = mailbox_counts.unseen + excluded.unseen, size = mailbox_counts.size + excluded.size;
	RETURN NULL;
END $$;
CREATE FUNCTION imapd_counts_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE mailbox_counts c SET messages = c.messages - d.messages, unseen = c.unseen - d.unseen, size = c.size - d.size
		FROM (SELECT mailbox_id, count(*) AS messages, sum(imapd_unseen(flags)) AS unseen, sum(size) AS size
			FROM old_rows GROUP BY mailbox_id) d
		WHERE c.mailbox_id = d.mailbox_id;
	RETURN NULL;
END $$;
CREATE FUNCTION imapd_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO mailbox_counts (mailbox_id, messages, unseen, size)
		SELECT mailbox_id, sum(m), sum(u), sum(s) FROM (
			SELECT mailbox_id, 1 AS m, imapd_unseen(flags) AS u, size AS s FROM new_rows
			UNION ALL
			SELECT mailbox_id, -1, -imapd_unseen(flags), -size FROM old_rows) d
		GROUP BY mailbox_id HAVING sum(m) <> 0 OR sum(u) <> 0 OR sum(s) <> 0
		ON CONFLICT (mailbox_id) DO UPDATE SET messages = mailbox_counts.messages + excluded.messages,
			unseen = mailbox_counts.unseen + excluded.unseen, size = mailbox_counts.size + excluded.size;
	RETURN NULL;
END $$;
CREATE TRIGGER messages_counts_new AFTER INSERT ON messages
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION imapd_counts_new();
CREATE TRIGGER messages_counts_gone AFTER DELETE ON messages
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION imapd_counts_gone();
CREATE TRIGGER messages_counts_changed AFTER UPDATE ON messages
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION imapd_counts_changed();
`

// migrate brings the database to schemaVersion inside one transaction
// holding the advisory lock, so that hosts starting together upgrade it
// once, one after the other; a database newer than this program is
// refused.
func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS imapd_schema (version integer NOT NULL)`); err != nil {
			return err
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT version FROM imapd_schema`).Scan(&v)
		switch {
		case err == pgx.ErrNoRows:
			if _, err := tx.Exec(ctx, `INSERT INTO imapd_schema (version) VALUES (0)`); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if v > schemaVersion {
			return fmt.Errorf("database schema %d is newer than this program (%d)", v, schemaVersion)
		}
		for ; v < schemaVersion; v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("schema version %d: %w", v+1, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE imapd_schema SET version = $1`, schemaVersion)
		return err
	})
}
