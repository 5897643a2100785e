package message

import (
	"bytes"
	"time"
)

// SortFields holds the raw header values that SORT and THREAD (RFC 5256)
// look at, as a stored structure blob keeps them: unfolded and trimmed,
// encoded words not decoded. A field the message lacks is "" with its
// Has bit false.
type SortFields struct {
	Date, Subject, From, To, Cc, InReplyTo, MessageID string
	// References is the top-level References field, "" when absent or
	// when the header was too long to keep in the blob.
	References string
	HasDate    bool
}

// StoredSortFields reads the SortFields of the message whose structure
// MarshalBinary encoded as blob, decoding only the kept header and the
// top-level envelope (no part tree is built).
func StoredSortFields(blob []byte) (SortFields, error) {
	var f SortFields
	d, _, err := openBlob(blob)
	if err != nil {
		return f, err
	}
	var hdr []byte
	switch d.uint() {
	case 1:
		hdr = d.bytes()
	case 0:
	default:
		d.fail()
	}
	var env [envFields]nstr
	d.rootEnvelope(&env)
	if d.err != nil {
		return f, d.err
	}
	f.Date, f.HasDate = env[envDate].s, env[envDate].ok
	f.Subject = env[envSubject].s
	f.From = env[envFrom].s
	f.To = env[envTo].s
	f.Cc = env[envCc].s
	f.InReplyTo = env[envInReplyTo].s
	f.MessageID = env[envMessageID].s
	f.References = headerField(hdr, "references")
	return f, nil
}

// ParseDate parses an RFC 5322 date as SENTBEFORE and SORT read the Date
// field: leniently, the zero time when it cannot be read.
func ParseDate(v string) time.Time { return parseDate(v) }

// headerField returns the first field called name (lower-case) in the
// header hdr, unfolded and trimmed; "" when there is none.
func headerField(hdr []byte, name string) string {
	var out []byte
	in := false
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line, hdr = hdr[:i+1], hdr[i+1:]
		} else {
			hdr = nil
		}
		body := bytes.TrimRight(line, "\r\n")
		if len(body) == 0 {
			break // the blank line ending the header
		}
		if body[0] == ' ' || body[0] == '\t' {
			if in {
				out = append(out, body...)
			}
			continue
		}
		if in {
			break
		}
		if len(body) <= len(name) || !bytes.EqualFold(body[:len(name)], []byte(name)) {
			continue
		}
		if n, v, ok := splitField(body); ok && len(n) == len(name) {
			in = true
			out = append(out, v...)
		}
	}
	return trimWSP(string(out))
}
