package api_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/api"
	"github.com/skilldock/skilldock/internal/testutil"
)

// These tests make the real server answer the documented error statuses of
// the ToolHive contract's routes (/api/v1beta/skills), each caused the way
// it happens in use: a missing API token, a registry that refuses, throttles,
// is unreachable or stalls, a store or records database broken under the
// running server, a route's deadline, a caller that goes away.

const contractToken = "0b7e4c2a9d1f3e5a7c9b1d3f5a7e9c1b"

// contractOp is one request to a contract route.
type contractOp struct {
	method, path string
	body         any
}

// contractOps is one request to each route of the contract.
func contractOps() []contractOp {
	return []contractOp{
		{"GET", "/api/v1beta/skills", nil},
		{"POST", "/api/v1beta/skills", map[string]any{"name": "/nowhere/hello"}},
		{"GET", "/api/v1beta/skills/hello", nil},
		{"DELETE", "/api/v1beta/skills/hello", nil},
		{"POST", "/api/v1beta/skills/validate", map[string]string{"path": "/nowhere/hello"}},
		{"POST", "/api/v1beta/skills/build", map[string]string{"path": "/nowhere/hello"}},
		{"GET", "/api/v1beta/skills/builds", nil},
		{"DELETE", "/api/v1beta/skills/builds/hello", nil},
		{"POST", "/api/v1beta/skills/push", map[string]any{"reference": "127.0.0.1:1/acme/hello:1"}},
		{"GET", "/api/v1beta/skills/content?ref=hello", nil},
		{"POST", "/api/v1beta/skills/sync", nil},
		{"POST", "/api/v1beta/skills/upgrade", nil},
	}
}

// TestContractStatus401WithoutTheToken: a server started with a token
// refuses every contract route to a caller without it, before routing.
func TestContractStatus401WithoutTheToken(t *testing.T) {
	h := newHarness(t, func(c *api.Config) { c.Token = contractToken })
	h.token = ""
	for _, op := range contractOps() {
		r := h.expect(401, nil, op.method, op.path, op.body)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", op.method, op.path)
		}
	}
	h.token = "wrong-" + contractToken
	h.expect(401, nil, "GET", "/api/v1beta/skills/builds", nil)
}

// TestContractStatus401FromTheRegistry: a registry that demands credentials
// none are saved for is a 401 on the routes that reach a registry.
func TestContractStatus401FromTheRegistry(t *testing.T) {
	addr, _, _ := testutil.Registry(t, true)
	registryRan = true
	h := newHarness(t)
	t.Setenv("DOCKER_CONFIG", filepath.Join(h.env.home, ".docker"))
	repo := addr + "/" + testutil.Repo(t) + "/hello"
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello"), "tag": repo + ":1"})

	h.expectErr(401, "asks for credentials", "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1"})
	h.expectErr(401, "asks for credentials", "GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(repo+":2"), nil)
	h.expectErr(401, "asks for credentials", "POST", "/api/v1beta/skills", map[string]any{"name": repo, "version": "2", "clients": []string{"claude-code"}})
}

// builtBehindFaultProxy starts a server (configured by opts) whose
// registry is reached through a fault proxy, and builds "hello" tagged
// repo:1 for it to push; repo is in a repository of the test's own.
func builtBehindFaultProxy(t *testing.T, opts ...func(*api.Config)) (h *harness, proxy *testutil.FaultProxy, repo string) {
	t.Helper()
	addr, _, _ := testutil.Registry(t, false)
	registryRan = true
	proxy = testutil.StartFaultProxy(t, addr)
	h = newHarness(t, opts...)
	t.Setenv("DOCKER_CONFIG", filepath.Join(h.env.home, ".docker"))
	repo = proxy.Addr + "/" + testutil.Repo(t) + "/hello"
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello"), "tag": repo + ":1"})
	return h, proxy, repo
}

// TestContractStatus429WhenTheRegistryThrottles: a registry that answers
// 429 to every request, past the client's retries, is a 429.
func TestContractStatus429WhenTheRegistryThrottles(t *testing.T) {
	h, proxy, repo := builtBehindFaultProxy(t)
	proxy.Set(testutil.Fault{Kind: testutil.Fault429})

	h.expectErr(429, "HTTP 429", "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1"})
	h.expectErr(429, "HTTP 429", "GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(repo+":2"), nil)
	h.expectErr(429, "HTTP 429", "POST", "/api/v1beta/skills", map[string]any{"name": repo, "version": "2", "clients": []string{"claude-code"}})
	if proxy.Fired() == 0 {
		t.Error("the proxy never answered 429")
	}
}

// TestContractStatus502WhenTheRegistryRefusesThePush: a registry that
// refuses the manifest (409, as one with immutable tags does) answered
// the push; the server reports the registry's refusal as a bad gateway,
// not as a failure of its own.
func TestContractStatus502WhenTheRegistryRefusesThePush(t *testing.T) {
	h, proxy, repo := builtBehindFaultProxy(t)
	proxy.Set(testutil.Fault{Kind: testutil.Fault409, Method: "PUT", Match: "/manifests/"})

	h.expectErr(502, "refused", "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1"})
	if proxy.Fired() == 0 {
		t.Error("the proxy never refused a manifest")
	}
}

// TestContractStatus502WhenTheRegistryIsUnreachable: nothing listens on the
// registry's address.
func TestContractStatus502WhenTheRegistryIsUnreachable(t *testing.T) {
	h := newHarness(t)
	t.Setenv("DOCKER_CONFIG", filepath.Join(h.env.home, ".docker"))
	repo := closedAddr(t) + "/acme/hello"
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello"), "tag": repo + ":1"})

	h.expectErr(502, "cannot reach", "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1"})
	h.expectErr(502, "cannot reach", "POST", "/api/v1beta/skills", map[string]any{"name": repo, "version": "1", "clients": []string{"claude-code"}})
	h.expectErr(502, "cannot reach", "GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(repo+":2"), nil)
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestContractStatus504WhenTheRegistryStalls: a registry that stops
// answering outlives the long routes' timeout.
func TestContractStatus504WhenTheRegistryStalls(t *testing.T) {
	h, proxy, repo := builtBehindFaultProxy(t, func(c *api.Config) { c.LongTimeout = 2 * time.Second })
	proxy.Set(testutil.Fault{Kind: testutil.FaultStall, Stall: 30 * time.Second})

	h.expectErr(504, "deadline exceeded", "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1"})
	h.expectErr(504, "deadline exceeded", "GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(repo+":2"), nil)
	h.expectErr(504, "deadline exceeded", "POST", "/api/v1beta/skills", map[string]any{"name": repo, "version": "2", "clients": []string{"claude-code"}})
	if proxy.Fired() == 0 {
		t.Error("the proxy never stalled")
	}
}

// TestContractStatus504WhenTheDeadlinePasses: with a timeout shorter than
// any work, the routes that consult their deadline answer 504.
func TestContractStatus504WhenTheDeadlinePasses(t *testing.T) {
	h := newHarness(t, func(c *api.Config) { c.ShortTimeout, c.LongTimeout = time.Nanosecond, time.Nanosecond })
	h.expectErr(504, "deadline exceeded", "GET", "/api/v1beta/skills", nil)
	h.expectErr(504, "deadline exceeded", "GET", "/api/v1beta/skills/hello", nil)
	h.expectErr(504, "deadline exceeded", "DELETE", "/api/v1beta/skills/hello", nil)
	h.expectErr(504, "deadline exceeded", "GET", "/api/v1beta/skills/builds", nil)
	h.expectErr(504, "deadline exceeded", "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello")})
}

// TestContractValidateStopsWhenTheCallerLeavesOrTheDeadlinePasses: a
// folder of thousands of files takes a while to walk; the walk gives up
// when the route's deadline passes (504) or its caller goes away (503).
func TestContractValidateStopsWhenTheCallerLeavesOrTheDeadlinePasses(t *testing.T) {
	h := newHarness(t)
	files := map[string]string{}
	for i := range 3000 {
		files[fmt.Sprintf("references/%02d/%04d.md", i/100, i)] = "A note.\n"
	}
	dir := testutil.WriteSkill(t, h.env.skills, "hello", files)
	body := map[string]string{"path": dir}

	// The folder itself is a valid skill, so only the caller or the
	// deadline can stop its validation.
	var res struct{ Valid bool }
	h.expect(200, &res, "POST", "/api/v1beta/skills/validate", body)
	if !res.Valid {
		t.Fatalf("the folder is not a valid skill: %+v", res)
	}
	h.expectCutShort503(op("POST", "/api/v1beta/skills/validate", fmt.Sprintf(`{"path":%q}`, dir)))
	late := startHarness(t, h.env, func(c *api.Config) { c.ShortTimeout = time.Nanosecond })
	late.expectErr(504, "deadline exceeded", "POST", "/api/v1beta/skills/validate", body)
}

// TestContractDeleteBuildWaitsForTheStoreLockOnlyAsLongAsItsCaller: while
// another process holds the store's index lock, deleting a build waits
// until its deadline passes (504) or its caller goes away (503), and then
// has removed nothing; once the lock is free, the delete goes through.
func TestContractDeleteBuildWaitsForTheStoreLockOnlyAsLongAsItsCaller(t *testing.T) {
	h := newHarness(t)
	var built struct{ Reference string }
	h.expect(200, &built, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello")})
	del := "/api/v1beta/skills/builds/" + url.PathEscape(built.Reference)
	tags := func() []string {
		var builds struct{ Builds []struct{ Tag string } }
		h.expect(200, &builds, "GET", "/api/v1beta/skills/builds", nil)
		var out []string
		for _, b := range builds.Builds {
			out = append(out, b.Tag)
		}
		return out
	}
	before := tags()
	if !slices.Contains(before, built.Reference) {
		t.Fatalf("builds %q do not hold %s", before, built.Reference)
	}
	release := testutil.LockStoreIndex(t, h.env.store)

	short := startHarness(t, h.env, func(c *api.Config) { c.ShortTimeout = 100 * time.Millisecond })
	short.expectErr(504, "deadline exceeded", "DELETE", del, nil)
	if got := h.hangUp("DELETE", del); got != 503 {
		t.Errorf("DELETE %s by a caller that left: status %d, want 503", del, got)
	}
	if after := tags(); !slices.Equal(after, before) {
		t.Fatalf("builds after the deletes that gave up: %q, want %q", after, before)
	}

	release()
	h.expect(204, nil, "DELETE", del, nil)
	if after := tags(); slices.Contains(after, built.Reference) || len(after) != len(before)-1 {
		t.Errorf("builds after the delete: %q, want %q without %s", after, before, built.Reference)
	}
}

// TestContractStatus409WhenAPullWouldReplaceABuild: previewing a registry
// reference whose cache tag is a local build of other content would
// replace that build; the server refuses.
func TestContractStatus409WhenAPullWouldReplaceABuild(t *testing.T) {
	addr, _, _ := testutil.Registry(t, false)
	registryRan = true
	repo := addr + "/" + testutil.Repo(t) + "/hello"

	pusher := newHarness(t)
	t.Setenv("DOCKER_CONFIG", filepath.Join(pusher.env.home, ".docker"))
	pusher.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": pusher.env.skill(t, "hello"), "tag": repo + ":latest"})
	pusher.expect(204, nil, "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":latest"})

	h := startHarness(t, newEnv(t, t.TempDir()))
	other := testutil.WriteSkill(t, h.env.skills, "hello", map[string]string{"scripts/run.sh": "#!/bin/sh\necho other\n"})
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": other, "tag": repo + ":latest"})
	h.expectErr(409, "is a local build with another digest", "GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(repo), nil)
	// The build is still there, untouched.
	var builds struct{ Builds []struct{ Tag string } }
	h.expect(200, &builds, "GET", "/api/v1beta/skills/builds", nil)
	if len(builds.Builds) != 1 || builds.Builds[0].Tag != repo+":latest" {
		t.Errorf("builds after the refused pull: %+v", builds)
	}
}

// TestContractStatus500WhenTheStoreIsCorrupt: index.json damaged under the
// running server is a server-side failure.
func TestContractStatus500WhenTheStoreIsCorrupt(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})
	if err := os.WriteFile(filepath.Join(h.env.store, "index.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.expectErr(500, "index is not valid JSON", "GET", "/api/v1beta/skills/builds", nil)
	h.expectErr(500, "index is not valid JSON", "DELETE", "/api/v1beta/skills/builds/hello", nil)
	h.expectErr(500, "index is not valid JSON", "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})
}

// TestContractStatus400WhenTheStoreIndexIsTooLarge: an index past the
// store's size limit is refused as a limit, before it is read.
func TestContractStatus400WhenTheStoreIndexIsTooLarge(t *testing.T) {
	h := newHarness(t)
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello")})
	// Sparse: no disk is used for the size.
	if err := os.Truncate(filepath.Join(h.env.store, "index.json"), 257<<20); err != nil {
		t.Fatal(err)
	}
	h.expectErr(400, "larger than", "GET", "/api/v1beta/skills/builds", nil)
}

// TestContractStatus500WhenTheRecordsCannotOpen: the installs database's
// path is a folder, so the installed-skills routes cannot read it.
func TestContractStatus500WhenTheRecordsCannotOpen(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	if err := os.MkdirAll(filepath.Join(e.state, "skilldock", "skilldock.db"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, e)
	h.expectErr(500, "records database", "GET", "/api/v1beta/skills", nil)
	h.expectErr(500, "records database", "GET", "/api/v1beta/skills/hello", nil)
	h.expectErr(500, "records database", "DELETE", "/api/v1beta/skills/hello", nil)
	h.expectErr(500, "records database", "POST", "/api/v1beta/skills", map[string]any{"name": e.skill(t, "hello"), "clients": []string{"claude-code"}})
}

// TestContractStatus500WhenTheCredentialsCannotBeRead: a docker
// config.json that is not JSON stops every registry operation.
func TestContractStatus500WhenTheCredentialsCannotBeRead(t *testing.T) {
	h := newHarness(t)
	docker := filepath.Join(h.env.home, ".docker")
	t.Setenv("DOCKER_CONFIG", docker)
	if err := os.MkdirAll(docker, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docker, "config.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := closedAddr(t) + "/acme/hello"
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello"), "tag": repo + ":1"})
	h.expectErr(500, "config.json", "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1"})
	h.expectErr(500, "config.json", "GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(repo+":2"), nil)
	h.expectErr(500, "config.json", "POST", "/api/v1beta/skills", map[string]any{"name": repo, "version": "2", "clients": []string{"claude-code"}})
}

// TestContractStatus503WhenTheCallerGoesAway: a caller that hangs up before
// sending all of its body cancels the request; the routes that consult
// their context answer 503, which the caller may no longer read but the
// server writes (and the validator checks) all the same. Here the caller
// only half-closes, so it can read the answer.
func TestContractStatus503WhenTheCallerGoesAway(t *testing.T) {
	h := newHarness(t)
	h.expectCutShort503(
		op("GET", "/api/v1beta/skills", ""),
		op("GET", "/api/v1beta/skills/hello", ""),
		op("DELETE", "/api/v1beta/skills/hello", ""),
		op("GET", "/api/v1beta/skills/builds", ""),
		op("POST", "/api/v1beta/skills/build", fmt.Sprintf(`{"path":%q}`, h.env.skill(t, "hello"))),
	)
}

// TestContractStatus503WhenTheCallerOfARegistryRouteGoesAway: the same for
// the routes that reach a registry, given one to reach.
func TestContractStatus503WhenTheCallerOfARegistryRouteGoesAway(t *testing.T) {
	addr, _, _ := testutil.Registry(t, false)
	registryRan = true
	h := newHarness(t)
	t.Setenv("DOCKER_CONFIG", filepath.Join(h.env.home, ".docker"))
	repo := addr + "/" + testutil.Repo(t) + "/hello"
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello"), "tag": repo + ":1"})
	h.expectCutShort503(
		op("POST", "/api/v1beta/skills/push", fmt.Sprintf(`{"reference":%q}`, repo+":1")),
		op("GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(repo+":2"), ""),
		op("POST", "/api/v1beta/skills", fmt.Sprintf(`{"name":%q,"version":"2","clients":["claude-code"]}`, repo)),
	)
}

// rawOp is a request as cutShort sends it: the body as text.
type rawOp struct{ method, path, body string }

func op(method, path, body string) rawOp { return rawOp{method, path, body} }

// expectCutShort503 sends each request cut short and expects 503.
func (h *harness) expectCutShort503(ops ...rawOp) {
	h.t.Helper()
	for _, o := range ops {
		if got := h.cutShort(o.method, o.path, o.body); got != 503 {
			h.t.Errorf("%s %s cut short: status %d, want 503", o.method, o.path, got)
		}
	}
}

// expectErr is expect for an error answer whose message must hold want,
// so that the status is known to come from the intended cause.
func (h *harness) expectErr(status int, want, method, path string, body any) {
	h.t.Helper()
	r := h.expect(status, nil, method, path, body)
	if msg := r.errorText(h.t); !strings.Contains(msg, want) {
		h.t.Errorf("%s %s: %d %q, want a message holding %q", method, path, status, msg, want)
	}
}

// cutShort sends a request announcing one byte more body than it sends,
// then half-closes the connection: the server's read of the body fails,
// which cancels the request's context. It returns the status answered.
func (h *harness) cutShort(method, path, body string) int {
	h.t.Helper()
	auth := ""
	if h.token != "" {
		auth = "Authorization: Bearer " + h.token + "\r\n"
	}
	return h.halfClose(method, path, "cut short", fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		method, path, h.addr, auth, len(body)+1, body))
}

// hangUp sends a whole request without a body, then half-closes the
// connection as a caller that stops waiting does: the server sees the
// connection end while the request runs, which cancels its context. It
// returns the status answered, which a half-closed caller can still read.
func (h *harness) hangUp(method, path string) int {
	h.t.Helper()
	return h.halfClose(method, path, "after hanging up", fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n\r\n", method, path, h.addr))
}

// halfClose writes raw on a new connection, closes the sending side and
// returns the status of the answer, which must not be a 503 for any reason
// but the cancelled request.
func (h *harness) halfClose(method, path, how, raw string) int {
	h.t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		h.t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		h.t.Fatalf("%s %s %s: reading the answer: %v", method, path, how, err)
	}
	defer resp.Body.Close()
	if data, _ := io.ReadAll(resp.Body); resp.StatusCode == 503 && !bytes.Contains(data, []byte("context canceled")) {
		h.t.Errorf("%s %s %s: 503 for another reason: %s", method, path, how, data)
	}
	return resp.StatusCode
}

// TestContractStatus400WhenTheBodyIsMalformed: a chunked body that breaks
// off mid-way cannot be read; even the routes that only answer 501 read
// (and ignore) a body, and answer 400 when it cannot be read. The shared
// harness reads each request body before the server does, which would hide
// the failure, so this server's validator sees the body as the server
// reads it instead.
func TestContractStatus400WhenTheBodyIsMalformed(t *testing.T) {
	h := startStreamingHarness(t)
	for _, path := range []string{"/api/v1beta/skills/sync", "/api/v1beta/skills/upgrade"} {
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n", path, h.addr)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		data, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		_ = conn.Close()
		if resp.StatusCode != 400 || !bytes.Contains(data, []byte("reading the request body")) {
			t.Errorf("POST %s with a broken chunked body: status %d, want 400: %s", path, resp.StatusCode, data)
		}
	}
	// A well-formed body is still accepted and the route says 501.
	h.expect(501, nil, "POST", "/api/v1beta/skills/sync", map[string]any{})
}

// startStreamingHarness is startHarness whose validator records the request
// body as the server reads it, rather than reading it first.
func startStreamingHarness(t *testing.T) *harness {
	t.Helper()
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	svc := e.service(t)
	srv, err := api.New(api.Config{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer(l.Addr())
	v := newValidator(t, hs.Handler, l.Addr().String(), "")
	next := hs.Handler
	hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var seen bytes.Buffer
		body := r.Body
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(body, &seen), body}
		tee := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tee, r)
		v.check(r, seen.Bytes(), tee)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(l)
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return &harness{t: t, env: e, svc: svc, url: "http://" + l.Addr().String(), addr: l.Addr().String(), http: &http.Client{}}
}
