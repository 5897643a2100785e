package message

// Section addresses part of a message as in FETCH BODY[section] (RFC 3501
// section 6.4.5). Path holds the part numbers ("1.2.3" -> [1 2 3]); an empty
// Path means the whole message. Specifier is one of "", "HEADER",
// "HEADER.FIELDS", "HEADER.FIELDS.NOT", "MIME", "TEXT" (upper-case); Fields
// holds the field names for the HEADER.FIELDS forms, upper-cased as the
// server echoes them.
type Section struct {
	Path      []int
	Specifier string
	Fields    []string
}

// Partial is the <origin.count> suffix of a BODY[section] fetch.
type Partial struct {
	Offset, Count int64
}
