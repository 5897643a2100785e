package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
)

func TestParseVersions(t *testing.T) {
	tests := []struct {
		in       string
		min, max uint16
		bad      bool
	}{
		{"", tls.VersionTLS12, tls.VersionTLS13, false},
		{"tls1_2 tls1_3", tls.VersionTLS12, tls.VersionTLS13, false},
		{"tls1_3", tls.VersionTLS13, tls.VersionTLS13, false},
		{"TLS1_0,tls1_2", tls.VersionTLS10, tls.VersionTLS12, false},
		{"tls1_3 tls1_1", tls.VersionTLS11, tls.VersionTLS13, false},
		{"ssl3", 0, 0, true},
		{"tls1_2 tls2", 0, 0, true},
		{" , ", 0, 0, true},
	}
	for _, tt := range tests {
		min, max, err := ParseVersions(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseVersions(%q) accepted", tt.in)
			}
			continue
		}
		if err != nil || min != tt.min || max != tt.max {
			t.Errorf("ParseVersions(%q) = %x, %x, %v; want %x, %x", tt.in, min, max, err, tt.min, tt.max)
		}
	}
}

func TestCipherBits(t *testing.T) {
	tests := []struct {
		suite uint16
		bits  int
	}{
		{tls.TLS_AES_128_GCM_SHA256, 128},
		{tls.TLS_AES_256_GCM_SHA384, 256},
		{tls.TLS_CHACHA20_POLY1305_SHA256, 256},
		{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 128},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 256},
		{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 256},
		{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, 112},
		{0xffff, 0},
	}
	for _, tt := range tests {
		if got := CipherBits(tt.suite); got != tt.bits {
			t.Errorf("CipherBits(%s) = %d, want %d", tls.CipherSuiteName(tt.suite), got, tt.bits)
		}
	}
	if SSF(nil) != 0 {
		t.Error("SSF(nil) != 0")
	}
}

// files writes a self-signed certificate and key and returns their paths.
func files(t *testing.T) (cert, key string, pem []byte) {
	t.Helper()
	c, k, err := SelfSigned([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, c, 0o644)
	os.WriteFile(key, k, 0o600)
	return cert, key, c
}

func TestLoad(t *testing.T) {
	cert, key, _ := files(t)
	if cfg, err := Load(Options{}); cfg != nil || err != nil {
		t.Errorf("Load without a certificate = %v, %v", cfg, err)
	}
	if cfg, err := Load(Options{CertFile: cert}); cfg != nil || err != nil {
		t.Errorf("Load without a key = %v, %v", cfg, err)
	}
	cfg, err := Load(Options{CertFile: cert, KeyFile: key, Versions: "tls1_3"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS13 || cfg.ClientAuth != tls.NoClientCert {
		t.Errorf("config: min %x, client auth %v", cfg.MinVersion, cfg.ClientAuth)
	}
	cfg, err = Load(Options{CertFile: cert, KeyFile: key, ClientCAFile: cert})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.VerifyClientCertIfGiven || cfg.ClientCAs == nil {
		t.Errorf("with a CA file: client auth %v", cfg.ClientAuth)
	}
	for _, o := range []Options{
		{CertFile: cert, KeyFile: cert},
		{CertFile: "/nonexistent.pem", KeyFile: key},
		{CertFile: cert, KeyFile: key, Versions: "sslv3"},
		{CertFile: cert, KeyFile: key, ClientCAFile: "/nonexistent.pem"},
		{CertFile: cert, KeyFile: key, ClientCAFile: key},
	} {
		if _, err := Load(o); err == nil {
			t.Errorf("Load(%+v) accepted", o)
		}
	}
}

// pair returns a server Conn and the client's socket over loopback TCP.
func pair(t *testing.T, cfg *tls.Config) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(sv, ConnOptions{Config: cfg, SSF: 2})
	t.Cleanup(func() { c.Close(); cl.Close() })
	return c, cl
}

func TestStartTLS(t *testing.T) {
	cert, key, certPEM := files(t)
	cfg, err := Load(Options{CertFile: cert, KeyFile: key, ClientCAFile: cert})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	clientCert, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	other, otherKey, err := SelfSigned([]string{"intruder"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	untrusted, _ := tls.X509KeyPair(other, otherKey)

	tests := []struct {
		name     string
		client   *tls.Config
		ok       bool
		peerCert bool
	}{
		{"no client certificate", &tls.Config{RootCAs: roots, ServerName: "localhost"}, true, false},
		{"trusted client certificate", &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{clientCert}}, true, true},
		// GetClientCertificate sends the certificate even though its issuer is
		// not among the server's acceptable CAs (Go's client would not).
		{"untrusted client certificate", &tls.Config{RootCAs: roots, ServerName: "localhost",
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &untrusted, nil }}, false, false},
		{"AES-128 only", &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cl := pair(t, cfg)
			if !c.CanStartTLS() || c.TLS() || c.SSF() != 2 || c.TLSState() != nil {
				t.Fatalf("before: CanStartTLS %v TLS %v SSF %d", c.CanStartTLS(), c.TLS(), c.SSF())
			}
			tc := tls.Client(cl, tt.client)
			go func() { tc.Handshake(); tc.Write([]byte("ping")) }()
			err := c.StartTLS(context.Background())
			if !tt.ok {
				if err == nil {
					t.Fatal("handshake accepted")
				}
				if c.CanStartTLS() {
					t.Error("CanStartTLS after a failed handshake")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := c.TLSState()
			want := 256
			if tt.client.CipherSuites != nil {
				want = 128
			}
			if st == nil || !c.TLS() || c.CanStartTLS() || (c.SSF() != want && !(want == 256 && c.SSF() == 128)) {
				t.Fatalf("after: TLS %v CanStartTLS %v SSF %d", c.TLS(), c.CanStartTLS(), c.SSF())
			}
			if c.SSF() != CipherBits(st.CipherSuite) {
				t.Errorf("SSF %d for %s", c.SSF(), tls.CipherSuiteName(st.CipherSuite))
			}
			if got := len(st.PeerCertificates) > 0; got != tt.peerCert {
				t.Errorf("peer certificate present %v, want %v", got, tt.peerCert)
			}
			buf := make([]byte, 4)
			if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" {
				t.Errorf("Read over TLS = %q, %v", buf[:n], err)
			}
			if err := c.StartTLS(context.Background()); !errors.Is(err, imap.ErrCannot) {
				t.Errorf("second StartTLS = %v, want ErrCannot", err)
			}
		})
	}
}

func TestNoTLS(t *testing.T) {
	c, _ := pair(t, nil)
	if c.CanStartTLS() {
		t.Error("CanStartTLS without a configuration")
	}
	if err := c.StartTLS(context.Background()); !errors.Is(err, imap.ErrCannot) {
		t.Errorf("StartTLS = %v, want ErrCannot", err)
	}
}
