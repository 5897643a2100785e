package tlsconf

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/imapd-go/imapd/ports"
	"github.com/imapd-go/imapd/test/transporttest"
)

// listener is the least Transport around Conn: accepted sockets wrapped
// as this package's connections, as the master transport does.
type listener struct {
	ln   net.Listener
	ssf  int
	cfg  *contractConfig
	once sync.Once
}

type contractConfig = transporttest.Config

func (l *listener) Accept(ctx context.Context) (ports.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := l.ln.Accept()
	if err != nil {
		return nil, io.EOF
	}
	c := NewConn(raw, ConnOptions{SSF: l.ssf, Config: l.cfg.TLS})
	if l.cfg.ImmediateTLS {
		if err := c.Handshake(ctx, nil); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (l *listener) Close() error {
	l.once.Do(func() { l.ln.Close() })
	return nil
}

// Connections with an external layer of strength 2 under them.
func TestContract(t *testing.T) {
	transporttest.Run(t, func(t testing.TB, c transporttest.Config) transporttest.Rig {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l := &listener{ln: ln, ssf: 2, cfg: &c}
		t.Cleanup(func() { l.Close() })
		return transporttest.Rig{Transport: l, SSF: 2, Dial: func(t testing.TB) net.Conn {
			cl, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			return cl
		}}
	})
}
