package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imapd-go/imapd/adapters/store/maildir"
	"github.com/imapd-go/imapd/app"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/ports"
)

// importMail appends the messages of an mbox file, or of a maildir folder
// written by other software, to a user's mailbox (created if missing).
func importMail(ctx context.Context, t *tool, args []string, _ *os.File, stdout, stderr io.Writer) error {
	user, box, path := args[0], imap.NormalizeMailbox(args[1]), args[2]
	if err := mustExist(t, user); err != nil {
		return err
	}
	if err := t.Store.EnsureUser(ctx, user); err != nil {
		return err
	}
	if err := t.Store.CreateMailbox(ctx, user, box); err != nil && !errors.Is(err, imap.ErrAlreadyExists) {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(exitDataErr, "%v", err)
	}
	var msgs []imported
	if fi.IsDir() {
		msgs, err = readMaildir(path)
	} else {
		msgs, err = readMbox(path)
	}
	if err != nil {
		return fail(exitDataErr, "%s: %v", path, err)
	}
	prog := newProgress(stderr, "import "+user+" "+box, len(msgs))
	var skipped []int
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		msg, err := m.message()
		if errors.Is(err, message.ErrNUL) {
			// IMAP cannot serve it (as APPEND would refuse it): the rest
			// of the folder is still worth importing.
			skipped = append(skipped, i+1)
			prog.add(1)
			continue
		}
		if err != nil {
			return err
		}
		if err := app.ThreadMessage(ctx, t.Store, user, &msg); err != nil {
			return err
		}
		if _, err := t.Store.Append(ctx, user, box, msg); err != nil {
			return err
		}
		prog.add(1)
	}
	prog.finish()
	fmt.Fprintf(stdout, "imported %d messages into %s of %s\n", len(msgs)-len(skipped), box, user)
	if len(skipped) > 0 {
		fmt.Fprintf(stdout, "skipped %d messages holding NUL bytes that no encoding can carry (numbers %v)\n", len(skipped), skipped)
	}
	return nil
}

// imported is one message read from an mbox or a maildir.
type imported struct {
	body  []byte // with CRLF line ends
	flags []string
	date  time.Time
}

// message returns what the store is given: the message in the form IMAP
// can serve (see message.ForStore) and the structure of that form.
func (m imported) message() (ports.NewMessage, error) {
	st, err := message.Parse(bytes.NewReader(m.body))
	if err != nil {
		return ports.NewMessage{}, err
	}
	r, _, changed, err := message.ForStore(st, bytes.NewReader(m.body))
	if err != nil {
		return ports.NewMessage{}, err
	}
	if changed {
		if m.body, err = io.ReadAll(r); err != nil {
			return ports.NewMessage{}, err
		}
		if st, err = message.Parse(bytes.NewReader(m.body)); err != nil {
			return ports.NewMessage{}, err
		}
	}
	app.StampExtras(st, bytes.NewReader(m.body))
	blob, err := st.MarshalBinary()
	if err != nil {
		return ports.NewMessage{}, err
	}
	msg := ports.NewMessage{Flags: m.flags, InternalDate: m.date, Size: int64(len(m.body)),
		Body: bytes.NewReader(m.body), Structure: blob}
	app.StampSortRecord(&msg)
	return msg, nil
}

// crlf gives every line a CRLF end, as IMAP messages have (RFC 5322).
func crlf(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/40)
	for i := 0; i < len(b); i++ {
		if b[i] == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, b[i])
	}
	return out
}

// maildirLetters maps the info letters of maildir file names to flags.
var maildirLetters = map[rune]string{
	'D': imap.FlagDraft, 'F': imap.FlagFlagged, 'R': imap.FlagAnswered, 'S': imap.FlagSeen, 'T': imap.FlagDeleted,
}

// readMaildir reads the messages of a maildir folder (cur/ and new/), in
// the order of their modification times, which are their dates; the
// lowercase letters of the file names are the keywords the folder's
// dovecot-keywords names, as Dovecot writes them.
func readMaildir(dir string) ([]imported, error) {
	keywords, err := maildir.LetterKeywords(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		path  string
		mtime time.Time
		info  string
	}
	var files []file
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("not a maildir: %w", err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				return nil, err
			}
			_, info, _ := strings.Cut(e.Name(), ":2,")
			files = append(files, file{filepath.Join(dir, sub, e.Name()), fi.ModTime(), info})
		}
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	out := make([]imported, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, err
		}
		m := imported{body: crlf(b), date: f.mtime}
		for _, c := range f.info {
			if fl, ok := maildirLetters[c]; ok {
				m.flags = append(m.flags, fl)
			} else if kw, ok := keywords[byte(c)]; ok && c < 0x80 {
				m.flags = append(m.flags, kw)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// readMbox splits an mbox file at its "From " lines, undoes the ">From "
// quoting (one '>' less before any run of '>' and "From "), takes the date
// from the From_ line and flags from the Status and X-Status fields.
func readMbox(path string) ([]imported, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []imported
	var cur *imported
	var body bytes.Buffer
	inHeader := false
	flush := func() {
		if cur != nil {
			b := body.Bytes()
			// The blank line before the next From_ line belongs to the
			// mbox, not to the message.
			if bytes.HasSuffix(b, []byte("\n\n")) || bytes.HasSuffix(b, []byte("\n\r\n")) {
				b = b[:len(b)-1]
				b = bytes.TrimSuffix(b, []byte("\r"))
			}
			cur.body = crlf(bytes.Clone(b))
			out = append(out, *cur)
		}
		body.Reset()
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			switch {
			case bytes.HasPrefix(line, []byte("From ")):
				flush()
				cur = &imported{date: fromLineDate(string(line))}
				inHeader = true
			case cur == nil:
				if len(bytes.TrimSpace(line)) > 0 {
					return nil, errors.New("not an mbox file: no From line first")
				}
			default:
				if inHeader {
					t := strings.TrimRight(string(line), "\r\n")
					if t == "" {
						inHeader = false
					} else {
						cur.flags = append(cur.flags, statusFlags(t)...)
					}
				}
				if q := bytes.TrimLeft(line, ">"); len(q) < len(line) && bytes.HasPrefix(q, []byte("From ")) {
					line = line[1:]
				}
				body.Write(line)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	flush()
	return out, nil
}

// fromLineDate reads the date of a From_ line ("From sender Tue Jun  4
// 10:00:00 2024"); the time of the import when it has none.
func fromLineDate(line string) time.Time {
	f := strings.Fields(line)
	if len(f) >= 7 {
		if t, err := time.Parse(time.ANSIC, strings.Join(f[2:7], " ")); err == nil {
			return t
		}
	}
	return time.Now()
}

// statusFlags returns the flags that a Status or X-Status header field
// stands for, as mail readers write them.
func statusFlags(field string) []string {
	name, value, ok := strings.Cut(field, ":")
	if !ok {
		return nil
	}
	value = strings.TrimSpace(value)
	var out []string
	switch strings.ToLower(name) {
	case "status":
		if strings.Contains(value, "R") {
			out = append(out, imap.FlagSeen)
		}
	case "x-status":
		for c, fl := range map[byte]string{'A': imap.FlagAnswered, 'F': imap.FlagFlagged, 'T': imap.FlagDraft, 'D': imap.FlagDeleted} {
			if strings.IndexByte(value, c) >= 0 {
				out = append(out, fl)
			}
		}
	}
	return out
}
