// Package message computes the MIME structure of a message once, when it
// arrives, and answers FETCH ENVELOPE, BODYSTRUCTURE and BODY[section]
// (RFC 3501 sections 6.4.5 and 7.4.2) from that structure without parsing the
// message again. The structure records byte offsets into the message as it
// was stored, so section bodies stream straight from an io.ReaderAt.
//
// The package performs no I/O of its own and depends only on the standard
// library and other domain packages.
package message
