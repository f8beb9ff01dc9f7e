package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FaultKind names a failure a FaultProxy injects.
type FaultKind string

// The faults a FaultProxy knows. Reset, Stall, Truncate and Flip act at byte
// After of a body: the response body, or with Fault.Request the request body
// (an upload).
const (
	// FaultNone forwards everything untouched.
	FaultNone FaultKind = ""
	// FaultReset aborts the connection with a TCP RST (SO_LINGER 0). On a
	// response with After 0 it comes before the status line.
	FaultReset FaultKind = "reset"
	// FaultStall stops sending (or, on a request, reading) for Fault.Stall,
	// then carries on if the client is still there. On a response with After
	// 0 it comes before the status line.
	FaultStall FaultKind = "stall"
	// FaultTruncate closes the connection cleanly (FIN) short of the
	// Content-Length; on a request it hangs up without answering.
	FaultTruncate FaultKind = "truncate"
	// FaultFlip inverts one byte and leaves sizes and headers alone. On a
	// request the registry receives the flipped byte.
	FaultFlip FaultKind = "flip"
	// Fault500 answers 500 with a registry-style error body.
	Fault500 FaultKind = "http-500"
	// Fault429 answers 429 Too Many Requests with "Retry-After: 1".
	Fault429 FaultKind = "http-429"
	// Fault409 answers 409 Conflict with a DENIED error, as registries
	// with immutable tags refuse a manifest pushed over an existing tag.
	Fault409 FaultKind = "http-409"
	// FaultCall runs Fault.Call before forwarding, for faults that live
	// outside the proxy (stopping the registry, say).
	FaultCall FaultKind = "call"
)

// Fault says what to break and when.
type Fault struct {
	Kind FaultKind
	// Method matches the request method; empty matches every method.
	Method string
	// Match is a substring of the request URI: the path and the unescaped
	// query, so a digest matches an upload's "?digest=sha256:…" too. Empty
	// matches every request.
	Match string
	// Times applies the fault to the first Times matching requests only, so
	// that retries then succeed; 0 applies it to every one.
	Times int
	// After is the body offset at which Reset, Stall, Truncate and Flip act.
	After int64
	// Request points Reset, Stall, Truncate and Flip at the request body
	// instead of the response body.
	Request bool
	// Stall is how long FaultStall lasts at most; it also ends when the
	// client hangs up (responses only: an unread upload hides that) or the
	// proxy closes.
	Stall time.Duration
	// Call runs for FaultCall, on the request's goroutine, before the
	// request is forwarded.
	Call func()
}

// FaultProxy is an HTTP reverse proxy on 127.0.0.1 in front of a registry
// that breaks the requests it is told to: connections reset or cut short
// mid-body, stalls, flipped bytes, 500 and 429 answers. The fault can be
// switched at any time from any goroutine, and counters show that it fired.
// Registries build upload Locations from the Host header, which the proxy
// passes on, so uploads come back through the proxy too.
type FaultProxy struct {
	Addr string // 127.0.0.1:PORT; a loopback address, so clients use plain HTTP

	rp     *httputil.ReverseProxy
	closed chan struct{}

	mu       sync.Mutex
	fault    Fault
	gen      int // bumped by Set, so faults still in flight count for their own generation only
	matched  int
	fired    int
	requests []string // "METHOD URI" of every request, in arrival order
}

type connKey struct{}

// proxyRecvBuffer caps the proxy's TCP receive buffer, so that less of an
// upload the proxy stops reading disappears into loopback buffers. The
// client's send buffer still grows to a few MiB: a stalled upload smaller
// than that is seen by the client as a wait for response headers.
const proxyRecvBuffer = 128 << 10

var errInjected = errors.New("fault proxy: injected fault")

// StartFaultProxy proxies to the plain-HTTP registry at target (host:port)
// until the test ends. It starts with no fault.
func StartFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	p := &FaultProxy{closed: make(chan struct{})}
	upstream := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		DisableCompression:  true,
	}
	p.rp = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	p.rp.Transport = upstream
	// A registry that is down (being restarted, say) is a 502, as a real
	// proxy in front of a registry would answer; it is not worth a log line.
	p.rp.ErrorLog = log.New(io.Discard, "", 0)
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, proxyRecvBuffer)
		})
		return errors.Join(err, serr)
	}}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		close(p.closed)
		_ = srv.Close()
		upstream.CloseIdleConnections()
	})
	p.Addr = l.Addr().String()
	return p
}

// Set replaces the fault and zeroes its counters.
func (p *FaultProxy) Set(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.matched, p.fired = f, 0, 0
	p.gen++
}

// Clear switches faults off.
func (p *FaultProxy) Clear() { p.Set(Fault{}) }

// Matched is how many requests matched the current fault, including those
// past its Times.
func (p *FaultProxy) Matched() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.matched
}

// Fired is how many times the current fault was actually applied. A body
// fault fires only once its byte offset is reached.
func (p *FaultProxy) Fired() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fired
}

// Count is how many requests with method (empty for any) and a URI
// containing match the proxy has seen since it started.
func (p *FaultProxy) Count(method, match string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.requests {
		m, uri, _ := strings.Cut(r, " ")
		if (method == "" || m == method) && strings.Contains(uri, match) {
			n++
		}
	}
	return n
}

// decide logs r and reports whether the current fault applies to it.
func (p *FaultProxy) decide(r *http.Request) (Fault, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	uri := requestURI(r)
	p.requests = append(p.requests, r.Method+" "+uri)
	f := p.fault
	if f.Kind == FaultNone || (f.Method != "" && f.Method != r.Method) || !strings.Contains(uri, f.Match) {
		return Fault{}, 0, false
	}
	p.matched++
	if f.Times > 0 && p.matched > f.Times {
		return Fault{}, 0, false
	}
	return f, p.gen, true
}

// requestURI is r's path and query with the query unescaped, so that an
// upload's "?digest=sha256:…" matches a digest.
func requestURI(r *http.Request) string {
	uri := r.URL.EscapedPath()
	if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil && q != "" {
		uri += "?" + q
	} else if r.URL.RawQuery != "" {
		uri += "?" + r.URL.RawQuery
	}
	return uri
}

func (p *FaultProxy) fire(gen int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen == p.gen {
		p.fired++
	}
}

// stall waits d, or less if ctx ends or the proxy closes; it reports whether
// the whole stall passed.
func (p *FaultProxy) stall(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-p.closed:
	}
	return false
}

func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, gen, ok := p.decide(r)
	if !ok {
		p.rp.ServeHTTP(w, r)
		return
	}
	switch f.Kind {
	case Fault500, Fault429, Fault409:
		p.fire(gen)
		// Reading the upload first keeps this a fault of status, not a race
		// between an early answer and the client's writes.
		_, _ = io.Copy(io.Discard, r.Body)
		status, code := http.StatusInternalServerError, "UNKNOWN"
		switch f.Kind {
		case Fault429:
			status, code = http.StatusTooManyRequests, "TOOMANYREQUESTS"
			w.Header().Set("Retry-After", "1")
		case Fault409:
			status, code = http.StatusConflict, "DENIED"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"injected by the fault proxy"}]}`+"\n", code)
		return
	case FaultCall:
		p.fire(gen)
		if f.Call != nil {
			f.Call()
		}
		p.rp.ServeHTTP(w, r)
		return
	}
	if f.Request {
		p.faultRequest(w, r, f, gen)
		return
	}
	if f.After <= 0 {
		switch f.Kind {
		case FaultReset:
			p.fire(gen)
			abort(r, true)
		case FaultStall:
			p.fire(gen)
			if !p.stall(r.Context(), f.Stall) {
				abort(r, false)
			}
			p.rp.ServeHTTP(w, r)
			return
		}
	}
	p.rp.ServeHTTP(&faultWriter{ResponseWriter: w, p: p, f: f, gen: gen, r: r}, r)
}

// faultRequest applies f to r's body.
func (p *FaultProxy) faultRequest(w http.ResponseWriter, r *http.Request, f Fault, gen int) {
	body := r.Body
	if f.Kind == FaultFlip {
		r.Body = &flipReader{ReadCloser: body, at: f.After, fired: func() { p.fire(gen) }}
		p.rp.ServeHTTP(w, r)
		return
	}
	prefix := make([]byte, f.After)
	n, err := io.ReadFull(body, prefix)
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(prefix[:n]), body), body}
	if err != nil { // the body ended before the fault's offset
		p.rp.ServeHTTP(w, r)
		return
	}
	p.fire(gen)
	switch f.Kind {
	case FaultReset:
		abort(r, true)
	case FaultTruncate:
		// Hang up cleanly (FIN) without an answer, then wait for the client
		// to notice and give up.
		if c, ok := r.Context().Value(connKey{}).(interface{ CloseWrite() error }); ok {
			_ = c.CloseWrite()
		}
		_, _ = io.Copy(io.Discard, body)
		abort(r, false)
	case FaultStall:
		if !p.stall(r.Context(), f.Stall) {
			abort(r, false)
		}
	}
	p.rp.ServeHTTP(w, r)
}

// abort ends the handler and closes the client's connection: with reset, by
// RST (SO_LINGER 0) so unsent bytes are dropped, else by FIN after what was
// written. The server recovers http.ErrAbortHandler without logging.
func abort(r *http.Request, reset bool) {
	if reset {
		if c, ok := r.Context().Value(connKey{}).(*net.TCPConn); ok {
			_ = c.SetLinger(0)
		}
	}
	panic(http.ErrAbortHandler)
}

// faultWriter applies a response fault at byte f.After of the body.
type faultWriter struct {
	http.ResponseWriter
	p    *FaultProxy
	f    Fault
	gen  int
	r    *http.Request
	n    int64 // body bytes passed on
	done bool
}

func (fw *faultWriter) Unwrap() http.ResponseWriter { return fw.ResponseWriter }

func (fw *faultWriter) Write(b []byte) (int, error) {
	at := fw.f.After - fw.n
	if fw.done || at >= int64(len(b)) {
		n, err := fw.ResponseWriter.Write(b)
		fw.n += int64(n)
		return n, err
	}
	fw.done = true
	fw.p.fire(fw.gen)
	if fw.f.Kind == FaultFlip {
		c := append([]byte(nil), b...)
		c[at] ^= 0xff
		n, err := fw.ResponseWriter.Write(c)
		fw.n += int64(n)
		return n, err
	}
	n, err := fw.ResponseWriter.Write(b[:at])
	fw.n += int64(n)
	if err == nil {
		err = http.NewResponseController(fw.ResponseWriter).Flush()
	}
	if err != nil {
		return n, err
	}
	switch fw.f.Kind {
	case FaultStall:
		if fw.p.stall(fw.r.Context(), fw.f.Stall) {
			m, err := fw.ResponseWriter.Write(b[at:])
			fw.n += int64(m)
			return n + m, err
		}
	case FaultReset:
		if c, ok := fw.r.Context().Value(connKey{}).(*net.TCPConn); ok {
			_ = c.SetLinger(0)
		}
	}
	// ReverseProxy answers a failed body copy with http.ErrAbortHandler,
	// which closes the connection short of its Content-Length.
	return n, errInjected
}

// flipReader inverts the byte at offset at.
type flipReader struct {
	io.ReadCloser
	at    int64
	n     int64
	fired func()
}

func (f *flipReader) Read(b []byte) (int, error) {
	n, err := f.ReadCloser.Read(b)
	if i := f.at - f.n; i >= 0 && i < int64(n) {
		b[i] ^= 0xff
		f.fired()
	}
	f.n += int64(n)
	return n, err
}
