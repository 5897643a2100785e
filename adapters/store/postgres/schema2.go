package postgres

// schemaV2 adds what the optional interfaces keep: the users' quota
// limits and usage (on their row, which every write locks already), the
// thread index (objectid.go), the mailboxes' saved sort records, METADATA
// entries, ACLs and the seen state of other users' mailboxes.
//
// metadata's mailbox_id 0 is the server: its /shared entries have the owner
// empty and are the whole store's, its /private ones the owner's.
const schemaV2 = `
ALTER TABLE users
	ADD COLUMN storage_limit bigint NOT NULL DEFAULT -1,
	ADD COLUMN message_limit bigint NOT NULL DEFAULT -1,
	ADD COLUMN mailbox_limit bigint NOT NULL DEFAULT -1,
	ADD COLUMN storage_used  bigint NOT NULL DEFAULT 0,
	ADD COLUMN message_used  bigint NOT NULL DEFAULT 0;
UPDATE users u SET storage_used = c.size, message_used = c.messages
	FROM (SELECT m.user_id, sum(c.size) AS size, sum(c.messages) AS messages
		FROM mailboxes m JOIN mailbox_counts c ON c.mailbox_id = m.id GROUP BY m.user_id) c
	WHERE c.user_id = u.id;
CREATE TABLE threads (
	user_id  bigint NOT NULL,
	msgid    text NOT NULL,
	threadid text NOT NULL,
	PRIMARY KEY (user_id, msgid)
);
CREATE TABLE sortrecords (
	mailbox_id  bigint PRIMARY KEY,
	uidvalidity bigint NOT NULL,
	data        bytea NOT NULL
);
CREATE TABLE metadata (
	mailbox_id bigint NOT NULL,
	owner      text NOT NULL,
	name       text NOT NULL,
	value      bytea NOT NULL,
	PRIMARY KEY (mailbox_id, owner, name)
);
CREATE TABLE acls (
	mailbox_id bigint PRIMARY KEY,
	acl        text NOT NULL
);
CREATE TABLE seen (
	reader  text NOT NULL,
	key     text NOT NULL,
	uids    text NOT NULL,
	version bigint NOT NULL,
	PRIMARY KEY (reader, key)
);
`
