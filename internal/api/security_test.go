package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skilldock/skilldock/internal/api"
	"github.com/skilldock/skilldock/internal/errdef"
)

func TestHostHeaderMustNameTheServer(t *testing.T) {
	h := newHarness(t, func(c *api.Config) { c.AllowHosts = []string{"skills.internal", "Proxy.Example:443"} })
	_, port, _ := net.SplitHostPort(h.addr)
	for _, c := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"skills.internal", 200},
		{"skills.internal:" + port, 200},
		{"proxy.example:443", 200},
		{"evil.example:" + port, 403}, // a rebinding page's own name
		{"evil.example", 403},
		{"127.0.0.1:1", 403},
		{"localhost", 403},
		{"skills.internal:9", 403},
		{"127.0.0.1.nip.io:" + port, 403},
	} {
		t.Run(c.host, func(t *testing.T) {
			r := h.do("GET", "/api/v1beta/skills/builds", nil, "Host: "+c.host)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r)
			}
		})
	}
}

func TestCrossSiteBrowserRequestsAreRefused(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	body := map[string]string{"path": dir}
	for _, c := range []struct {
		name   string
		method string
		header string
		want   int
	}{
		{"foreign origin, POST", "POST", "Origin: http://evil.example", 403},
		{"foreign origin, GET", "GET", "Origin: http://evil.example", 403},
		{"same host, other port", "POST", "Origin: http://127.0.0.1:1", 403},
		{"opaque origin", "POST", "Origin: null", 403},
		{"cross-site fetch", "POST", "Sec-Fetch-Site: cross-site", 403},
		{"same-site fetch (another port)", "POST", "Sec-Fetch-Site: same-site", 403},
		{"own origin", "POST", "Origin: " + h.url, 200},
		{"same-origin fetch", "POST", "Sec-Fetch-Site: same-origin", 200},
		{"typed in the address bar", "GET", "Sec-Fetch-Site: none", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r response
			if c.method == "POST" {
				r = h.do("POST", "/api/v1beta/skills/validate", body, c.header)
			} else {
				r = h.do("GET", "/api/v1beta/skills/builds", nil, c.header)
			}
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r)
			}
		})
	}
}

func TestNoCORSHeadersEvenOnPreflight(t *testing.T) {
	h := newHarness(t)
	for _, r := range []response{
		h.do("OPTIONS", "/api/v1beta/skills", nil, "Origin: http://evil.example", "Access-Control-Request-Method: POST"),
		h.do("OPTIONS", "/api/v1beta/skills", nil),
		h.do("GET", "/api/v1beta/skills", nil),
		h.do("GET", "/api/v1beta/skills", nil, "Origin: http://evil.example"),
	} {
		for k := range r.header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("CORS header %s: %s", k, r.header.Get(k))
			}
		}
		if r.status == 200 && r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("no nosniff header")
		}
	}
}

func TestPostBodiesMustBeJSON(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	form := "path=" + dir
	for _, c := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"form post", "application/x-www-form-urlencoded", form, 415},
		{"multipart", "multipart/form-data; boundary=x", "--x--", 415},
		{"text/plain", "text/plain", `{"path":"` + dir + `"}`, 415},
		{"no type with a body", "", `{"path":"` + dir + `"}`, 415},
		{"JSON with charset", "application/json; charset=utf-8", `{"path":"` + dir + `"}`, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("POST", "/api/v1beta/skills/validate", c.body, "Content-Type: "+c.contentType)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r)
			}
		})
	}
	// A POST without a body needs no type.
	h.expect(200, nil, "POST", "/api/skilldock/v1/gc", nil)
	// A form post with an empty body is still a form post.
	h.expect(415, nil, "POST", "/api/skilldock/v1/gc", "", "Content-Type: application/x-www-form-urlencoded")
}

func TestOversizedBodyIsRefused(t *testing.T) {
	h := newHarness(t)
	big := `{"path":"/` + strings.Repeat("a", api.DefaultMaxBodyBytes) + `"}`
	r := h.do("POST", "/api/v1beta/skills/validate", big)
	if r.status != 413 {
		t.Errorf("declared length over the limit: %d, want 413: %.200s", r.status, r)
	}
	// Without a declared length the limit is found while reading.
	req, err := http.NewRequest("POST", h.url+"/api/v1beta/skills/validate", io.MultiReader(strings.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("the request declared its length %d", req.ContentLength)
	}
	if resp.StatusCode != 413 {
		t.Errorf("streamed body over the limit: %d, want 413", resp.StatusCode)
	}
}

func TestTokenIsRequiredWhenConfigured(t *testing.T) {
	const token = "7f3c9a1e5b2d4c6a8e0f1a2b3c4d5e6f"
	var logs syncBuffer
	h := newHarness(t, func(c *api.Config) {
		c.Token = token
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	h.token = ""
	for _, c := range []struct {
		name, path, auth string
		want             int
	}{
		{"no token", "/api/v1beta/skills/builds", "", 401},
		{"wrong token", "/api/v1beta/skills/builds", "Bearer " + token[:len(token)-1] + "0", 401},
		{"token as basic auth", "/api/v1beta/skills/builds", "Basic " + token, 401},
		{"right token", "/api/v1beta/skills/builds", "Bearer " + token, 200},
		{"scheme in lower case", "/api/v1beta/skills/builds", "bearer " + token, 200},
		{"the document needs it too", "/api/openapi.json", "", 401},
		{"liveness needs none", "/healthz", "", 200},
		{"readiness needs none", "/readyz", "", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("GET", c.path, nil, "Authorization: "+c.auth)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r)
			}
			if strings.Contains(string(r.body), token) {
				t.Errorf("the answer holds the token: %s", r.body)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	good, err := api.NewClient(h.url, token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.ListBuilds(context.Background()); err != nil {
		t.Errorf("client with the token: %v", err)
	}
	bad, _ := api.NewClient(h.url, "")
	if _, err := bad.ListBuilds(context.Background()); !errors.Is(err, errdef.ErrUnauthorized) || !strings.Contains(err.Error(), "SKILLDOCK_TOKEN") {
		t.Errorf("client without the token: %v", err)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the log holds the token:\n%s", logs.String())
	}
}

// fakeAddrListener reports another address than the one it is bound to, to
// see what Serve makes of a non-loopback address without binding one.
type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

func (l fakeAddrListener) Addr() net.Addr { return l.addr }

func TestServeRefusesANonLoopbackAddressWithoutAToken(t *testing.T) {
	e := newEnv(t, t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	public := fakeAddrListener{l, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 8080}}
	for _, token := range []string{"", "s3cret-token-value"} {
		srv, err := api.New(api.Config{Service: e.service(t), Token: token})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, public) }()
		if token == "" {
			err := <-done
			if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "without a token") {
				t.Errorf("Serve without a token: %v", err)
			}
			cancel()
			continue
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve with a token: %v", err)
		}
	}
}

func TestRequestIDIsEchoedAndLogged(t *testing.T) {
	var logs syncBuffer
	h := newHarness(t, func(c *api.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	r := h.do("GET", "/healthz", nil, "X-Request-Id: trace-42.a")
	if got := r.header.Get("X-Request-Id"); got != "trace-42.a" {
		t.Errorf("echoed id %q", got)
	}
	r = h.do("GET", "/healthz", nil)
	generated := r.header.Get("X-Request-Id")
	if len(generated) < 16 {
		t.Errorf("generated id %q", generated)
	}
	r = h.do("GET", "/healthz", nil, "X-Request-Id: bad id\twith spaces")
	if got := r.header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \t") {
		t.Errorf("an unsafe id was echoed: %q", got)
	}
	h.do("GET", "/api/v1beta/skills/nope/extra", nil, "X-Request-Id: trace-43")
	for _, want := range []string{"request_id=trace-42.a", "request_id=" + generated, "request_id=trace-43", "status=404", "route=/healthz"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestUnixSocketIsPrivateAndNeedsNoHostCheck(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	sock := filepath.Join(t.TempDir(), "sd.sock")
	l, err := api.Listen("", sock)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 || info.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want 0600", info.Mode())
	}
	if _, err := api.Listen("", sock); !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Errorf("a second server on a live socket: %v", err)
	}
	srv, err := api.New(api.Config{Service: e.service(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	c, err := api.NewClient("unix://"+sock, "")
	if err != nil {
		t.Fatal(err)
	}
	if builds, err := c.ListBuilds(ctx); err != nil || len(builds) != 0 {
		t.Errorf("ListBuilds over the socket: %v %v", builds, err)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequest("GET", "http://evil.example/healthz", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("any Host on a socket: %d, want 200", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", "http://localhost/healthz", nil)
	req.Header.Set("Origin", "http://evil.example")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("a browser origin on a socket: %d, want 403", resp.StatusCode)
	}
}

func TestListenReplacesOnlyAStaleSocket(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l, err = api.Listen("", stale)
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	l.Close()

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Listen("", file); !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Errorf("a regular file was not refused: %v", err)
	}
}

func TestClientRefusesBadServerURLs(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8080", "ftp://host", "http://", "http://host/api", "unix://relative/sock", "http://user:pw@host:1"} {
		if _, err := api.NewClient(u, ""); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("NewClient(%q): %v", u, err)
		}
	}
	c, err := api.NewClient("http://127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListBuilds(context.Background())
	if err == nil || !strings.Contains(err.Error(), "skilldock serve") {
		t.Errorf("unreachable server: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
