package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"

	"github.com/imapd-go/imapd/domain/grammar"
	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/preview"
	"github.com/imapd-go/imapd/ports"
)

// OBJECTID (RFC 8474) and PREVIEW (RFC 8970).
//
// A message's EMAILID, THREADID and preview are given at APPEND and kept
// in its structure blob (message.Extras), which every store keeps as it
// is through COPY, MOVE, RENAME and migration: so COPY and MOVE keep the
// EMAILID, as section 5.1 asks. Mailbox ids and the Message-ID index that
// threads new messages are the store's (ports.ObjectIDs).

// StampExtras gives a message being appended, whose structure is st and
// bytes raw, its preview and a new EMAILID. The THREADID comes later
// (ThreadMessage), once the store can be asked.
func StampExtras(st *message.Structure, raw io.ReaderAt) {
	st.SetExtras(message.Extras{
		Preview:    preview.Compute(st, raw),
		HasPreview: true,
		EmailID:    imap.NewObjectID(imap.EmailIDPrefix),
	})
}

// threadMessage gives msg its THREADID (RFC 8474 section 5.2): the thread
// of the first of its Message-ID, In-Reply-To and References that the
// user's index knows, or a new one, so that a reply shares its parent's.
func (s *Server) threadMessage(ctx context.Context, user string, msg *ports.NewMessage) error {
	return ThreadMessage(ctx, s.store, user, msg)
}

// ThreadMessage is threadMessage for programs that append to a store
// without a server (imapctl import). A store without ports.ObjectIDs
// leaves the message without a THREADID (FETCH THREADID answers NIL).
func ThreadMessage(ctx context.Context, store ports.Store, user string, msg *ports.NewMessage) error {
	ids, ok := store.(ports.ObjectIDs)
	if !ok {
		return nil
	}
	st, err := message.Unmarshal(msg.Structure)
	if err != nil {
		return err
	}
	var keys []string
	if hdr, ok := st.Header(); ok {
		keys = message.ThreadKeys(hdr)
	}
	thread, err := ids.AssignThread(ctx, user, keys, imap.NewObjectID(imap.ThreadIDPrefix))
	if err != nil {
		return err
	}
	ext := st.Extras()
	ext.ThreadID = thread
	st.SetExtras(ext)
	msg.Structure, err = st.MarshalBinary()
	return err
}

// objectIDsOf returns the EMAILID and THREADID of a stored message. One
// stored before ids were given gets an EMAILID made from what identifies
// its content (its structure, which holds the header, with its size and
// internal date), the same for its copies, and no THREADID.
func objectIDsOf(rec *ports.MessageRecord) (emailID, threadID string, err error) {
	x, err := message.ExtrasOf(rec.Structure)
	if err != nil {
		return "", "", err
	}
	if x.EmailID != "" {
		return x.EmailID, x.ThreadID, nil
	}
	h := sha256.New()
	h.Write(rec.Structure)
	h.Write(strconv.AppendInt(nil, rec.Size, 10))
	h.Write(strconv.AppendInt([]byte{' '}, rec.InternalDate.Unix(), 10))
	return imap.EmailIDPrefix + hex.EncodeToString(h.Sum(nil)[:12]), x.ThreadID, nil
}

// appendObjectItem appends the FETCH data of EMAILID, THREADID or PREVIEW
// (the response names the item without its modifiers).
func (c *conn) appendObjectItem(b []byte, it grammar.FetchItem, uid imap.UID, rec *ports.MessageRecord, st *message.Structure) ([]byte, error) {
	switch it.Name {
	case "EMAILID", "THREADID":
		e, t, err := objectIDsOf(rec)
		if err != nil {
			return b, err
		}
		id := e
		if it.Name == "THREADID" {
			id = t
		}
		b = append(b, it.Name...)
		if id == "" {
			// RFC 8474 5.2: NIL when the server cannot tell.
			return append(b, " NIL"...), nil
		}
		b = append(b, " ("...)
		b = append(b, id...)
		return append(b, ')'), nil
	}
	// PREVIEW (RFC 8970 section 3).
	b = append(b, "PREVIEW "...)
	x, err := message.ExtrasOf(rec.Structure)
	if err != nil {
		return b, err
	}
	text, ok := x.Preview, x.HasPreview
	if !ok {
		if it.Lazy {
			// Section 3.2: with LAZY, a preview not at hand is NIL,
			// and the client asks again without LAZY when it wants it.
			return append(b, "NIL"...), nil
		}
		// A message stored before previews were kept: computed now.
		if st == nil {
			if st, err = message.Unmarshal(rec.Structure); err != nil {
				return b, err
			}
		}
		raw := &lazyBody{c: c, uid: uid}
		text = preview.Compute(st, raw)
		raw.Close()
	}
	if c.utf8() {
		return imap.AppendUTF8String(b, text), nil
	}
	return imap.AppendString(b, text), nil
}

// objectIDCapability is " OBJECTID" when the store keeps mailbox ids
// (both of ours do), else "".
func (c *conn) objectIDCapability() string {
	if _, ok := c.srv.store.(ports.ObjectIDs); ok {
		return " OBJECTID"
	}
	return ""
}

// mailboxID returns the mailbox's MAILBOXID, or "" when the store keeps
// none.
func (c *conn) mailboxID(m mailbox) (string, error) {
	ids, ok := c.srv.store.(ports.ObjectIDs)
	if !ok {
		return "", nil
	}
	return ids.MailboxID(c.ctx, m.owner, m.name)
}

// mailboxIDCode returns the response code "MAILBOXID (id)" of a mailbox
// (RFC 8474 section 4.1), or "" when the store keeps no ids.
func (c *conn) mailboxIDCode(m mailbox) (string, error) {
	id, err := c.mailboxID(m)
	if err != nil || id == "" {
		return "", err
	}
	return "MAILBOXID (" + id + ")", nil
}

// appendMailboxIDStatus appends the value of the STATUS item MAILBOXID
// (RFC 8474 section 4.3): "(id)", or NIL when the store keeps none.
func (c *conn) appendMailboxIDStatus(b []byte, m mailbox) ([]byte, error) {
	id, err := c.mailboxID(m)
	if err != nil {
		return b, err
	}
	if id == "" {
		return append(b, "NIL"...), nil
	}
	b = append(b, '(')
	b = append(b, id...)
	return append(b, ')'), nil
}
