package message

import (
	"strconv"

	"github.com/imapd-go/imapd/domain/imap"
)

// Envelope returns the ENVELOPE of the message, rendered as in a FETCH
// response (RFC 3501 section 7.4.2).
func (s *Structure) Envelope() []byte { return s.AppendEnvelope(nil) }

// AppendEnvelope appends the ENVELOPE of the message to b, so that a FETCH
// response is built in one buffer.
func (s *Structure) AppendEnvelope(b []byte) []byte {
	if s == nil || s.root == nil {
		return appendEnvelope(b, nil)
	}
	if s.envText != nil {
		return append(b, s.envText...)
	}
	return appendEnvelope(b, s.root.env)
}

// BodyStructure returns BODYSTRUCTURE (extended) or BODY (not extended)
// rendered as in a FETCH response (RFC 3501 section 7.4.2).
func (s *Structure) BodyStructure(extended bool) []byte {
	return s.AppendBodyStructure(nil, extended)
}

// AppendBodyStructure appends BODYSTRUCTURE (extended) or BODY to b.
func (s *Structure) AppendBodyStructure(b []byte, extended bool) []byte {
	if s == nil || s.root == nil {
		return appendBody(b, emptyPart(0), extended)
	}
	if extended && s.bsText != nil {
		return append(b, s.bsText...)
	}
	return appendBody(b, s.root, extended)
}

func appendEnvelope(b []byte, env *[envFields]nstr) []byte {
	var e [envFields]nstr
	if env != nil {
		e = *env
	}
	b = append(b, '(')
	b = imap.AppendNString(b, e[envDate].s, e[envDate].ok)
	b = append(b, ' ')
	b = imap.AppendNString(b, e[envSubject].s, e[envSubject].ok)
	from := parseAddrField(e[envFrom])
	for _, f := range [...]int{envFrom, envSender, envReplyTo, envTo, envCc, envBcc} {
		b = append(b, ' ')
		as := from
		if f != envFrom {
			as = parseAddrField(e[f])
		}
		if len(as) == 0 && (f == envSender || f == envReplyTo) {
			as = from // RFC 3501 7.4.2: sender and reply-to default to from
		}
		b = appendAddresses(b, as)
	}
	b = append(b, ' ')
	b = imap.AppendNString(b, e[envInReplyTo].s, e[envInReplyTo].ok)
	b = append(b, ' ')
	b = imap.AppendNString(b, e[envMessageID].s, e[envMessageID].ok)
	return append(b, ')')
}

func parseAddrField(v nstr) []address {
	if !v.ok {
		return nil
	}
	return parseAddressList(v.s)
}

func appendAddresses(b []byte, as []address) []byte {
	if len(as) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range as {
		b = append(b, '(')
		b = imap.AppendNString(b, a.name.s, a.name.ok)
		b = append(b, ' ')
		b = imap.AppendNString(b, a.adl.s, a.adl.ok)
		b = append(b, ' ')
		b = imap.AppendNString(b, a.mailbox.s, a.mailbox.ok)
		b = append(b, ' ')
		b = imap.AppendNString(b, a.host.s, a.host.ok)
		b = append(b, ')')
	}
	return append(b, ')')
}

func appendParams(b []byte, ps []kv) []byte {
	if len(ps) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = imap.AppendString(b, p.k)
		b = append(b, ' ')
		b = imap.AppendString(b, p.v)
	}
	return append(b, ')')
}

// appendExt appends the extension data common to both body kinds after
// the md5 or parameters: disposition, language, location.
func appendExt(b []byte, p *part) []byte {
	b = append(b, ' ')
	if p.disp.ok {
		b = append(b, '(')
		b = imap.AppendString(b, p.disp.s)
		b = append(b, ' ')
		b = appendParams(b, p.dispParams)
		b = append(b, ')')
	} else {
		b = append(b, "NIL"...)
	}
	b = append(b, ' ')
	if len(p.lang) == 0 {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		for i, l := range p.lang {
			if i > 0 {
				b = append(b, ' ')
			}
			b = imap.AppendString(b, l)
		}
		b = append(b, ')')
	}
	b = append(b, ' ')
	return imap.AppendNString(b, p.loc.s, p.loc.ok)
}

func appendBody(b []byte, p *part, ext bool) []byte {
	b = append(b, '(')
	if p.multipart() && len(p.children) > 0 {
		for _, c := range p.children {
			b = appendBody(b, c, ext)
		}
		b = append(b, ' ')
		b = imap.AppendString(b, p.sub)
		if ext {
			b = append(b, ' ')
			b = appendParams(b, p.params)
			b = appendExt(b, p)
		}
		return append(b, ')')
	}
	typ, sub := p.typ, p.sub
	if p.multipart() {
		typ, sub = "TEXT", "PLAIN" // cannot happen after Parse; keep the syntax valid
	}
	b = imap.AppendString(b, typ)
	b = append(b, ' ')
	b = imap.AppendString(b, sub)
	b = append(b, ' ')
	b = appendParams(b, p.params)
	b = append(b, ' ')
	b = imap.AppendNString(b, p.id.s, p.id.ok)
	b = append(b, ' ')
	b = imap.AppendNString(b, p.desc.s, p.desc.ok)
	b = append(b, ' ')
	b = imap.AppendString(b, p.enc)
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.end-p.bodyOff, 10)
	switch {
	case typ == "MESSAGE" && sub == "RFC822":
		// RFC 3501 7.4.2: envelope, body structure and lines of the
		// encapsulated message. An unparsed one (encoded, too deep) gets an
		// empty envelope and body so that clients still read valid syntax.
		m := p.msg
		if m == nil {
			m = emptyPart(p.bodyOff)
		}
		b = append(b, ' ')
		b = appendEnvelope(b, m.env)
		b = append(b, ' ')
		b = appendBody(b, m, ext)
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.lines, 10)
	case typ == "TEXT":
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.lines, 10)
	}
	if ext {
		b = append(b, ' ')
		b = imap.AppendNString(b, p.md5.s, p.md5.ok)
		b = appendExt(b, p)
	}
	return append(b, ')')
}
