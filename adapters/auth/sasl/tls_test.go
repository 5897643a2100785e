package sasl

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// testPKI is a CA, a server certificate and client certificates it signed,
// made fresh for each test run.
type testPKI struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	server tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{ca: ca, caKey: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server = p.issue(t, "localhost", x509.ExtKeyUsageServerAuth)
	return p
}

// issue makes a leaf certificate for cn signed by the CA.
func (p *testPKI) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// selfSigned makes a client certificate no CA vouches for.
func selfSigned(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	other := newTestPKI(t)
	return other.issue(t, cn, x509.ExtKeyUsageClientAuth)
}

// tlsPair makes a real TLS connection over loopback TCP with the given
// version and returns both sides' states. clientCert, when not nil, is
// presented; clientAuth is the server's policy for it.
func (p *testPKI) tlsPair(t *testing.T, version uint16, clientCert *tls.Certificate, clientAuth tls.ClientAuthType) (server, client tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		st  tls.ConnectionState
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		sc := tls.Server(c, &tls.Config{
			Certificates: []tls.Certificate{p.server},
			MinVersion:   version,
			MaxVersion:   version,
			ClientAuth:   clientAuth,
			ClientCAs:    p.pool,
		})
		err = sc.Handshake()
		if err == nil {
			// Wait for the client's close so that both handshakes
			// (and TLS 1.3 client certificate checks) are over.
			var b [1]byte
			sc.Read(b[:])
		}
		done <- result{sc.ConnectionState(), err}
	}()
	conf := &tls.Config{RootCAs: p.pool, ServerName: "localhost", MinVersion: version, MaxVersion: version}
	if clientCert != nil {
		conf.Certificates = []tls.Certificate{*clientCert}
	}
	cc, err := tls.Dial("tcp", ln.Addr().String(), conf)
	if err != nil {
		t.Fatal(err)
	}
	client = cc.ConnectionState()
	cc.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.st.Version != version || client.Version != version {
		t.Fatalf("negotiated %x/%x, want %x", r.st.Version, client.Version, version)
	}
	return r.st, client
}
