package app

import (
	"errors"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/session"
	"github.com/imapd-go/imapd/ports"
)

// fetchBatch bounds how many message records are held at once.
const fetchBatch = 500

// resolve turns the command's set into sequence numbers: UIDs for the UID
// form, message numbers otherwise (RFC 3501: a number that does not exist
// is BAD).
func (c *conn) resolve(cmd *grammar.Command, set imap.NumSet, saved bool) ([]uint32, error) {
	v := c.sel.view
	if saved {
		// RFC 5182: "$" is the saved result, a set of UIDs; messages
		// expunged since simply drop out.
		var seqs []uint32
		for seq := uint32(1); seq <= v.Len(); seq++ {
			if c.saved[v.Entry(seq).UID] {
				seqs = append(seqs, seq)
			}
		}
		return seqs, nil
	}
	if cmd.UID {
		return v.UIDSeqs(set), nil
	}
	seqs, ok := v.Seqs(set)
	if !ok {
		return nil, bad("Invalid sequence number")
	}
	return seqs, nil
}

func cmdFetch(c *conn, cmd *grammar.Command) (result, error) {
	args := cmd.Args.(*grammar.FetchArgs)
	seqs, err := c.resolve(cmd, args.Set, args.SavedResult)
	if err != nil {
		return result{}, err
	}
	items := args.Items
	if args.Vanished && !c.qresync() {
		return result{}, bad("VANISHED needs QRESYNC enabled")
	}
	if hasItem(items, "MODSEQ") || args.ChangedSince > 0 {
		c.enableCondstore() // RFC 7162 3.1: a CONDSTORE enabling command
	}
	if args.ChangedSince > 0 {
		// RFC 7162 3.1.4.1: only messages changed since, with MODSEQ.
		kept := seqs[:0]
		for _, seq := range seqs {
			if c.sel.view.Entry(seq).ModSeq > args.ChangedSince {
				kept = append(kept, seq)
			}
		}
		seqs = kept
		if !hasItem(items, "MODSEQ") {
			items = append(items, grammar.FetchItem{Name: "MODSEQ"})
		}
		if args.Vanished {
			if err := c.vanishedSince(args.Set, args.ChangedSince); err != nil {
				return result{}, err
			}
		}
	}
	if args.Partial != nil {
		// RFC 9394 3.3: only the messages at these positions among those
		// named (and changed, with CHANGEDSINCE, RFC 9394 3.4).
		from, to := args.Partial.Window(len(seqs))
		seqs = seqs[from:to]
	}
	if cmd.UID && !hasItem(items, "UID") {
		// RFC 3501 6.4.8: UID FETCH always returns the UID.
		items = append([]grammar.FetchItem{{Name: "UID"}}, items...)
	}
	needRecord, setsSeen := false, false
	for _, it := range items {
		switch it.Name {
		case "UID", "FLAGS", "MODSEQ":
		default:
			needRecord = true
		}
		if (it.Section != nil && !it.Peek && it.Name != "BINARY.SIZE") || it.Name == "RFC822" || it.Name == "RFC822.TEXT" {
			setsSeen = true
		}
	}
	if setsSeen && c.sel.readOnly {
		setsSeen = false
	}
	if setsSeen && !hasItem(items, "FLAGS") {
		items = append(items, grammar.FetchItem{Name: "FLAGS"})
		if c.condstore && !hasItem(items, "MODSEQ") {
			items = append(items, grammar.FetchItem{Name: "MODSEQ"})
		}
	}
	for start := 0; start < len(seqs); start += fetchBatch {
		end := min(start+fetchBatch, len(seqs))
		if err := c.fetchBatch(seqs[start:end], items, needRecord, setsSeen); err != nil {
			return result{}, err
		}
	}
	return result{}, nil
}

func hasItem(items []grammar.FetchItem, name string) bool {
	for _, it := range items {
		if it.Name == name {
			return true
		}
	}
	return false
}

func (c *conn) fetchBatch(seqs []uint32, items []grammar.FetchItem, needRecord, setsSeen bool) error {
	v := c.sel.view
	uids := make([]imap.UID, len(seqs))
	for i, seq := range seqs {
		uids[i] = v.Entry(seq).UID
	}
	// RFC 4314 section 4: a body FETCH sets \Seen only with "s"; a
	// reader who does not own the mailbox sets their own (shared.go).
	if setsSeen && c.sel.rights.Has(imap.RightSeen) {
		var unseen []imap.UID
		for _, seq := range seqs {
			e := v.Entry(seq)
			if !imap.HasFlag(e.Flags, imap.FlagSeen) && !v.IsGhost(e.UID) {
				unseen = append(unseen, e.UID)
			}
		}
		if len(unseen) > 0 && c.sel.seenKey != "" {
			if _, err := c.setSeenFor(unseen, true); err != nil {
				return err
			}
		} else if len(unseen) > 0 {
			metas, err := c.srv.store.UpdateFlags(c.ctx, c.sel.owner, c.sel.name, unseen, ports.FlagsAdd, []string{imap.FlagSeen})
			if err != nil {
				return err
			}
			for _, m := range metas {
				v.SetFlags(m.UID, m.Flags, m.ModSeq)
			}
		}
	}
	var recs []ports.MessageRecord
	if needRecord {
		var err error
		if recs, err = c.srv.store.Fetch(c.ctx, c.sel.owner, c.sel.name, uids); err != nil {
			return err
		}
	}
	tree := needsTree(items)
	pre := c.bodyBatcher(items)
	defer pre.close()
	next := 0 // where the record of the next message usually is
	for k, seq := range seqs {
		if err := pre.open(c, seqs, k); err != nil {
			return err
		}
		e := v.Entry(seq)
		var rec *ports.MessageRecord
		if needRecord {
			// The records come in UID order (ports.Store.Fetch), as
			// ascending sequence numbers do.
			i := next
			if i >= len(recs) || recs[i].UID != e.UID {
				i = sort.Search(len(recs), func(i int) bool { return recs[i].UID >= e.UID })
			}
			if i == len(recs) || recs[i].UID != e.UID {
				continue // expunged by another session meanwhile
			}
			rec, next = &recs[i], i+1
		}
		if err := c.fetchOne(seq, e.UID, rec, items, tree, pre.take(k)); err != nil {
			return err
		}
	}
	return nil
}

// lazyBody opens a message's bytes on first use.
type lazyBody struct {
	c    *conn
	uid  imap.UID
	once sync.Once
	body ports.MessageBody
	err  error
}

func (l *lazyBody) ReadAt(p []byte, off int64) (int, error) {
	l.once.Do(func() { l.body, l.err = l.c.srv.store.Open(l.c.ctx, l.c.sel.owner, l.c.sel.name, l.uid) })
	if l.err != nil {
		return 0, l.err
	}
	return l.body.ReadAt(p, off)
}

func (l *lazyBody) Close() {
	if l.body != nil {
		l.body.Close()
	}
}

// fetchOne writes one message's FETCH response; tree says whether items
// need the decoded structure (needsTree, decided once per command).
// A body opened beforehand (bodyBatch) comes as opened.
func (c *conn) fetchOne(seq uint32, uid imap.UID, rec *ports.MessageRecord, items []grammar.FetchItem, tree bool, opened ports.MessageBody) error {
	var raw *lazyBody
	if tree || slices.ContainsFunc(items, wholeMessage) {
		// Only items that take the decoded structure, or the whole
		// message, read the message.
		raw = &lazyBody{c: c, uid: uid}
		if opened != nil {
			raw.body = opened
			raw.once.Do(func() {})
		}
	} else if opened != nil {
		opened.Close()
	}
	c.takeFetchBuf()
	b, err := c.appendFetch(c.fetchBuf[:0], seq, uid, rec, items, tree, raw)
	if raw != nil {
		raw.Close()
	}
	// Keep the buffer for the next message unless one huge response grew
	// it.
	if cap(b) <= 64<<10 {
		c.fetchBuf = b[:0]
	}
	return err
}

// appendFetch builds one message's FETCH response in b and writes it, a
// literal's text as soon as it comes; it returns b for reuse.
func (c *conn) appendFetch(b []byte, seq uint32, uid imap.UID, rec *ports.MessageRecord, items []grammar.FetchItem, tree bool, raw *lazyBody) ([]byte, error) {
	var st *message.Structure
	if rec != nil && tree {
		var err error
		if st, err = message.Unmarshal(rec.Structure); err != nil {
			return b, err
		}
	}
	b = append(b, "* "...)
	b = strconv.AppendUint(b, uint64(seq), 10)
	b = append(b, " FETCH ("...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		switch it.Name {
		case "UID":
			b = append(b, "UID "...)
			b = strconv.AppendUint(b, uint64(uid), 10)
		case "FLAGS":
			b = append(b, "FLAGS "...)
			b = c.appendFlags(b, c.sel.view.Entry(seq))
		case "INTERNALDATE":
			b = append(b, "INTERNALDATE "...)
			b = grammar.AppendDateTime(b, rec.InternalDate)
		case "SAVEDATE":
			// RFC 8514: NIL when the store does not know it.
			b = append(b, "SAVEDATE "...)
			if rec.SaveDate.IsZero() {
				b = append(b, "NIL"...)
			} else {
				b = grammar.AppendDateTime(b, rec.SaveDate)
			}
		case "RFC822.SIZE":
			b = append(b, "RFC822.SIZE "...)
			b = strconv.AppendInt(b, rec.Size, 10)
		case "ENVELOPE":
			b = append(b, "ENVELOPE "...)
			if st != nil {
				b = st.AppendEnvelope(b)
			} else {
				var err error
				if b, err = message.AppendEnvelopeOf(b, rec.Structure); err != nil {
					return b, err
				}
			}
		case "BODYSTRUCTURE":
			b = append(b, "BODYSTRUCTURE "...)
			if st != nil {
				b = st.AppendBodyStructure(b, true)
			} else {
				var err error
				if b, err = message.AppendBodyStructureOf(b, rec.Structure); err != nil {
					return b, err
				}
			}
		case "EMAILID", "THREADID", "PREVIEW":
			var err error
			if b, err = c.appendObjectItem(b, it, uid, rec, st); err != nil {
				return b, err
			}
		case "MODSEQ":
			b = append(b, "MODSEQ ("...)
			b = strconv.AppendUint(b, c.sel.view.Entry(seq).ModSeq, 10)
			b = append(b, ')')
		case "BINARY.SIZE":
			_, n, err := st.Decoded(raw, it.Section.Path)
			if err != nil {
				return b, cteError(err)
			}
			b = append(b, "BINARY.SIZE["...)
			b = appendPath(b, it.Section.Path)
			b = append(b, "] "...)
			b = strconv.AppendInt(b, n, 10)
		case "BINARY":
			r, n, err := st.Decoded(raw, it.Section.Path)
			if err != nil {
				return b, cteError(err)
			}
			if it.Partial != nil {
				r, n = partial(r, n, *it.Partial)
			}
			b = append(b, "BINARY["...)
			b = appendPath(b, it.Section.Path)
			b = append(b, ']')
			if it.Partial != nil {
				b = append(b, '<')
				b = strconv.AppendInt(b, it.Partial.Offset, 10)
				b = append(b, '>')
			}
			// RFC 3516 4.4: decoded content may hold NUL, so always literal8.
			b = append(b, ' ')
			c.w.Raw(b)
			c.w.Literal8(r, n)
			if err := c.w.Err(); err != nil {
				return b, err
			}
			b = b[:0]
		case "BODY":
			if it.Section == nil {
				b = append(b, "BODY "...)
				b = st.AppendBodyStructure(b, false)
				break
			}
			fallthrough
		default:
			sec, name := sectionOf(it)
			var r io.Reader
			var n int64
			var err error
			if st == nil && wholeMessage(it) {
				// The message's bytes as stored, from 0 to the end: what
				// Section returns for them, without decoding the structure.
				r, n = io.NewSectionReader(raw, 0, rec.Size), rec.Size
			} else if r, n, err = st.Section(raw, sec); err != nil {
				return b, err
			}
			if it.Partial != nil {
				r, n = partial(r, n, *it.Partial)
			}
			b = append(b, name...)
			b = append(b, ' ')
			c.w.Raw(b)
			c.w.Literal(r, n)
			if err := c.w.Err(); err != nil {
				return b, err
			}
			b = b[:0]
		}
	}
	b = append(b, ")\r\n"...)
	c.w.Raw(b)
	return b, c.w.Err()
}

// appendFlags appends a message's flags as this session shows them, as
// grammar.AppendFlags(b, c.flagsOf(e)) does, without building the list.
func (c *conn) appendFlags(b []byte, e session.Entry) []byte {
	b = grammar.AppendFlags(b, e.Flags)
	if c.sel.view.IsRecent(e.UID) && !c.rev2() {
		b = b[:len(b)-1] // the closing parenthesis
		if b[len(b)-1] != '(' {
			b = append(b, ' ')
		}
		b = append(b, imap.FlagRecent...)
		b = append(b, ')')
	}
	return b
}

// needsTree reports whether answering items takes the message's decoded
// structure: all but the record's own fields, ENVELOPE and BODYSTRUCTURE,
// which are read straight from the stored form (where it holds them
// rendered).
func needsTree(items []grammar.FetchItem) bool {
	for _, it := range items {
		switch it.Name {
		case "UID", "FLAGS", "MODSEQ", "INTERNALDATE", "SAVEDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE",
			"EMAILID", "THREADID", "PREVIEW":
		default:
			if !wholeMessage(it) {
				return true
			}
		}
	}
	return false
}

// wholeMessage reports whether it reads the whole message as stored
// (RFC822, BODY[] and BODY.PEEK[], with or without <partial>), whose
// bytes run from 0 to the record's size.
func wholeMessage(it grammar.FetchItem) bool {
	switch it.Name {
	case "RFC822":
		return true
	case "BODY[]":
		return it.Section != nil && len(it.Section.Path) == 0 && it.Section.Specifier == "" && len(it.Section.Fields) == 0
	}
	return false
}

// sectionOf returns the section an item reads and the name the response
// gives it (RFC 3501 7.4.2).
func sectionOf(it grammar.FetchItem) (message.Section, string) {
	switch it.Name {
	case "RFC822":
		return message.Section{}, "RFC822"
	case "RFC822.HEADER":
		return message.Section{Specifier: "HEADER"}, "RFC822.HEADER"
	case "RFC822.TEXT":
		return message.Section{Specifier: "TEXT"}, "RFC822.TEXT"
	}
	sec := *it.Section
	var b strings.Builder
	b.WriteString("BODY[")
	for i, p := range sec.Path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(p))
	}
	if sec.Specifier != "" {
		if len(sec.Path) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(sec.Specifier)
	}
	if len(sec.Fields) > 0 {
		// header-fld-name is an astring: echo each one as such, quoted
		// when it holds a "]" that a client could take for the section's
		// end.
		b.WriteString(" (")
		for i, f := range sec.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.Write(imap.AppendAtomOrString(nil, f))
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
	if it.Partial != nil {
		b.WriteByte('<')
		b.WriteString(strconv.FormatInt(it.Partial.Offset, 10))
		b.WriteByte('>')
	}
	return sec, b.String()
}

// partial applies <origin.count>: bytes past the end give an empty string.
func partial(r io.Reader, n int64, p message.Partial) (io.Reader, int64) {
	if p.Offset >= n {
		return strings.NewReader(""), 0
	}
	if sk, ok := r.(io.Seeker); ok {
		if _, err := sk.Seek(p.Offset, io.SeekCurrent); err != nil {
			return strings.NewReader(""), 0
		}
	} else if _, err := io.CopyN(io.Discard, r, p.Offset); err != nil {
		return strings.NewReader(""), 0
	}
	n -= p.Offset
	if p.Count < n {
		n = p.Count
	}
	return io.LimitReader(r, n), n
}

func appendPath(b []byte, path []int) []byte {
	for i, p := range path {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(p), 10)
	}
	return b
}

// cteError maps a part the server cannot decode to NO [UNKNOWN-CTE].
func cteError(err error) error {
	if errors.Is(err, message.ErrUnknownCTE) {
		return &grammar.Error{Status: "NO", Code: "UNKNOWN-CTE", Text: "Cannot decode this part's content transfer encoding"}
	}
	return err
}

// vanishedSince reports UIDs in set expunged after modseq (RFC 7162
// 3.2.6: UID FETCH ... (CHANGEDSINCE n VANISHED)).
func (c *conn) vanishedSince(set imap.NumSet, modseq uint64) error {
	ch, err := c.srv.store.ChangesSince(c.ctx, c.sel.owner, c.sel.name, modseq)
	if err != nil {
		return err
	}
	star := uint32(c.sel.view.MaxUID())
	var gone []imap.UID
	for _, uid := range ch.Expunged {
		if set.Contains(uint32(uid), star) && c.sel.view.SeqOf(uid) == 0 {
			gone = append(gone, uid)
		}
	}
	if len(gone) > 0 {
		c.w.Untagged("VANISHED (EARLIER) " + imap.SetOfUIDs(gone))
	}
	return nil
}
