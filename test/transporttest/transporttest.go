// Package transporttest is the contract suite for ports.Transport and
// ports.Conn: bytes both ways, end of stream and close semantics, when
// Accept gives up, and the TLS state before, during and after STARTTLS. An
// adapter proves it conforms by calling Run from its own tests; like
// test/storetest, the suite uses only the port and the domain vocabulary.
package transporttest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/imapd-go/imapd/domain/imap"
	"github.com/imapd-go/imapd/ports"
)

// Config is what the suite asks of the transport it is given.
type Config struct {
	// TLS is the server's TLS configuration (STARTTLS possible), nil for
	// none.
	TLS *tls.Config
	// ImmediateTLS is imapd -s: the handshake runs in Accept, before the
	// connection is handed over.
	ImmediateTLS bool
}

// Rig is a transport built for the suite and how to reach it.
type Rig struct {
	Transport ports.Transport
	// Dial returns the client's end of the connection the next Accept
	// yields.
	Dial func(t testing.TB) net.Conn
	// Single tells that the transport yields one connection, then io.EOF.
	Single bool
	// SSF is the strength of the layer under every connection before any
	// TLS (the -p option), as the rig was built.
	SSF int
}

// Setup builds the adapter configured as c.
type Setup func(t testing.TB, c Config) Rig

// wait bounds everything the suite waits for.
const wait = 10 * time.Second

// Run checks every promise of ports.Transport and ports.Conn, one subtest
// per promise.
func Run(t *testing.T, setup Setup) {
	tests := []struct {
		name string
		fn   func(*testing.T, Setup)
	}{
		{"RoundTrip", testRoundTrip},
		{"EOFWhenClientCloses", testEOF},
		{"CloseEndsConnection", testClose},
		{"CloseTransport", testCloseTransport},
		{"CancelledContext", testCancelled},
		{"NoTLS", testNoTLS},
		{"StartTLS", testStartTLS},
		{"FailedHandshake", testFailedHandshake},
		{"ImmediateTLS", testImmediateTLS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, setup) })
	}
}

// accept dials and accepts one connection.
func accept(t *testing.T, r Rig) (ports.Conn, net.Conn) {
	t.Helper()
	cl := r.Dial(t)
	t.Cleanup(func() { cl.Close() })
	cl.SetDeadline(time.Now().Add(wait))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := r.Transport.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, cl
}

// exchange writes a line each way and checks it arrives.
func exchange(t *testing.T, c io.ReadWriter, cl io.ReadWriter) {
	t.Helper()
	if _, err := io.WriteString(c, "* OK hello\r\n"); err != nil {
		t.Fatalf("server write: %v", err)
	}
	if line, err := bufio.NewReader(cl).ReadString('\n'); err != nil || line != "* OK hello\r\n" {
		t.Fatalf("client read %q, %v", line, err)
	}
	if _, err := io.WriteString(cl, "a1 NOOP\r\n"); err != nil {
		t.Fatalf("client write: %v", err)
	}
	if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "a1 NOOP\r\n" {
		t.Fatalf("server read %q, %v", line, err)
	}
}

func testRoundTrip(t *testing.T, setup Setup) {
	c, cl := accept(t, setup(t, Config{}))
	exchange(t, c, cl)
}

// testEOF: what the client sent before closing is read, then io.EOF, and
// io.EOF again.
func testEOF(t *testing.T, setup Setup) {
	c, cl := accept(t, setup(t, Config{}))
	io.WriteString(cl, "a1 LOGOUT\r\n")
	cl.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "a1 LOGOUT\r\n" {
		t.Fatalf("read %q, %v", got, err)
	}
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
}

// testClose: closing the connection ends the client's stream; a second
// Close is harmless.
func testClose(t *testing.T, setup Setup) {
	c, cl := accept(t, setup(t, Config{}))
	io.WriteString(c, "* BYE\r\n")
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	got, err := io.ReadAll(cl)
	if err != nil || string(got) != "* BYE\r\n" {
		t.Errorf("client read %q, %v after Close", got, err)
	}
	c.Close()
}

// testCloseTransport: Close stops accepting (a waiting Accept returns
// io.EOF, and so does every later one) but leaves an accepted connection
// alone: it is its session's to close.
func testCloseTransport(t *testing.T, setup Setup) {
	r := setup(t, Config{})
	c, cl := accept(t, r)
	done := make(chan error, 1)
	go func() {
		c, err := r.Transport.Accept(context.Background())
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	if !r.Single {
		time.Sleep(20 * time.Millisecond) // let Accept wait
	}
	if err := r.Transport.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("waiting Accept = %v, want io.EOF", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not end a waiting Accept")
	}
	if _, err := r.Transport.Accept(context.Background()); err != io.EOF {
		t.Errorf("Accept after Close = %v, want io.EOF", err)
	}
	r.Transport.Close()
	exchange(t, c, cl)
}

func testCancelled(t *testing.T, setup Setup) {
	r := setup(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c, err := r.Transport.Accept(ctx); !errors.Is(err, context.Canceled) {
		if c != nil {
			c.Close()
		}
		t.Errorf("Accept with a cancelled context = %v, want context.Canceled", err)
	}
}

// testNoTLS: without a TLS configuration nothing claims TLS and STARTTLS
// is refused with imap.ErrCannot, leaving the connection usable.
func testNoTLS(t *testing.T, setup Setup) {
	r := setup(t, Config{})
	c, cl := accept(t, r)
	if c.TLS() || c.TLSState() != nil || c.CanStartTLS() {
		t.Errorf("no TLS configured: TLS %v, state %v, CanStartTLS %v", c.TLS(), c.TLSState() != nil, c.CanStartTLS())
	}
	if c.SSF() != r.SSF {
		t.Errorf("SSF %d, want the layer's %d", c.SSF(), r.SSF)
	}
	if err := c.StartTLS(context.Background()); !errors.Is(err, imap.ErrCannot) {
		t.Errorf("StartTLS = %v, want ErrCannot", err)
	}
	exchange(t, c, cl)
}

// testStartTLS: the upgrade happens in place; after it the connection
// runs over TLS, says so, reports the cipher's strength and the session
// state, and cannot be upgraded again.
func testStartTLS(t *testing.T, setup Setup) {
	server, client := tlsConfigs(t)
	r := setup(t, Config{TLS: server})
	c, cl := accept(t, r)
	if !c.CanStartTLS() || c.TLS() || c.TLSState() != nil || c.SSF() != r.SSF {
		t.Fatalf("before the handshake: CanStartTLS %v, TLS %v, state %v, SSF %d", c.CanStartTLS(), c.TLS(), c.TLSState() != nil, c.SSF())
	}
	tc := tls.Client(cl, client)
	errc := make(chan error, 1)
	go func() { errc <- tc.Handshake() }()
	if err := c.StartTLS(context.Background()); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	st := c.TLSState()
	if !c.TLS() || st == nil || !st.HandshakeComplete || c.CanStartTLS() {
		t.Errorf("after the handshake: TLS %v, state %v, CanStartTLS %v", c.TLS(), st, c.CanStartTLS())
	}
	if c.SSF() < 128 {
		t.Errorf("SSF %d under TLS, want the cipher's bits", c.SSF())
	}
	if err := c.StartTLS(context.Background()); !errors.Is(err, imap.ErrCannot) {
		t.Errorf("second StartTLS = %v, want ErrCannot", err)
	}
	exchange(t, c, tc)
}

// testFailedHandshake: a client that does not speak TLS makes StartTLS
// fail, and the connection cannot be upgraded afterwards.
func testFailedHandshake(t *testing.T, setup Setup) {
	server, _ := tlsConfigs(t)
	c, cl := accept(t, setup(t, Config{TLS: server}))
	go func() {
		io.WriteString(cl, "a1 NOOP this is not a ClientHello\r\n")
		io.Copy(io.Discard, cl)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.StartTLS(ctx); err == nil {
		t.Fatal("StartTLS succeeded with a client that sent no ClientHello")
	}
	if c.TLS() || c.CanStartTLS() {
		t.Errorf("after a failed handshake: TLS %v, CanStartTLS %v", c.TLS(), c.CanStartTLS())
	}
}

// testImmediateTLS: with -s, Accept yields a connection that already runs
// over TLS, which STARTTLS cannot upgrade again.
func testImmediateTLS(t *testing.T, setup Setup) {
	server, client := tlsConfigs(t)
	r := setup(t, Config{TLS: server, ImmediateTLS: true})
	cl := r.Dial(t)
	t.Cleanup(func() { cl.Close() })
	cl.SetDeadline(time.Now().Add(wait))
	tc := tls.Client(cl, client)
	errc := make(chan error, 1)
	go func() { errc <- tc.Handshake() }()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := r.Transport.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := <-errc; err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if st := c.TLSState(); !c.TLS() || st == nil || !st.HandshakeComplete || c.CanStartTLS() || c.SSF() < 128 {
		t.Errorf("accepted with -s: TLS %v, state %v, CanStartTLS %v, SSF %d", c.TLS(), st != nil, c.CanStartTLS(), c.SSF())
	}
	if err := c.StartTLS(ctx); !errors.Is(err, imap.ErrCannot) {
		t.Errorf("StartTLS under -s = %v, want ErrCannot", err)
	}
	exchange(t, c, tc)
}

// tlsConfigs returns a server configuration with a fresh self-signed
// certificate and a client configuration that trusts it.
func tlsConfigs(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "imap.test"},
		DNSNames:     []string{"imap.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool, ServerName: "imap.test"}
	return server, client
}
