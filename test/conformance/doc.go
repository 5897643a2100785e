// Package conformance holds the conformance corpus: scripted IMAP
// transcripts under testdata/<group>/*.imap that say, RFC by RFC and
// extension by extension, what a server must answer, and the runner that
// plays them against our server on each store and, in differential mode,
// against Cyrus imapd 3.6 under its own master, whose intended
// differences are listed with a reason in cyrus-differences.txt.
//
// README.md describes the transcript format, the lists of differences
// and of known failures, and how to run the corpus. The parser, the
// matcher and the runner are in this package (not in test files) so that
// other test packages can play transcripts too; the tests that run the
// corpus are in conformance_test.go.
package conformance
