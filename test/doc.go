// Package test holds what crosses the layers: the architecture rules, the
// port contract suites (importable by third parties) and end-to-end tests
// with real clients.
package test
