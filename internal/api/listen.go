package api

import (
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/skilldock/skilldock/internal/errdef"
)

// Listen binds a TCP address, or with socket set a Unix socket that only
// its owner may connect to (mode 0600). A stale socket file left by a
// server that died is replaced; a live one is not.
func Listen(addr, socket string) (net.Listener, error) {
	if socket == "" {
		if addr == "" {
			addr = DefaultAddr
		}
		return net.Listen("tcp", addr)
	}
	if !filepath.IsAbs(socket) {
		abs, err := filepath.Abs(socket)
		if err != nil {
			return nil, err
		}
		socket = abs
	}
	if fi, err := os.Lstat(socket); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, errdef.Errorf(errdef.ErrAlreadyExists, "%s exists and is not a socket; choose another --socket path", socket)
		}
		if c, err := net.Dial("unix", socket); err == nil {
			c.Close()
			return nil, errdef.Errorf(errdef.ErrAlreadyExists, "a server is already listening on %s", socket)
		}
		if err := os.Remove(socket); err != nil {
			return nil, err
		}
	}
	// The umask makes the socket 0600 from its first moment; a chmod after
	// the bind would leave a window in which others could connect.
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", socket)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// IsLoopback reports whether a listener is reachable only from this
// machine: a loopback TCP address or a Unix socket.
func IsLoopback(addr net.Addr) bool {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.IsLoopback()
	}
	return addr.Network() == "unix"
}

// URL is how a client reaches a listener: http://HOST:PORT or
// unix:///PATH, the forms --server takes.
func URL(addr net.Addr) string {
	if addr.Network() == "unix" {
		return "unix://" + addr.String()
	}
	return "http://" + addr.String()
}
