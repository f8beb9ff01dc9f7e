package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/skilldock/skilldock/internal/api"
	"github.com/skilldock/skilldock/internal/clients"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// env is one machine's worth of state under a temporary root: a store, a
// home folder with a Claude Code configuration, XDG folders and skills.
type env struct {
	root, home, store, state, config, skills string
}

func newEnv(t *testing.T, root string) *env {
	t.Helper()
	e := &env{
		root: root, home: filepath.Join(root, "home"), store: filepath.Join(root, "store"),
		state: filepath.Join(root, "state"), config: filepath.Join(root, "config"), skills: filepath.Join(root, "skills"),
	}
	for _, d := range []string{filepath.Join(e.home, ".claude"), e.state, e.config, e.skills} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// useEnv points this process's environment at e, as the CLI reads it.
func (e *env) useEnv(t *testing.T) {
	t.Setenv("HOME", e.home)
	t.Setenv("XDG_STATE_HOME", e.state)
	t.Setenv("XDG_CONFIG_HOME", e.config)
	t.Setenv("XDG_DATA_HOME", filepath.Join(e.home, ".local", "share"))
	t.Setenv("SKILLDOCK_SERVER", "")
	t.Setenv("SKILLDOCK_TOKEN", "")
}

// service opens the façade on e, independent of the process environment.
func (e *env) service(t *testing.T) *service.Service {
	t.Helper()
	svc, err := service.New(service.Config{
		StorePath:   e.store,
		RecordsPath: filepath.Join(e.state, "skilldock", "skilldock.db"),
		Env:         clients.Env{Home: e.home, XDGConfigHome: e.config},
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// skill writes a valid skill folder called name and returns its path.
func (e *env) skill(t *testing.T, name string) string {
	t.Helper()
	return testutil.WriteSkill(t, e.skills, name, map[string]string{"scripts/run.sh": "#!/bin/sh\necho hi\n"})
}

// harness is a real server on a random loopback port, serving the real
// handler over the real façade. Every response it sends is checked
// against the server's own OpenAPI document.
type harness struct {
	t     *testing.T
	env   *env
	svc   *service.Service
	url   string
	addr  string
	token string
	http  *http.Client
}

func newHarness(t *testing.T, configure ...func(*api.Config)) *harness {
	t.Helper()
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	return startHarness(t, e, configure...)
}

func startHarness(t *testing.T, e *env, configure ...func(*api.Config)) *harness {
	t.Helper()
	svc := e.service(t)
	cfg := api.Config{Service: svc, Ready: func(context.Context) error { _, err := svc.Store().Index(); return err }}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer(l.Addr())
	v := newValidator(t, hs.Handler, l.Addr().String(), cfg.Token)
	hs.Handler = v.wrap(hs.Handler)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return &harness{t: t, env: e, svc: svc, url: "http://" + l.Addr().String(), addr: l.Addr().String(), token: cfg.Token, http: &http.Client{}}
}

// response is a finished request.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return r.header.Get("Content-Type") + " " + string(r.body) }

// errorText decodes an error body, which must be a JSON string.
func (r response) errorText(t *testing.T) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("error body is not a JSON string: %v: %s", err, r.body)
	}
	return s
}

// do sends a request. body may be nil, a string (sent as is) or a value
// (sent as JSON); a JSON Content-Type is set when there is a body, and
// headers given as "Name: value" override or add headers ("Name:" removes).
func (h *harness) do(method, path string, body any, headers ...string) response {
	h.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	setHeaders(req, headers)
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// expect sends a request, checks the status and decodes a JSON body into
// out when out is not nil.
func (h *harness) expect(want int, out any, method, path string, body any, headers ...string) response {
	h.t.Helper()
	r := h.do(method, path, body, headers...)
	if r.status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			h.t.Fatalf("%s %s: %v: %s", method, path, err, r.body)
		}
	}
	return r
}

// client is the Go client of this server.
func (h *harness) client() *api.Client {
	h.t.Helper()
	c, err := api.NewClient(h.url, h.token)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// validator checks every response against the server's OpenAPI document:
// the status must be documented for the route, and the body must match
// its schema. Requests that succeed are checked against the document too.
type validator struct {
	t      *testing.T
	router routers.Router
}

// validated collects, across tests, the "METHOD /path STATUS" checked;
// TestMain reads it to require that every operation was seen succeed.
var (
	validatedMu sync.Mutex
	validated   = map[string]bool{}
)

func newValidator(t *testing.T, handler http.Handler, host, token string) *validator {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/openapi.json", nil)
	req.Host = host
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	handler.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("GET /api/openapi.json: %d %s", rec.Code, rec.Body)
	}
	routersMu.Lock()
	defer routersMu.Unlock()
	key := rec.Body.String()
	router, ok := routersByDoc[key]
	if !ok {
		var err error
		if router, err = gorillamux.NewRouter(loadDoc(t, rec.Body.Bytes())); err != nil {
			t.Fatal(err)
		}
		routersByDoc[key] = router
	}
	return &validator{t: t, router: router}
}

// routersByDoc caches the router of each document served: loading and
// validating one is the slowest part of starting a harness.
var (
	routersMu    sync.Mutex
	routersByDoc = map[string]routers.Router{}
)

// loadDoc parses and validates an OpenAPI document.
func loadDoc(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

func (v *validator) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		tee := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tee, r)
		v.check(r, reqBody, tee)
	})
}

func (v *validator) check(r *http.Request, reqBody []byte, res *teeWriter) {
	status := res.status
	if status == 0 {
		status = 200
	}
	// The request as the server saw it, for route lookup and validation.
	vr := r.Clone(context.Background())
	vr.Body = io.NopCloser(bytes.NewReader(reqBody))
	vr.URL.Scheme, vr.URL.Host = "http", r.Host
	route, params, err := v.router.FindRoute(vr)
	if err != nil && strings.HasPrefix(vr.URL.Path, buildsPrefix) {
		// A build's tag may be sent with its slashes, which a path
		// template cannot describe; look it up as the escaped form.
		rest := strings.TrimPrefix(vr.URL.EscapedPath(), buildsPrefix)
		vr.URL.RawPath = buildsPrefix + strings.ReplaceAll(rest, "/", "%2F")
		vr.URL.Path, _ = url.PathUnescape(vr.URL.RawPath)
		route, params, err = v.router.FindRoute(vr)
	}
	if err != nil {
		// No route in the document: the server must have said so too.
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed && status != http.StatusForbidden && status != http.StatusRequestEntityTooLarge {
			v.t.Errorf("%s %s answered %d but the document has no such operation: %v", r.Method, r.URL.Path, status, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if status < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			v.t.Errorf("%s %s succeeded with a request the document does not allow: %v", r.Method, r.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: res.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(res.body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s %s: the %d response does not match the document: %v\nbody: %.2000s", r.Method, r.URL.Path, status, err, res.body.String())
	}
	key := fmt.Sprintf("%s %s %d", r.Method, route.Path, status)
	validatedMu.Lock()
	validated[key] = true
	validatedMu.Unlock()
}

const buildsPrefix = "/api/v1beta/skills/builds/"

// teeWriter keeps a copy of what a handler writes.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// repoRoot finds the repository's top folder from the package folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatal(errors.New("go.mod not found above " + dir))
		}
	}
}

// setHeaders applies "Name: value" lines to req: Host sets the request's
// host, an empty value removes the header, anything else sets it.
func setHeaders(req *http.Request, headers []string) {
	for _, kv := range headers {
		k, v, _ := strings.Cut(kv, ":")
		v = strings.TrimSpace(v)
		switch {
		case strings.EqualFold(k, "Host"):
			req.Host = v
		case v == "":
			req.Header.Del(k)
		default:
			req.Header.Set(k, v)
		}
	}
}
