package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"

	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/skilldock/skilldock/internal/errdef"
)

// Errors the HTTP layer itself raises. They are wrapped in errdef.UserError
// so the message stays one line for people; statusFor maps them.
var (
	errForbidden      = errors.New("forbidden")
	errMediaType      = errors.New("unsupported media type")
	errNotImplemented = errors.New("not implemented")
	errNoRoute        = errors.New("no such endpoint")
	errMethod         = errors.New("method not allowed")
	errNotReady       = errors.New("not ready")
	errTooLarge       = errors.New("request body too large")
)

// statusFor maps an error to the HTTP status the server answers with. It is
// the only place that decides one; Client.errorFor is its inverse.
func statusFor(err error) int {
	var maxBytes *http.MaxBytesError
	var regErr *errcode.ErrorResponse
	var netErr net.Error
	switch {
	case errors.As(err, &maxBytes), errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, errNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, errNoRoute):
		return http.StatusNotFound
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	case errors.Is(err, errNotReady):
		return http.StatusServiceUnavailable
	case errors.Is(err, errdef.ErrInvalid), errors.Is(err, errdef.ErrUnsupported), errors.Is(err, errdef.ErrLimit):
		return http.StatusBadRequest
	case errors.Is(err, errdef.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errdef.ErrAlreadyExists):
		return http.StatusConflict
	case errors.Is(err, errdef.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errdef.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, errdef.ErrUpstream):
		return http.StatusBadGateway
	// Before net.Error: a context deadline is a net.Error too.
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.As(err, &regErr):
		if regErr.StatusCode == http.StatusTooManyRequests {
			return http.StatusTooManyRequests
		}
		return http.StatusBadGateway
	case errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// credentialPatterns find what must never reach a response or a log line,
// whatever a lower layer put into an error: URL user info and
// Authorization-style values.
var credentialPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`://[^/@\s]+@`), "://REDACTED@"},
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "$1 REDACTED"},
	{regexp.MustCompile(`(?i)\b(password|token|secret)=[^&\s]+`), "$1=REDACTED"},
}

// message is the one line a response carries for err: its text without
// credentials. Stack traces never reach it: errors are values here, and a
// panic is answered with a fixed message.
func message(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	for _, p := range credentialPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	if s == "" {
		s = http.StatusText(statusFor(err))
	}
	return s
}

// writeError answers with the error's status and its message as a JSON
// string, the error shape of the contract.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusFor(err)
	msg := message(err)
	if status >= 500 {
		logger(r.Context()).Error("request failed", "status", status, "error", msg)
	}
	writeJSON(w, status, msg)
}

// writeJSON encodes v with status. A nil v with 204 writes no body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type loggerKey struct{}
