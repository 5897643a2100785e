package ports

// Presence knows which users are logged in, from where, across every imapd
// process sharing a configdirectory (Cyrus keeps a file per process in
// {configdirectory}/proc/; we keep one per session, since a process may
// serve many). It backs maxlogins_per_user and maxlogins_per_host.
type Presence interface {
	// Login records that a session of this process now serves user,
	// connected from host, and returns how many other live sessions (in
	// any process, this one included) have the same user and the same
	// host. The record lasts until logout is called (once; later calls
	// do nothing).
	Login(user, host string) (sameUser, sameHost int, logout func(), err error)
}
