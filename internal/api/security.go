package api

import (
	"crypto/subtle"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skilldock/skilldock/internal/errdef"
)

// hostPolicy says which Host and Origin values name this server. A nil
// policy (a Unix socket) accepts any Host: no browser can reach a socket,
// so DNS rebinding cannot either.
type hostPolicy struct {
	port    string
	allowed map[string]bool // lowercase host:port
	names   map[string]bool // lowercase host names allowed on the bound port
}

// newHostPolicy allows the loopback names on the bound port, the bound
// address itself, and the --allow-host entries (NAME matches NAME and
// NAME:PORT on the bound port; NAME:PORT matches exactly, e.g. behind a
// proxy).
func newHostPolicy(addr net.Addr, extra []string) *hostPolicy {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil
	}
	port := strconv.Itoa(tcp.Port)
	p := &hostPolicy{port: port, allowed: map[string]bool{}, names: map[string]bool{}}
	for _, h := range []string{"127.0.0.1", "localhost", "::1"} {
		p.allowed[net.JoinHostPort(h, port)] = true
	}
	if !tcp.IP.IsUnspecified() && tcp.IP != nil {
		p.allowed[net.JoinHostPort(tcp.IP.String(), port)] = true
	}
	for _, h := range extra {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, _, err := net.SplitHostPort(h); err == nil {
			p.allowed[h] = true
		} else if h != "" {
			p.names[strings.Trim(h, "[]")] = true
		}
	}
	return p
}

func (p *hostPolicy) allows(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if p.allowed[hostport] {
		return true
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return p.names[strings.Trim(hostport, "[]")]
	}
	return port == p.port && p.names[host]
}

// guard holds the checks every request passes before routing: the Host
// header (DNS rebinding), cross-site browser requests (CSRF), the bearer
// token, the body's type and size. No CORS header is ever sent, so a
// browser page on another origin can neither read an answer nor preflight
// a JSON request.
func (s *Server) guard(policy *hostPolicy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if err := s.check(policy, r); err != nil {
			if errors.Is(err, errdef.ErrUnauthorized) {
				h.Set("WWW-Authenticate", `Bearer realm="skilldock"`)
			}
			writeError(w, r, err)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeError(w, r, errdef.Errorf(errTooLarge, "the request body is %d bytes; the limit is %d", r.ContentLength, s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) check(policy *hostPolicy, r *http.Request) error {
	if policy != nil && !policy.allows(r.Host) {
		return errdef.Errorf(errForbidden, "host %q is not allowed; use http://127.0.0.1:%s or start the server with --allow-host", r.Host, policy.port)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return errdef.New(errForbidden, "cross-site browser requests are refused")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || policy == nil || !policy.allows(u.Host) {
			return errdef.Errorf(errForbidden, "requests from origin %q are refused", origin)
		}
	}
	if s.cfg.Token != "" && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.cfg.Token)) != 1 {
			return errdef.New(errdef.ErrUnauthorized, "missing or wrong API token; pass --token or set SKILLDOCK_TOKEN")
		}
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		// A browser form can post urlencoded, multipart or text/plain
		// bodies across sites without a preflight, never JSON.
		ct := r.Header.Get("Content-Type")
		if ct == "" && r.ContentLength == 0 {
			return nil
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return errdef.Errorf(errMediaType, "the request body must be Content-Type: application/json, not %q", ct)
		}
	}
	return nil
}
