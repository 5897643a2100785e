package main

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
)

// tlsConfig writes a configuration with a fresh self-signed certificate.
func tlsConfig(t *testing.T) string {
	t.Helper()
	conf := writeConfig(t)
	dir := filepath.Dir(conf)
	certPEM, keyPEM, err := tlsconf.SelfSigned([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("tls_server_cert: {configdirectory}/cert.pem\ntls_server_key: {configdirectory}/key.pem\n")
	f.Close()
	return conf
}

// startOnSocket runs imapd with a socket as its standard input and output
// and returns the client's end.
func startOnSocket(t *testing.T, bin string, args ...string) net.Conn {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := os.NewFile(uintptr(fds[0]), "server")
	cf := os.NewFile(uintptr(fds[1]), "client")
	cl, err := net.FileConn(cf)
	cf.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CYRUS_SERVICE=")
	cmd.Stdin, cmd.Stdout = srv, srv
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	t.Cleanup(func() { cl.Close(); cmd.Process.Kill(); cmd.Wait() })
	cl.SetDeadline(time.Now().Add(30 * time.Second))
	return cl
}

func TestBinaryTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildImapd(t)
	conf := tlsConfig(t)
	client := &tls.Config{InsecureSkipVerify: true}

	t.Run("-s", func(t *testing.T) {
		tc := tls.Client(startOnSocket(t, bin, "-C", conf, "-s"), client)
		r := bufio.NewReader(tc)
		greeting, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(greeting, "* OK [CAPABILITY ") || strings.Contains(greeting, "STARTTLS") || strings.Contains(greeting, "LOGINDISABLED") {
			t.Errorf("greeting over TLS: %q", greeting)
		}
	})

	t.Run("STARTTLS", func(t *testing.T) {
		cl := startOnSocket(t, bin, "-C", conf)
		r := bufio.NewReader(cl)
		greeting, _ := r.ReadString('\n')
		if !strings.Contains(greeting, "STARTTLS") || !strings.Contains(greeting, "LOGINDISABLED") {
			t.Fatalf("plain greeting: %q", greeting)
		}
		cl.Write([]byte("a1 STARTTLS\r\n"))
		if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "a1 OK") {
			t.Fatalf("STARTTLS answer: %q", line)
		}
		tc := tls.Client(cl, client)
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		tc.Write([]byte("a2 CAPABILITY\r\n"))
		tr := bufio.NewReader(tc)
		caps, _ := tr.ReadString('\n')
		if !strings.HasPrefix(caps, "* CAPABILITY ") || strings.Contains(caps, "STARTTLS") || strings.Contains(caps, "LOGINDISABLED") {
			t.Errorf("capabilities over TLS: %q", caps)
		}
		if line, _ := tr.ReadString('\n'); !strings.HasPrefix(line, "a2 OK") {
			t.Errorf("CAPABILITY answer: %q", line)
		}
	})

	t.Run("-s handshake failure", func(t *testing.T) {
		cl := startOnSocket(t, bin, "-C", conf, "-s")
		cl.Write([]byte("a1 LOGOUT\r\n"))
		buf := make([]byte, 512)
		n, _ := cl.Read(buf)
		if strings.Contains(string(buf[:n]), "* OK") {
			t.Errorf("plaintext greeting after a failed handshake: %q", buf[:n])
		}
	})
}
