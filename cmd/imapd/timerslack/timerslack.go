// Package timerslack gives every thread of imapd a timer slack set before
// the Go runtime starts any, and lets a process that wants the slack it
// was started with run itself again with it.
package timerslack

/*
#include <stdlib.h>
#include <sys/prctl.h>

// imapd_slack_ns is the timer slack set_timer_slack gave the process's
// threads (0: left as it was), imapd_inherited_ns the one it had.
static unsigned long imapd_slack_ns, imapd_inherited_ns;

#define IMAPD_DEFAULT_SLACK 10000000

// set_timer_slack runs when the binary is loaded, on the main thread,
// before the Go runtime starts a thread of its own: every thread it
// starts (sysmon included) inherits the slack from there.
__attribute__((constructor)) static void set_timer_slack(void) {
	unsigned long ns = IMAPD_DEFAULT_SLACK;
	const char *env = getenv("IMAPD_TIMERSLACK_NS"); // Env
	if (env != NULL && *env != '\0') {
		char *end;
		ns = strtoul(env, &end, 10);
		if (*end != '\0')
			return;
	}
	if (ns == 0)
		return;
	int was = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (was <= 0)
		return;
	imapd_inherited_ns = was;
	if (prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) == 0)
		imapd_slack_ns = ns;
}

static unsigned long imapd_timer_slack(void) { return imapd_slack_ns; }
static unsigned long imapd_inherited_slack(void) { return imapd_inherited_ns; }
*/
import "C"

import (
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Env, when set, is the timer slack in nanoseconds that every thread of
// the process runs with instead of Default (0: the one it inherited).
const Env = "IMAPD_TIMERSLACK_NS"

// Default is the timer slack, in nanoseconds, of imapd's threads: how
// late the kernel may end a sleep with a timeout, so as to end it
// together with another wake-up.
//
// The sleeps it is for are those of the runtime's monitor thread
// (sysmon). From the moment a process's only goroutine makes a system
// call after a wait until the process waits again, sysmon sleeps 20 µs at
// a time, and starts over at 20 µs after every fsync that made it hand
// the processor to another thread. With a process per session, each
// command woke it three to five times, each a switch into another
// process's address space: 200-300 µs of the 1,200-1,600 µs of CPU a
// command of the mixed load cost, and the largest part of what a command
// costs more at 50 clients than at 10. With 10 ms (sysmon's longest
// sleep), those sleeps end with the process's own work; the mixed load
// then cost 10-25% less CPU per command. The waits of the sessions
// themselves (timeouts of seconds to minutes) do not notice 10 ms.
const Default = C.IMAPD_DEFAULT_SLACK

// Current returns the timer slack, in nanoseconds, that the process's
// threads were started with (0 when left to the system).
func Current() uint64 { return uint64(C.imapd_timer_slack()) }

// ExecInherited runs the process again, in its place, with the timer
// slack it inherited, unless Env chose one: it returns only when it did
// not (nothing to undo, or the exec failed, which leaves the process as
// it was but for the calling thread's slack).
//
// Multi mode wants the system's slack. There the process is busy with
// many sessions, and sysmon's short sleeps are what hands a processor
// held by a goroutine in fsync or in SQLite to the others: a 10 ms slack
// cost multi-maildir a fifth of its 50-client rate. The process is still
// alone at this point (nothing sent to master, no session), and runs for
// many connections, so one more exec costs nothing that counts.
func ExecInherited(argv []string) error {
	if Current() == 0 || os.Getenv(Env) != "" {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The slack the process was started with, for the new image's
	// threads to inherit from this one. (Not 0, "the thread's default":
	// a thread the runtime started has ours as its default.)
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(C.imapd_inherited_slack()), 0, 0, 0); err != nil {
		return err
	}
	// The executable's path, not /proc/self/exe: the process's name (ps,
	// pgrep, top) is the file name it was run by.
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, argv, append(os.Environ(), Env+"=0"))
}
