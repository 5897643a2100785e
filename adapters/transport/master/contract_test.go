package master

import (
	"net"
	"testing"

	"github.com/imapd-go/imapd/test/transporttest"
)

// A TCP listener handed over as master does, many uses per process.
func TestContract(t *testing.T) {
	transporttest.Run(t, func(tb testing.TB, c transporttest.Config) transporttest.Rig {
		t := tb.(*testing.T)
		g := newRig(t, "tcp", Options{Uses: 100, TLS: c.TLS, ImmediateTLS: c.ImmediateTLS})
		go func() { // drain the status pipe
			b := make([]byte, 64)
			for {
				if _, err := g.status.Read(b); err != nil {
					return
				}
			}
		}()
		return transporttest.Rig{Transport: g.tr, Dial: func(tb testing.TB) net.Conn {
			c, err := net.Dial(g.addr.Network(), g.addr.String())
			if err != nil {
				tb.Fatal(err)
			}
			return c
		}}
	})
}
