// Package test holds what crosses the layers: the architecture rules, the
// port contract suites (importable by third parties), end-to-end tests
// with real clients, and the conformance corpus of RFC transcripts played
// against our stores and against Cyrus (test/conformance).
package test
