// Package master holds the tests of imapd as a service of a real master
// process: Cyrus's own master(8) (Debian's cyrus-imapd package) and our
// cmd/master, driven with the same table of checks over loopback TCP and a
// Unix socket, with real clients (go-imap, openssl, curl, Python's imaplib,
// Cyrus's imtest). The tests skip unless they run as root (Cyrus's master
// starts as root and runs services as cyrus) and, for Cyrus's, unless its
// master is installed. They also check imapd's side of the service
// protocol with the test acting as master, which needs neither.
package master
