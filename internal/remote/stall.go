package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// stallGuard fails a request whose body stops moving for longer than idle:
// an upload the server stops reading, or a download the server stops
// sending. net/http bounds connecting and waiting for headers, but a body
// that stalls would otherwise hang the transfer for as long as the
// connection stays open. The clock runs only while the other side is being
// waited for, so a slow reader of a response is not mistaken for a stalled
// server.
type stallGuard struct {
	base http.RoundTripper
	idle time.Duration
}

// stallError is the cause of a request cancelled for a stalled body. It is
// a timeout, so the retrying transport and transient treat it as one.
type stallError struct{ idle time.Duration }

func (e stallError) Error() string {
	return fmt.Sprintf("no data moved for %v; the connection stalled", e.idle)
}
func (stallError) Timeout() bool   { return true }
func (stallError) Temporary() bool { return true }

func (g stallGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{idle: g.idle, fire: func() { cancel(stallError{g.idle}) }}
	out := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		out.Body = &sendBody{ReadCloser: req.Body, w: w}
		if req.GetBody != nil {
			out.GetBody = func() (io.ReadCloser, error) {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				return &sendBody{ReadCloser: b, w: w}, nil
			}
		}
	}
	resp, err := g.base.RoundTrip(out)
	w.sent()
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &recvBody{ReadCloser: resp.Body, w: w, cancel: cancel}
	return resp, nil
}

// watchdog calls fire once idle passes while armed.
type watchdog struct {
	idle time.Duration
	fire func()

	mu   sync.Mutex
	t    *time.Timer
	done bool // the request is sent: its body no longer arms the dog
}

// sent ends the request's part: the transport has an answer or gave up.
func (w *watchdog) sent() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.t != nil {
		w.t.Stop()
	}
}

// arm starts the clock; for the request body only until it is sent.
func (w *watchdog) arm(sending bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if sending && w.done {
		return
	}
	if w.t == nil {
		w.t = time.AfterFunc(w.idle, w.fire)
		return
	}
	w.t.Reset(w.idle)
}

func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t != nil {
		w.t.Stop()
	}
}

// sendBody is a request body. Between reads the transport is writing what it
// read to the connection; a write that does not finish within idle means the
// server stopped reading.
type sendBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *sendBody) Read(p []byte) (int, error) {
	b.w.disarm()
	n, err := b.ReadCloser.Read(p)
	if err == nil {
		b.w.arm(true)
	}
	return n, err
}

func (b *sendBody) Close() error {
	b.w.disarm()
	return b.ReadCloser.Close()
}

// recvBody is a response body; a read that waits longer than idle means the
// server stopped sending.
type recvBody struct {
	io.ReadCloser
	w      *watchdog
	cancel context.CancelCauseFunc
}

func (b *recvBody) Read(p []byte) (int, error) {
	b.w.arm(false)
	n, err := b.ReadCloser.Read(p)
	b.w.disarm()
	return n, err
}

func (b *recvBody) Close() error {
	b.w.disarm()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
