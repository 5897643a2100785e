package message

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// formatVersion is the first byte of a marshalled Structure. Bump it when
// the layout changes; Unmarshal refuses versions it does not know.
//
// Version 2 is version 1 preceded by the ENVELOPE and BODYSTRUCTURE the
// structure renders, so that FETCH copies them instead of decoding the
// parts and parsing addresses for every message (a server that caches
// them in its index does no more). Blobs stored in version 1 still decode
// and render from their parts.
//
// Version 3 adds, after the rendered texts, what is computed at APPEND
// beside the structure: the RFC 8970 preview (with a presence byte) and
// the RFC 8474 EMAILID and THREADID (empty when not assigned). Blobs of
// versions 1 and 2 have none of them (see Extras).
const (
	formatV1      = 1
	formatV2      = 2
	formatVersion = 3
)

// renderVersion names the rendering code that wrote the texts a version 2
// blob carries. Bump it whenever the ENVELOPE or BODYSTRUCTURE rendered
// for a structure changes (render.go, address.go): the texts of blobs
// written before are then ignored and rendered anew from their parts.
const renderVersion = 1

// Errors returned by Unmarshal.
var (
	ErrBadFormat = errors.New("message: malformed structure data")
	ErrVersion   = errors.New("message: unknown structure format version")
)

// Presence bits of a marshalled part: the first five follow the order of
// part.optional.
const (
	hasMsg = 1 << (iota + 5)
	hasEnv
)

// nOptional is the number of fields part.optional lists; the last one,
// the disposition, is followed by its parameters when present.
const (
	nOptional = 5
	hasDisp   = 1 << (nOptional - 1)
)

// optional lists the fields of p that may be absent, in marshalled order.
func (p *part) optional() [nOptional]*nstr {
	return [5]*nstr{&p.id, &p.desc, &p.md5, &p.loc, &p.disp}
}

// MarshalBinary encodes the structure compactly: a version byte, the
// render version and the rendered ENVELOPE and BODYSTRUCTURE, then the
// parts in varints and length-prefixed strings.
func (s *Structure) MarshalBinary() ([]byte, error) {
	if s == nil || s.root == nil {
		return nil, errors.New("message: marshal of an empty structure")
	}
	env := s.AppendEnvelope(nil)
	bs := s.AppendBodyStructure(nil, true)
	b := make([]byte, 0, 16+len(env)+len(bs)+len(s.header)+256)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, renderVersion)
	b = appendBytes(b, env)
	b = appendBytes(b, bs)
	b = s.ext.append(b)
	return s.appendV1(b), nil
}

// appendV1 appends what follows the version byte in format 1: the kept
// header, then the parts.
func (s *Structure) appendV1(b []byte) []byte {
	if s.hdrOK {
		b = append(b, 1)
		b = appendBytes(b, s.header)
	} else {
		b = append(b, 0)
	}
	return appendPart(b, s.root)
}

func appendUint(b []byte, v int64) []byte { return binary.AppendUvarint(b, uint64(v)) }

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendKVs(b []byte, ps []kv) []byte {
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		b = appendStr(b, p.k)
		b = appendStr(b, p.v)
	}
	return b
}

func appendPart(b []byte, p *part) []byte {
	var flags uint64
	for i, v := range p.optional() {
		if v.ok {
			flags |= 1 << i
		}
	}
	if p.msg != nil {
		flags |= hasMsg
	}
	if p.env != nil {
		flags |= hasEnv
	}
	b = binary.AppendUvarint(b, flags)
	b = appendUint(b, p.hdrOff)
	b = appendUint(b, p.bodyOff-p.hdrOff)
	b = appendUint(b, p.end-p.bodyOff)
	b = appendUint(b, p.lines)
	b = appendStr(b, p.typ)
	b = appendStr(b, p.sub)
	b = appendKVs(b, p.params)
	b = appendStr(b, p.enc)
	for _, v := range p.optional() {
		if v.ok {
			b = appendStr(b, v.s)
		}
	}
	if p.disp.ok {
		b = appendKVs(b, p.dispParams)
	}
	b = binary.AppendUvarint(b, uint64(len(p.lang)))
	for _, l := range p.lang {
		b = appendStr(b, l)
	}
	if p.env != nil {
		var bits uint64
		for i, v := range p.env {
			if v.ok {
				bits |= 1 << i
			}
		}
		b = binary.AppendUvarint(b, bits)
		for _, v := range p.env {
			if v.ok {
				b = appendStr(b, v.s)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(p.children)))
	for _, c := range p.children {
		b = appendPart(b, c)
	}
	if p.msg != nil {
		b = appendPart(b, p.msg)
	}
	return b
}

// decoder reads the marshalled form with a sticky error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = ErrBadFormat
	}
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// offset reads a non-negative int64 small enough to add safely.
func (d *decoder) offset() int64 {
	v := d.uint()
	if v > math.MaxInt64/4 {
		d.fail()
		return 0
	}
	return int64(v)
}

// count reads a length and checks that at least min bytes per item remain.
func (d *decoder) count(perItem int) int {
	v := d.uint()
	if d.err != nil || v > uint64(len(d.b)/perItem) {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) str() string {
	b := d.bytes()
	if s, ok := common[string(b)]; ok { // the lookup does not allocate
		return s
	}
	return string(b)
}

// common holds the values that most parts repeat (types, subtypes,
// encodings, parameter names and charsets), so that decoding a structure
// shares them instead of allocating each anew.
var common = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"TEXT", "PLAIN", "HTML", "MULTIPART", "MIXED", "ALTERNATIVE", "RELATED", "SIGNED",
		"MESSAGE", "RFC822", "DELIVERY-STATUS", "APPLICATION", "OCTET-STREAM", "PDF",
		"PGP-SIGNATURE", "IMAGE", "JPEG", "PNG", "GIF",
		"7BIT", "8BIT", "BINARY", "BASE64", "QUOTED-PRINTABLE",
		"CHARSET", "BOUNDARY", "NAME", "FILENAME", "FORMAT", "DELSP", "INLINE", "ATTACHMENT",
		"us-ascii", "US-ASCII", "utf-8", "UTF-8", "iso-8859-1", "ISO-8859-1", "windows-1252", "flowed",
	} {
		m[s] = s
	}
	return m
}()

func (d *decoder) kvs() []kv {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	ps := make([]kv, n)
	for i := range ps {
		ps[i] = kv{d.str(), d.str()}
	}
	return ps
}

// rendered holds the texts a version 2 blob carries, aliasing it; both are
// nil for a version 1 blob or one written by other rendering code.
type rendered struct {
	env, bs []byte
	ext     extRaw
}

// openBlob checks the version byte of a marshalled Structure and reads
// what precedes the version 1 layout. The decoder it returns stands at the
// kept header; it is a value, so that reading a blob allocates nothing.
func openBlob(b []byte) (decoder, rendered, error) {
	if len(b) == 0 {
		return decoder{}, rendered{}, ErrBadFormat
	}
	d := decoder{b: b[1:]}
	var r rendered
	switch b[0] {
	case formatV1:
	case formatV2, formatVersion:
		v := d.uint()
		env, bs := d.bytes(), d.bytes()
		if b[0] == formatVersion {
			r.ext = d.extras()
		}
		if d.err != nil {
			return decoder{}, rendered{}, d.err
		}
		if v == renderVersion {
			r.env, r.bs = env, bs
		}
	default:
		return decoder{}, rendered{}, fmt.Errorf("%w %d", ErrVersion, b[0])
	}
	return d, r, nil
}

// StoredHeader returns the top-level header kept in a marshalled
// Structure, as Structure.Header would after Unmarshal, without decoding
// the rest: a search of header fields needs nothing else. The bytes alias
// b. hdr is nil when the header was too long to keep (and never nil
// otherwise); err is set when b does not start as MarshalBinary's output
// does.
func StoredHeader(b []byte) (hdr []byte, err error) {
	d, _, err := openBlob(b)
	if err != nil {
		return nil, err
	}
	switch d.uint() {
	case 1:
		hdr = d.bytes()
		if hdr == nil {
			hdr = []byte{}
		}
	case 0:
	default:
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return hdr, nil
}

// Unmarshal decodes what MarshalBinary produced, in this format version or
// an earlier one. It returns an error for anything else and never panics.
// The Structure keeps the header bytes of b, and the rendered texts, without
// copying them: b must not be changed afterwards.
func Unmarshal(b []byte) (*Structure, error) {
	d, r, err := openBlob(b)
	if err != nil {
		return nil, err
	}
	s := &Structure{envText: r.env, bsText: r.bs, ext: r.ext.extras()}
	switch d.uint() {
	case 1:
		s.hdrOK = true
		s.header = d.bytes()
	case 0:
	default:
		d.fail()
	}
	s.root = d.part(0)
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	if s.root.hdrOff != 0 || !s.root.consistent() || (s.hdrOK && int64(len(s.header)) > s.root.end) {
		return nil, ErrBadFormat
	}
	return s, nil
}

func (d *decoder) part(depth int) *part {
	p := &part{}
	if depth > 2*maxDepth+2 {
		d.fail()
		return p
	}
	flags := d.uint()
	p.hdrOff = d.offset()
	p.bodyOff = p.hdrOff + d.offset()
	p.end = p.bodyOff + d.offset()
	p.lines = d.offset()
	p.typ = d.str()
	p.sub = d.str()
	p.params = d.kvs()
	p.enc = d.str()
	for i, v := range p.optional() {
		if flags&(1<<i) != 0 {
			*v = nstr{d.str(), true}
		}
	}
	if p.disp.ok {
		p.dispParams = d.kvs()
	}
	if n := d.count(1); n > 0 {
		p.lang = make([]string, n)
		for i := range p.lang {
			p.lang[i] = d.str()
		}
	}
	if flags&hasEnv != 0 {
		p.env = new([envFields]nstr)
		bits := d.uint()
		if bits >= 1<<envFields {
			d.fail()
		}
		for i := range p.env {
			if bits&(1<<i) != 0 {
				p.env[i] = nstr{d.str(), true}
			}
		}
	}
	if n := d.count(1); n > 0 {
		p.children = make([]*part, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			p.children = append(p.children, d.part(depth+1))
		}
	}
	if flags&hasMsg != 0 && d.err == nil {
		p.msg = d.part(depth + 1)
	}
	return p
}

// consistent checks that children and encapsulated messages lie inside
// their parent's body, so that sections never address outside a part.
func (p *part) consistent() bool {
	for _, c := range p.children {
		if c.hdrOff < p.bodyOff || c.end > p.end || !c.consistent() {
			return false
		}
	}
	if p.msg != nil {
		if p.msg.hdrOff < p.bodyOff || p.msg.end > p.end || !p.msg.consistent() {
			return false
		}
	}
	return true
}

// AppendEnvelopeOf appends to b the ENVELOPE of the message whose
// structure MarshalBinary encoded as blob. A blob of this format version
// holds it rendered; from an older one it decodes only what precedes the
// top-level envelope, building no part tree. Either way it costs a
// fraction of Unmarshal followed by AppendEnvelope, which it matches for
// every blob Unmarshal accepts. The rest of blob is not checked.
func AppendEnvelopeOf(b, blob []byte) ([]byte, error) {
	d, r, err := openBlob(blob)
	if err != nil {
		return b, err
	}
	if r.env != nil {
		return append(b, r.env...), nil
	}
	switch d.uint() {
	case 1:
		d.bytes()
	case 0:
	default:
		d.fail()
	}
	var env [envFields]nstr
	has := d.rootEnvelope(&env)
	if d.err != nil {
		return b, d.err
	}
	if !has {
		return appendEnvelope(b, nil), nil
	}
	return appendEnvelope(b, &env), nil
}

// AppendBodyStructureOf appends to b the BODYSTRUCTURE of the message whose
// structure MarshalBinary encoded as blob, as Unmarshal followed by
// AppendBodyStructure(b, true) does: copied from a blob of this format
// version, which holds it rendered, without checking the rest of blob.
func AppendBodyStructureOf(b, blob []byte) ([]byte, error) {
	_, r, err := openBlob(blob)
	if err != nil {
		return b, err
	}
	if r.bs != nil {
		return append(b, r.bs...), nil
	}
	s, err := Unmarshal(blob)
	if err != nil {
		return b, err
	}
	return s.AppendBodyStructure(b, true), nil
}

// rootEnvelope reads the top-level part up to its envelope, in the layout
// of appendPart, into env; it reports whether the part has one.
func (d *decoder) rootEnvelope(env *[envFields]nstr) bool {
	flags := d.uint()
	for range 4 { // header and body offsets, size, lines
		d.offset()
	}
	d.bytes() // type
	d.bytes() // subtype
	d.skipKVs()
	d.bytes() // encoding
	for i := range nOptional {
		if flags&(1<<i) != 0 {
			d.bytes()
		}
	}
	if flags&hasDisp != 0 {
		d.skipKVs()
	}
	for n := d.count(1); n > 0 && d.err == nil; n-- {
		d.bytes() // language
	}
	if flags&hasEnv == 0 || d.err != nil {
		return false
	}
	bits := d.uint()
	if bits >= 1<<envFields {
		d.fail()
	}
	for i := range env {
		if bits&(1<<i) != 0 {
			env[i] = nstr{d.str(), true}
		}
	}
	return d.err == nil
}

func (d *decoder) skipKVs() {
	for n := d.count(2); n > 0 && d.err == nil; n-- {
		d.bytes()
		d.bytes()
	}
}
