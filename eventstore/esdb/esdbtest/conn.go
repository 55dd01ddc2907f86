package esdbtest

import (
	"net"
	"sync"
)

// gate freezes network traffic while it is shut: reads and writes on gated
// connections wait until it opens again or the connection closes.
type gate struct {
	mu   sync.Mutex
	shut bool
	open chan struct{} // closed when the gate opens; replaced when it shuts
}

func newGate() *gate {
	g := &gate{open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gate) set(shut bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if shut == g.shut {
		return
	}
	g.shut = shut
	if shut {
		g.open = make(chan struct{})
	} else {
		close(g.open)
	}
}

// wait returns nil once the gate is open, or net.ErrClosed when closed is
// closed first.
func (g *gate) wait(closed <-chan struct{}) error {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return nil
	case <-closed:
		return net.ErrClosed
	}
}

// gatedConn is a server-side connection whose traffic the gate can freeze.
// Bytes that arrive while the gate is shut are held back, not dropped, so a
// client that was waiting carries on once the gate opens.
type gatedConn struct {
	net.Conn
	gate   *gate
	once   sync.Once
	closed chan struct{}
	onDone func(*gatedConn)
}

func (c *gatedConn) Read(p []byte) (int, error) {
	if err := c.gate.wait(c.closed); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if werr := c.gate.wait(c.closed); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

func (c *gatedConn) Write(p []byte) (int, error) {
	if err := c.gate.wait(c.closed); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *gatedConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.onDone(c)
	})
	return c.Conn.Close()
}

// gatedListener hands the gRPC server gated connections and tells the
// Server about each one, so that Stop can close them even while the gate
// holds them in the middle of a handshake.
type gatedListener struct {
	net.Listener
	gate  *gate
	track func(*gatedConn) bool
	done  func(*gatedConn)
}

func (l *gatedListener) Accept() (net.Conn, error) {
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &gatedConn{Conn: raw, gate: l.gate, closed: make(chan struct{}), onDone: l.done}
		if l.track(c) {
			return c, nil
		}
		_ = raw.Close()
	}
}
