// Package imap holds the small vocabulary every other domain package shares:
// UIDs, sequence sets, flags, mailbox names (including modified UTF-7), the
// error kinds that become IMAP response codes, and the quoting rules for
// strings on the wire. It performs no I/O and imports only the standard
// library.
package imap
