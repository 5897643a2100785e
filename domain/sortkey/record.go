package sortkey

import (
	"strings"
	"time"

	"github.com/imapd-go/imapd/domain/message"
	"github.com/imapd-go/imapd/domain/search"
)

// Record is what SORT and THREAD compare of one message, computed once
// from the raw header values: every string key is already collated
// (Collate), so comparing two records is comparing strings and numbers.
type Record struct {
	// Sent is the sent date in Unix seconds (RFC 5256: the Date field,
	// or the internal date when it is missing or unreadable); Arrival is
	// the internal date.
	Sent, Arrival int64
	Size          int64
	// Subject is the collated base subject; Reply says whether the
	// subject carried a reply or forward marker.
	Subject string
	Reply   bool
	// From, To and Cc are the collated addr-mailbox of the field's first
	// address ("" when none); DisplayFrom and DisplayTo the collated
	// display name of the first address, or its addr-spec when it has
	// no name (RFC 5957 section 3).
	From, To, Cc           string
	DisplayFrom, DisplayTo string
	// MessageID is the message's msg-id without angle brackets, "" when
	// it has none; Refs the msg-ids of its References field (or, without
	// one, the first of In-Reply-To), oldest first (RFC 5256 REFERENCES
	// step 1).
	MessageID string
	Refs      []string
}

// FromFields computes the Record of a message from its raw header values,
// internal date and size.
func FromFields(f message.SortFields, internal time.Time, size int64) Record {
	r := Record{Arrival: internal.Unix(), Size: size}
	r.Sent = r.Arrival
	if f.HasDate {
		if t := message.ParseDate(f.Date); !t.IsZero() {
			r.Sent = t.Unix()
		}
	}
	base, reply := BaseSubject(search.DecodeWords(f.Subject))
	r.Subject, r.Reply = Collate(base), reply
	var fromName, toName string
	r.From, fromName = firstAddress(f.From)
	r.To, toName = firstAddress(f.To)
	r.Cc, _ = firstAddress(f.Cc)
	r.DisplayFrom, r.DisplayTo = Collate(fromName), Collate(toName)
	r.From, r.To, r.Cc = Collate(r.From), Collate(r.To), Collate(r.Cc)
	if ids := message.MsgIDs(f.MessageID); len(ids) > 0 {
		r.MessageID = ids[0]
	}
	r.Refs = message.MsgIDs(f.References)
	if len(r.Refs) == 0 {
		if ids := message.MsgIDs(f.InReplyTo); len(ids) > 0 {
			r.Refs = ids[:1]
		}
	}
	return r
}

// FromBlob is FromFields on the values a stored structure blob keeps.
func FromBlob(blob []byte, internal time.Time, size int64) (Record, error) {
	f, err := message.StoredSortFields(blob)
	if err != nil {
		return Record{}, err
	}
	return FromFields(f, internal, size), nil
}

// firstAddress returns the addr-mailbox of the first address of an
// address list, and its display form (RFC 5957 section 3: the decoded
// display name, or the addr-spec when there is none). Both are "" when
// the list holds no mailbox (absent, empty, or only an empty group).
func firstAddress(v string) (mailbox, display string) {
	if v == "" {
		return "", ""
	}
	for _, a := range message.ParseAddressList(v) {
		if a.Mailbox == "" && a.Host == "" {
			continue // an empty group
		}
		mailbox = unquote(a.Mailbox)
		if name := strings.TrimSpace(search.DecodeWords(a.Name)); name != "" {
			return mailbox, name
		}
		if a.Host == "" {
			return mailbox, mailbox
		}
		return mailbox, mailbox + "@" + a.Host
	}
	return "", ""
}

// unquote removes the quotes of a quoted local part, as ENVELOPE's
// addr-mailbox carries it.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
