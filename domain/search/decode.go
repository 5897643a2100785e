package search

// DecodeWords decodes the RFC 2047 encoded words of a header value to
// UTF-8, as SEARCH does before matching; text that cannot be decoded stays
// as it is. SORT and THREAD (RFC 5256 2.1) decode subjects and display
// names with it.
func DecodeWords(s string) string { return decodeHeader(s) }
