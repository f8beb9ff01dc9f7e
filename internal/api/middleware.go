package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"
)

// requestIDHeader carries the request id both ways.
const requestIDHeader = "X-Request-Id"

// requestIDPattern is what a caller's request id may look like; anything
// else is replaced, so a log line cannot be forged through it.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// observe gives every request an id, a logger carrying it, a log line when
// it ends, and a fixed 500 answer (never a stack trace) if a handler panics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		log := s.log.With("request_id", id)
		route := new(string) // set by the matched route, read for the log line
		ctx := context.WithValue(context.WithValue(r.Context(), loggerKey{}, log), routeKey{}, route)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					// A response cut off on purpose: net/http closes the
					// connection quietly once the panic reaches it.
					log.Warn("request aborted", "method", r.Method, "path", r.URL.Path, "route", *route,
						"bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds())
					panic(p)
				}
				log.Error("handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeJSON(rec, http.StatusInternalServerError, "internal error; the server log has the details under request id "+id)
				}
			}
			log.Info("request", "method", r.Method, "path", r.URL.Path, "route", *route,
				"status", rec.status(), "bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// recorder notes the status and size of a response for the log.
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int64
	wrote bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wrote {
		r.code, r.wrote = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) status() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type routeKey struct{}

// endpoint runs a route's handler within its timeout: the context ends
// after d, and the connection's deadlines are moved to just past it. The
// read deadline is moved too, because net/http cancels a request's context
// when a read on its connection times out.
func endpoint(path string, d time.Duration, h handlerFunc) http.Handler {
	next := adapt(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route, ok := r.Context().Value(routeKey{}).(*string); ok {
			*route = path
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(d + 10*time.Second))
		_ = rc.SetWriteDeadline(time.Now().Add(d + 10*time.Second))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// adapt turns a handlerFunc into an http.Handler that answers errors.
func adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}
