package message

// Extras is what APPEND computes beside the MIME structure and keeps in
// the same stored form, so that it travels with the message wherever the
// structure goes (COPY, MOVE, RENAME of INBOX, migration between stores).
type Extras struct {
	// Preview is the RFC 8970 preview text, UTF-8, at most 256
	// characters; HasPreview is false when none was computed (blobs of
	// format versions before 3, or written without one).
	Preview    string
	HasPreview bool
	// EmailID and ThreadID are the RFC 8474 object identifiers given at
	// APPEND; empty when none was given.
	EmailID, ThreadID string
}

// Extras returns what was kept beside the structure.
func (s *Structure) Extras() Extras {
	if s == nil {
		return Extras{}
	}
	return s.ext
}

// SetExtras replaces what is kept beside the structure; MarshalBinary
// stores it.
func (s *Structure) SetExtras(e Extras) { s.ext = e }

// ExtrasOf returns the Extras kept in a marshalled Structure without
// decoding the rest: the zero Extras for a blob of a format version before
// 3. The strings are copies.
func ExtrasOf(blob []byte) (Extras, error) {
	_, r, err := openBlob(blob)
	return r.ext.extras(), err
}

// extRaw is Extras as a blob holds them, aliasing it: reading a blob for
// its ENVELOPE allocates nothing for them.
type extRaw struct {
	preview, emailID, threadID []byte
	hasPreview                 bool
}

func (r extRaw) extras() Extras {
	return Extras{Preview: string(r.preview), HasPreview: r.hasPreview,
		EmailID: string(r.emailID), ThreadID: string(r.threadID)}
}

func (e *Extras) append(b []byte) []byte {
	if e.HasPreview {
		b = append(b, 1)
		b = appendStr(b, e.Preview)
	} else {
		b = append(b, 0)
	}
	b = appendStr(b, e.EmailID)
	return appendStr(b, e.ThreadID)
}

// extras reads what Extras.append wrote.
func (d *decoder) extras() extRaw {
	var e extRaw
	switch d.uint() {
	case 1:
		e.hasPreview = true
		e.preview = d.bytes()
	case 0:
	default:
		d.fail()
	}
	e.emailID = d.bytes()
	e.threadID = d.bytes()
	return e
}
