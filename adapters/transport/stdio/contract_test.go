package stdio

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/imapd-go/imapd/test/transporttest"
)

// The only connection runs over both ends of one Unix socket (as under
// inetd), with an external layer of strength 3.
func TestContract(t *testing.T) {
	transporttest.Run(t, func(t testing.TB, c transporttest.Config) transporttest.Rig {
		ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cl, err := net.Dial("unix", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sv.Close(); cl.Close() })
		tr := NewWithOptions(sv, sv, Options{SSF: 3, TLS: c.TLS, ImmediateTLS: c.ImmediateTLS})
		return transporttest.Rig{Transport: tr, Dial: func(testing.TB) net.Conn { return cl }, Single: true, SSF: 3}
	})
}
