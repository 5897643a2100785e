// Package tlsconf builds the server's TLS configuration from imapd.conf's
// tls_* options and provides Conn, a ports.Conn over any net.Conn that can
// run TLS from the start (imapd -s) or switch to it (STARTTLS). Both
// transports (stdio and master) use it. It depends on ports and the domain
// error kinds only.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// HandshakeTimeout bounds a server handshake, as Cyrus does for imaps and
// STARTTLS (180 seconds).
const HandshakeTimeout = 180 * time.Second

// DefaultVersions is Cyrus's default for tls_versions.
const DefaultVersions = "tls1_2 tls1_3"

// Options are the tls_* settings of imapd.conf.
type Options struct {
	CertFile     string // tls_server_cert (PEM, may hold the chain)
	KeyFile      string // tls_server_key (PEM)
	ClientCAFile string // tls_client_ca_file: request client certificates and verify them against these CAs
	Versions     string // tls_versions, e.g. "tls1_2 tls1_3"; "" = DefaultVersions
}

// Enabled reports whether a certificate and key are configured.
func (o Options) Enabled() bool { return o.CertFile != "" && o.KeyFile != "" }

// Load returns the server configuration for o, or nil (and no error) when
// no certificate is configured. A client certificate is asked for only when
// ClientCAFile is set, and then it is optional (the client may still log in
// another way) but must verify when one is sent, as AUTHENTICATE EXTERNAL
// relies on it.
func Load(o Options) (*tls.Config, error) {
	if !o.Enabled() {
		return nil, nil
	}
	min, max, err := ParseVersions(o.Versions)
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls_server_cert %s, tls_server_key %s: %w", o.CertFile, o.KeyFile, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   min,
		MaxVersion:   max,
	}
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_client_ca_file %s: no PEM certificate in it", o.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

var versionNames = map[string]uint16{
	"tls1_0": tls.VersionTLS10,
	"tls1_1": tls.VersionTLS11,
	"tls1_2": tls.VersionTLS12,
	"tls1_3": tls.VersionTLS13,
}

// ParseVersions reads tls_versions: a list of tls1_0, tls1_1, tls1_2 and
// tls1_3 separated by spaces or commas. Go cannot leave a hole in the
// range, so the lowest and highest versions named bound it.
func ParseVersions(s string) (min, max uint16, err error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultVersions
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		v, ok := versionNames[w]
		if !ok {
			return 0, 0, fmt.Errorf("tls_versions: unknown version %q (valid: tls1_0 tls1_1 tls1_2 tls1_3)", w)
		}
		if min == 0 || v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	if min == 0 {
		return 0, 0, errors.New("tls_versions: no version")
	}
	return min, max, nil
}

// SSF is the security strength factor of a TLS session: the bits of its
// bulk cipher's key (256 for AES-256 and ChaCha20, 128 for AES-128, 112
// for 3DES), as SASL and Cyrus count it. 0 for nil or an unknown suite.
func SSF(cs *tls.ConnectionState) int {
	if cs == nil || !cs.HandshakeComplete {
		return 0
	}
	return CipherBits(cs.CipherSuite)
}

// CipherBits is the key size of the suite's bulk cipher, 0 when unknown.
func CipherBits(suite uint16) int {
	name := tls.CipherSuiteName(suite)
	switch {
	case strings.Contains(name, "AES_256"), strings.Contains(name, "CHACHA20"):
		return 256
	case strings.Contains(name, "AES_128"), strings.Contains(name, "RC4_128"):
		return 128
	case strings.Contains(name, "3DES"):
		return 112
	}
	return 0
}
