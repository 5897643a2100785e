package message

// HasPart reports whether path names an entity of the message (RFC 3501
// 6.4.5 part numbers). FETCH answers a missing part with an empty string;
// an IMAP URL to one is invalid (RFC 4469 BADURL, RFC 4467 NIL).
func (s *Structure) HasPart(path []int) bool {
	if len(path) == 0 {
		return true
	}
	if s == nil || s.root == nil {
		return false
	}
	_, _, ok := s.locate(path)
	return ok
}

// AppendPartStructure appends the extended BODYSTRUCTURE of the entity
// path names (RFC 5524 BODYPARTSTRUCTURE), or reports false when there is
// none. The empty path is the whole message.
func (s *Structure) AppendPartStructure(b []byte, path []int) ([]byte, bool) {
	if len(path) == 0 {
		return s.AppendBodyStructure(b, true), true
	}
	if s == nil || s.root == nil {
		return b, false
	}
	p, _, ok := s.locate(path)
	if !ok {
		return b, false
	}
	return appendBody(b, p, true), true
}
