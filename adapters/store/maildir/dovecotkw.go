package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

// Keyword letters, as Dovecot's maildir keeps keywords: each mailbox
// folder may hold a file dovecot-keywords of lines "<index> <keyword>",
// and a message file carries the keyword of index i as the lowercase
// letter 'a'+i after ":2,", sorted with the uppercase letters of the
// standard flags ("FSab"). There are 26 letters: a mailbox's further
// keywords live in the index only, as every keyword did before.
//
// The index stays the record of every message's keywords; the letters
// mirror the keywords that have one. Our writes keep both in step: a name
// we give a file carries the letters of its keywords (the mailbox's
// letters are read, and new ones given, first: useLetters). Another
// program's renames are followed like its changes to the standard flags:
// a letter a rename adds is the keyword added, one it drops the keyword
// removed, and keywords whose letters it left alone stay as the index has
// them (so that keywords recorded before they had a letter survive). A
// file another program delivers gets the keywords its letters name.
//
// dovecot-keywords is replaced, never changed in place, as Dovecot does
// it: under the dot-lock dovecot-keywords.lock (created exclusively; one
// older than dotLockStale is taken as left by a crash), which is written
// with the new contents and renamed over the file. Indexes once given
// are never changed: letters in file names keep their meaning.
const (
	dovecotKeywords = "dovecot-keywords"
	dotLockSuffix   = ".lock"
	maxLetters      = 26
)

// dotLockWait bounds the wait for another program's dot-lock;
// dotLockStale is the age past which a dot-lock is taken as stale.
var (
	dotLockWait  = 10 * time.Second
	dotLockStale = 30 * time.Second
)

// letterMap is a mailbox's dovecot-keywords: the keyword of each letter,
// "" where the index is free.
type letterMap struct {
	names  [maxLetters]string
	byFold map[string]byte // folded keyword -> letter, built on first use
}

// validKeyword reports whether a name read from dovecot-keywords is an
// IMAP keyword (RFC 3501 flag-keyword = atom): another program's file is
// not trusted to hold only those.
func validKeyword(k string) bool {
	if !imap.IsKeyword(k) {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseLetters reads dovecot-keywords; lines it cannot read (a bad index,
// one past the letters, an invalid keyword, a name given twice) are
// skipped, as a reader of another program's file must.
func parseLetters(data []byte) *letterMap {
	l := &letterMap{}
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		num, name, ok := strings.Cut(strings.TrimSuffix(string(line), "\r"), " ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || i >= maxLetters || !validKeyword(name) {
			continue
		}
		if _, taken := l.letterOf(name); taken || l.names[i] != "" {
			continue
		}
		l.set(i, name)
	}
	return l
}

// encode writes the map in dovecot-keywords' form.
func (l *letterMap) encode() []byte {
	var b bytes.Buffer
	for i, n := range l.names {
		if n != "" {
			fmt.Fprintf(&b, "%d %s\n", i, n)
		}
	}
	return b.Bytes()
}

// letterOf returns the letter of keyword k, compared without regard to
// case, as IMAP compares keywords.
func (l *letterMap) letterOf(k string) (byte, bool) {
	if l == nil {
		return 0, false
	}
	if l.byFold == nil {
		l.byFold = make(map[string]byte, maxLetters)
		for i, n := range l.names {
			if n != "" {
				l.byFold[imap.FoldFlag(n)] = byte('a' + i)
			}
		}
	}
	c, ok := l.byFold[imap.FoldFlag(k)]
	return c, ok
}

// set gives keyword k the letter of index i.
func (l *letterMap) set(i int, k string) {
	l.names[i] = k
	if l.byFold != nil {
		l.byFold[imap.FoldFlag(k)] = byte('a' + i)
	}
}

// keywordOf returns the keyword of letter c.
func (l *letterMap) keywordOf(c byte) (string, bool) {
	if l == nil || c < 'a' || c >= 'a'+maxLetters || l.names[c-'a'] == "" {
		return "", false
	}
	return l.names[c-'a'], true
}

// readLetters reads the folder's dovecot-keywords; none is an empty map.
func readLetters(dir string) (*letterMap, error) {
	data, err := readFile(dir + "/" + dovecotKeywords)
	if errors.Is(err, os.ErrNotExist) {
		return &letterMap{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseLetters(data), nil
}

// withLetters adds to file, named by fileFor, the letters of the keywords
// among flags that have one in l, keeping the info letters sorted.
func withLetters(file string, flags []string, l *letterMap) string {
	if l == nil {
		return file
	}
	var add []byte
	for _, f := range flags {
		if c, ok := l.letterOf(f); ok && imap.IsKeyword(f) && bytes.IndexByte(add, c) < 0 {
			add = append(add, c)
		}
	}
	if len(add) == 0 {
		return file
	}
	slices.Sort(add)
	// fileFor's letters are uppercase: every lowercase one sorts after.
	return file + string(add)
}

// fileFor is the package's fileFor with the keyword letters of the
// mailbox, as useLetters last read them.
func (m *mailbox) fileFor(unique string, flags []string) string {
	return withLetters(fileFor(unique, flags), flags, m.letters)
}

// infoLetters returns the keyword letters of a file name's info, sorted.
func infoLetters(file string) string {
	_, info := splitFile(file)
	var out []byte
	for i := 0; i < len(info); i++ {
		if c := info[i]; c >= 'a' && c < 'a'+maxLetters && bytes.IndexByte(out, c) < 0 {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return string(out)
}

// useLetters reads the mailbox's letters into m.letters (once per
// operation: indexes once given never change), for the names given to
// files with the keywords among the flag lists, and gives a letter to each
// of those keywords that has none while letters are free, rewriting
// dovecot-keywords, in the case the mailbox x has the keyword in already,
// if any (the case first set). The caller holds the mailbox lock. It
// returns the keywords given a letter now. Without keywords it does
// nothing: names without keywords have no letters.
func (m *mailbox) useLetters(x *index, lists ...[]string) ([]string, error) {
	var want []string
	seen := make(map[string]bool)
	for _, fl := range lists {
		for _, f := range fl {
			if imap.IsKeyword(f) && !seen[imap.FoldFlag(f)] {
				seen[imap.FoldFlag(f)] = true
				want = append(want, f)
			}
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	if m.letters == nil {
		l, err := readLetters(m.path)
		if err != nil {
			return nil, err
		}
		m.letters = l
	}
	if !needsLetter(m.letters, want) {
		return nil, nil
	}
	var given []string
	err := replaceLetters(m.path, func(l *letterMap) bool {
		given = given[:0]
		for _, k := range want {
			if _, ok := l.letterOf(k); ok {
				continue
			}
			i := slices.Index(l.names[:], "")
			if i < 0 {
				break // the rest stay in the index only
			}
			l.set(i, mailboxCase(x, k))
			given = append(given, k)
		}
		m.letters = l
		return len(given) > 0
	})
	return given, err
}

// mailboxCase returns keyword k in the case the oldest message of x that
// has it has it in; as given if none has it.
func mailboxCase(x *index, k string) string {
	for i := range x.msgs.len() {
		for _, f := range x.msgs.at(i).flags {
			if strings.EqualFold(f, k) {
				return f
			}
		}
	}
	return k
}

// needsLetter reports whether a keyword of want has no letter while one
// is free.
func needsLetter(l *letterMap, want []string) bool {
	if !slices.Contains(l.names[:], "") {
		return false
	}
	for _, k := range want {
		if _, ok := l.letterOf(k); !ok {
			return true
		}
	}
	return false
}

// replaceLetters changes dovecot-keywords under its dot-lock: change gets
// the map as it is on disk once locked and reports whether it changed it;
// the new map is written into the lock file, made durable and renamed over
// dovecot-keywords, which also releases the lock.
func replaceLetters(dir string, change func(*letterMap) bool) error {
	path := dir + "/" + dovecotKeywords
	lockPath := path + dotLockSuffix
	f, err := dotLock(lockPath)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(lockPath)
		}
	}()
	l, err := readLetters(dir)
	if err != nil {
		return err
	}
	if !change(l) {
		return nil
	}
	if _, err := f.Write(l.encode()); err != nil {
		return err
	}
	if err := fsync(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(lockPath, path); err != nil {
		return err
	}
	done = true
	return syncDir(dir)
}

// dotLock creates the dot-lock file exclusively, waiting while another
// program holds it, and removing one older than dotLockStale.
func dotLock(path string) (*os.File, error) {
	deadline := time.Now().Add(dotLockWait)
	pause := time.Millisecond
	for {
		f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > dotLockStale {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: held by another program for %v", path, dotLockWait)
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// letterCarriers renames the files of messages of x that carry one of the
// keywords just given a letter (recorded before it had one) so that their
// names carry it too; their flags do not change. The caller holds the lock
// and has m.letters from useLetters; skip, if not nil, leaves positions
// out.
func letterCarriers(m *mailbox, x *index, given []string, skip func(int) bool) (bool, error) {
	if len(given) == 0 {
		return false, nil
	}
	renamed := false
	for i := range x.msgs.len() {
		e := x.msgs.at(i)
		if skip != nil && skip(i) {
			continue
		}
		if !slices.ContainsFunc(e.flags, func(f string) bool {
			return slices.ContainsFunc(given, func(g string) bool { return strings.EqualFold(f, g) })
		}) {
			continue
		}
		unique, _ := splitFile(e.file)
		file := m.fileFor(unique, e.flags)
		if file == e.file {
			continue
		}
		if err := os.Rename(m.cur()+"/"+e.file, m.cur()+"/"+file); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // gone or renamed meanwhile: the next scan sees it
			}
			return renamed, err
		}
		e = x.msgs.mut(i)
		e.file = file
		renamed = true
	}
	return renamed, nil
}

// letterReader follows, for one scan of a mailbox, the keyword letters of
// file names another program gave: read from dovecot-keywords at most
// once, and only when a name's letters need reading.
type letterReader struct {
	dir   string
	x     *index
	l     *letterMap
	cases map[string]string // folded keyword -> the case the mailbox has
}

func (r *letterReader) load() error {
	if r.l != nil {
		return nil
	}
	l, err := readLetters(r.dir)
	r.l = l
	return err
}

// cased returns keyword k in the case the mailbox has it in already (the
// case it was first set in), or as given.
func (r *letterReader) cased(k string) string {
	if r.cases == nil {
		r.cases = make(map[string]string)
		for i := range r.x.msgs.len() {
			for _, f := range r.x.msgs.at(i).flags {
				if imap.IsKeyword(f) {
					if _, ok := r.cases[imap.FoldFlag(f)]; !ok {
						r.cases[imap.FoldFlag(f)] = f
					}
				}
			}
		}
	}
	if c, ok := r.cases[imap.FoldFlag(k)]; ok {
		return c
	}
	r.cases[imap.FoldFlag(k)] = k
	return k
}

// follow returns the keywords of a message whose file was renamed from
// old to new outside: those whose letters the rename added join kws,
// those whose letters it dropped leave it.
func (r *letterReader) follow(kws []string, old, new string) ([]string, error) {
	was, is := infoLetters(old), infoLetters(new)
	if was == is {
		return kws, nil
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	out := slices.Clone(kws)
	for i := 0; i < len(was); i++ {
		if strings.IndexByte(is, was[i]) < 0 {
			if k, ok := r.l.keywordOf(was[i]); ok {
				out = slices.DeleteFunc(out, func(f string) bool { return strings.EqualFold(f, k) })
			}
		}
	}
	for i := 0; i < len(is); i++ {
		if strings.IndexByte(was, is[i]) < 0 {
			if k, ok := r.l.keywordOf(is[i]); ok && !slices.ContainsFunc(out, func(f string) bool { return strings.EqualFold(f, k) }) {
				out = append(out, r.cased(k))
			}
		}
	}
	return out, nil
}

// named returns the keywords the letters of a file's name give it, for a
// file another program delivered.
func (r *letterReader) named(file string) ([]string, error) {
	return r.follow(nil, "", file)
}

// LetterKeywords returns the keywords the dovecot-keywords file of the
// maildir folder dir names, by letter ('a' for index 0): what the
// lowercase letters after ":2," in its file names stand for. A folder
// without the file has none.
func LetterKeywords(dir string) (map[byte]string, error) {
	l, err := readLetters(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[byte]string)
	for i, n := range l.names {
		if n != "" {
			out[byte('a'+i)] = n
		}
	}
	return out, nil
}
