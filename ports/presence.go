package ports

// Presence knows which users are logged in, from where, across every imapd
// process sharing a configdirectory (Cyrus keeps a file per process in
// {configdirectory}/proc/). It backs maxlogins_per_user and
// maxlogins_per_host.
type Presence interface {
	// Login records that this process now serves user, connected from
	// host, and returns how many other live sessions (in any process) have
	// the same user and the same host. The record lasts until Logout.
	Login(user, host string) (sameUser, sameHost int, err error)

	// Logout removes this process's record. Calling it without a Login
	// does nothing.
	Logout()
}
