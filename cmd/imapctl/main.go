// Command imapctl administers imapd's users and mailboxes and delivers
// mail: it reads the same imapd.conf and uses the same store and password
// file as imapd, assembled by wire from the same provider sets.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/imapd-go/imapd/adapters/auth/sasl"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/app/config"
	"github.com/imapd-go/imapd/cmd/internal/wiring"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// Exit statuses from sysexits.h.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 64
	exitDataErr  = 65
	exitNoUser   = 67
	exitTempFail = 75
	exitConfig   = 78
)

const usage = `usage: imapctl [-C config-file] COMMAND
  user add NAME             create a user (password on standard input)
  user passwd NAME          change a user's password
  user del NAME             delete a user and all their mail
  user list                 list users
  mailbox create OWNER NAME create a mailbox (OWNER: a user, or -shared for a shared mailbox)
  mailbox delete OWNER NAME delete a mailbox
  mailbox list OWNER        list a user's (or the shared) mailboxes
  acl get OWNER NAME        show a mailbox's ACL: identifier and rights, a line each
  acl set OWNER NAME ID RIGHTS   give ID the RIGHTS (+RIGHTS: add them, -RIGHTS: remove them)
  acl delete OWNER NAME ID  remove ID's entry
  deliver USER [MAILBOX]    store the message on standard input
  migrate TO.conf [USER...] copy users' mail, with UIDs, to the store TO.conf names
  import USER MAILBOX PATH  append an mbox file or a maildir folder's messages
  index [-rebuild] [USER...] build the full-text index of existing mail (all users by default)
  quota get USER            show the user's quota: resource, usage, limit (STORAGE in KB)
  quota set USER [STORAGE=KB|none] [MESSAGE=N|none] [MAILBOX=N|none]
                            replace the user's quota limits (a resource left out has none)`

// DefaultConfig is the configuration file read without -C.
const DefaultConfig = "/etc/imapd.conf"

// tool is what the commands work with.
type tool struct {
	Server *app.Server
	Store  ports.Store
	Users  *sasl.UserDB
}

// failure is an error with its exit status.
type failure struct {
	code int
	err  error
}

func (f *failure) Error() string { return f.err.Error() }

func fail(code int, format string, args ...any) error {
	return &failure{code: code, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv("CYRUS_SERVICE"), os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, service string, stdin *os.File, stdout, stderr io.Writer) int {
	configPath := DefaultConfig
	if len(args) >= 1 && args[0] == "-C" {
		if len(args) < 2 || args[1] == "" {
			fmt.Fprintln(stderr, usage)
			return exitUsage
		}
		configPath, args = args[1], args[2:]
	}
	cmd, ok := lookup(args)
	if !ok {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	service = wiring.ServiceName(service)
	cfg, err := config.Load(configPath, service)
	if err != nil {
		fmt.Fprintf(stderr, "imapctl: %v\n", err)
		return exitConfig
	}
	settings, err := cfg.Settings()
	if err != nil {
		fmt.Fprintf(stderr, "imapctl: %v\n", err)
		return exitConfig
	}
	t, cleanup, err := initTool(settings, wiring.Flags{Service: service})
	if err != nil {
		fmt.Fprintf(stderr, "imapctl: %v\n", err)
		return exitTempFail
	}
	defer cleanup()
	err = cmd.run(context.Background(), t, args[cmd.words:], stdin, stdout, stderr)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "imapctl: %v\n", err)
	var f *failure
	if errors.As(err, &f) {
		return f.code
	}
	return exitCode(err)
}

// exitCode maps an error's kind to an exit status an MTA understands:
// permanent (bad data, no such user or mailbox) or temporary.
func exitCode(err error) int {
	switch {
	case errors.Is(err, imap.ErrNoUser), errors.Is(err, imap.ErrNonexistent), errors.Is(err, imap.ErrTryCreate):
		return exitNoUser
	case errors.Is(err, imap.ErrTooBig), errors.Is(err, imap.ErrInvalidName), errors.Is(err, imap.ErrCannot),
		errors.Is(err, imap.ErrAlreadyExists), errors.Is(err, sasl.ErrInvalidName),
		errors.Is(err, sasl.ErrUserExists), errors.Is(err, sasl.ErrBadPassword), errors.Is(err, message.ErrNUL):
		return exitDataErr
	case errors.Is(err, imap.ErrOverQuota), errors.Is(err, imap.ErrUnavailable):
		return exitTempFail
	case errors.Is(err, sasl.ErrSQLConfig), errors.Is(err, sasl.ErrSQLNoStatement):
		return exitConfig
	}
	return exitTempFail
}

// command is one imapctl sub-command.
type command struct {
	words   int // how many words name it ("user add" = 2)
	minArgs int
	maxArgs int
	run     func(ctx context.Context, t *tool, args []string, stdin *os.File, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"user add":       {2, 1, 1, userAdd},
	"user passwd":    {2, 1, 1, userPasswd},
	"user del":       {2, 1, 1, userDel},
	"user list":      {2, 0, 0, userList},
	"mailbox create": {2, 2, 2, mailboxCreate},
	"mailbox delete": {2, 2, 2, mailboxDelete},
	"mailbox list":   {2, 1, 1, mailboxList},
	"deliver":        {1, 1, 2, deliver},
	"migrate":        {1, 1, 1 << 20, migrate},
	"import":         {1, 3, 3, importMail},
	"index":          {1, 0, 1 << 20, indexText},
	"acl get":        {2, 2, 2, aclGet}, // acl.go
	"acl set":        {2, 4, 4, aclSet},
	"acl delete":     {2, 3, 3, aclDelete},
	"quota get":      {2, 1, 1, quotaGet}, // quota.go
	"quota set":      {2, 1, 4, quotaSet},
}

// lookup finds the command named by args and checks its argument count.
func lookup(args []string) (command, bool) {
	for words := 2; words >= 1; words-- {
		if len(args) < words {
			continue
		}
		c, ok := commands[strings.Join(args[:words], " ")]
		if !ok || c.words != words {
			continue
		}
		n := len(args) - words
		return c, n >= c.minArgs && n <= c.maxArgs
	}
	return command{}, false
}

func userAdd(ctx context.Context, t *tool, args []string, stdin *os.File, _, stderr io.Writer) error {
	name := args[0]
	if err := sasl.ValidName(name); err != nil {
		return err
	}
	if ok, err := t.Users.Exists(name); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("%w: %s", sasl.ErrUserExists, name)
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if err := t.Users.Add(name, pw); err != nil {
		return err
	}
	return t.Server.EnsureUser(ctx, name)
}

func userPasswd(_ context.Context, t *tool, args []string, stdin *os.File, _, stderr io.Writer) error {
	if err := mustExist(t, args[0]); err != nil {
		return err
	}
	pw, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	return t.Users.SetPassword(args[0], pw)
}

func userDel(ctx context.Context, t *tool, args []string, _ *os.File, _, _ io.Writer) error {
	if err := mustExist(t, args[0]); err != nil {
		return err
	}
	// A user that cannot be deleted keeps their mail.
	if err := t.Users.CanDelete(); err != nil {
		return err
	}
	// Mail first: a failure leaves the user able to log in and retry,
	// rather than mail nobody owns.
	if err := t.Store.DeleteUser(ctx, args[0]); err != nil {
		return err
	}
	if err := t.Server.ForgetURLAuthKeys(args[0]); err != nil {
		return err
	}
	return t.Users.Delete(args[0])
}

func userList(_ context.Context, t *tool, _ []string, _ *os.File, stdout, _ io.Writer) error {
	names, err := t.Users.List()
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return nil
}

func mustExist(t *tool, user string) error {
	ok, err := t.Users.Exists(user)
	if err != nil {
		return err
	}
	if !ok {
		return fail(exitNoUser, "%s: %v", user, imap.ErrNoUser)
	}
	return nil
}

func mailboxCreate(ctx context.Context, t *tool, args []string, _ *os.File, _, _ io.Writer) error {
	who, err := owner(t, args[0]) // acl.go
	if err != nil {
		return err
	}
	if who != ports.SharedOwner {
		if err := t.Server.EnsureUser(ctx, who); err != nil {
			return err
		}
	}
	return t.Store.CreateMailbox(ctx, who, imap.NormalizeMailbox(args[1]))
}

func mailboxDelete(ctx context.Context, t *tool, args []string, _ *os.File, _, _ io.Writer) error {
	who, err := owner(t, args[0])
	if err != nil {
		return err
	}
	return t.Store.DeleteMailbox(ctx, who, imap.NormalizeMailbox(args[1]))
}

func mailboxList(ctx context.Context, t *tool, args []string, _ *os.File, stdout, _ io.Writer) error {
	who, err := owner(t, args[0])
	if err != nil {
		return err
	}
	boxes, err := t.Store.ListMailboxes(ctx, who)
	if err != nil {
		return err
	}
	for _, b := range boxes {
		fmt.Fprintln(stdout, b.Name)
	}
	return nil
}

func deliver(ctx context.Context, t *tool, args []string, stdin *os.File, _, _ io.Writer) error {
	if err := mustExist(t, args[0]); err != nil {
		return err
	}
	mailbox := ""
	if len(args) > 1 {
		mailbox = args[1]
	}
	_, err := t.Server.Deliver(ctx, args[0], mailbox, bufio.NewReader(stdin))
	return err
}

// readPassword reads the new password: from a terminal, typed twice without
// echo; otherwise the first line of standard input.
func readPassword(stdin *os.File, stderr io.Writer) (string, error) {
	fd := int(stdin.Fd())
	if term.IsTerminal(fd) {
		fmt.Fprint(stderr, "Password: ")
		p1, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", fail(exitDataErr, "passwords do not match")
		}
		if len(p1) == 0 {
			return "", fail(exitDataErr, "empty password")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fail(exitDataErr, "empty password (give it on standard input)")
	}
	return line, nil
}
