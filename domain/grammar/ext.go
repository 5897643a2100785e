package grammar

// EnableArgs: ENABLE capability... (RFC 5161). Caps are upper-case.
type EnableArgs struct{ Caps []string }

// IDArgs: ID (RFC 2971). Params maps field names (lower-case, as fields are
// case-insensitive) to values; a NIL value is stored as "". Nil is true for
// "ID NIL".
type IDArgs struct {
	Params map[string]string
	Nil    bool
}

// RFC 2971 section 3.3 bounds an ID parameter list.
const (
	maxIDPairs    = 30
	maxIDField    = 30
	maxIDValueLen = 1024
)
