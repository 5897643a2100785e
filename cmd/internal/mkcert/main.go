// Command mkcert writes a self-signed server certificate and its key for a
// local test server (`make run` uses it on first run), so that no openssl
// command is needed:
//
//	go run ./cmd/internal/mkcert -cert run/server.pem -key run/server.key localhost 127.0.0.1
//
// Existing files are left alone.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/imapd-go/imapd/adapters/transport/tlsconf"
)

func main() {
	cert := flag.String("cert", "server.pem", "certificate file (PEM)")
	key := flag.String("key", "server.key", "private key file (PEM, mode 0600)")
	days := flag.Int("days", 825, "validity in days")
	flag.Parse()
	hosts := flag.Args()
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if _, err := os.Stat(*cert); err == nil {
		return
	}
	certPEM, keyPEM, err := tlsconf.SelfSigned(hosts, time.Duration(*days)*24*time.Hour)
	if err == nil {
		err = os.WriteFile(*key, keyPEM, 0o600)
	}
	if err == nil {
		err = os.WriteFile(*cert, certPEM, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkcert: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "mkcert: wrote %s and %s for %v\n", *cert, *key, hosts)
}
