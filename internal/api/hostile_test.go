package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/api"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// world is a server with something to lose: a build, a user and a project
// install for Claude Code, a folder skilldock did not install next to
// them, a private file, and an unreachable blob that any collection would
// remove. Every hostile request is sent to it, and after each one the
// world must be exactly as it was.
type world struct {
	h *harness
	// dir is the built and installed skill; other a skill never built.
	dir, other string
	// project holds the project install; spare is an empty project that
	// an accepted install would fill.
	project, spare string
	port           int
	// garbage is the digest of a blob no tag reaches.
	garbage  string
	baseline string
}

func newWorld(t *testing.T, configure ...func(*api.Config)) *world {
	t.Helper()
	h := newHarness(t, configure...)
	// Credentials written by an accepted login would land under HOME.
	t.Setenv("DOCKER_CONFIG", filepath.Join(h.env.home, ".docker"))
	w := &world{
		h: h, dir: h.env.skill(t, "hello"), other: h.env.skill(t, "other"),
		project: filepath.Join(h.env.home, "project"), spare: filepath.Join(h.env.home, "spare"),
	}
	_, port, _ := net.SplitHostPort(h.addr)
	w.port, _ = strconv.Atoi(port)
	for _, d := range []string{w.project, w.spare, filepath.Join(h.env.home, ".claude", "skills", "hand-made")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{
		filepath.Join(h.env.home, ".claude", "skills", "hand-made", "SKILL.md"): testutil.SkillMD("hand-made", "", "Not skilldock's."),
		filepath.Join(h.env.home, "secret.txt"):                                 "private\n",
	} {
		if err := os.WriteFile(name, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cc := []string{"claude-code"}
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": w.dir})
	h.expect(201, nil, "POST", "/api/v1beta/skills", map[string]any{"name": "hello", "clients": cc})
	h.expect(201, nil, "POST", "/api/v1beta/skills", map[string]any{"name": "hello", "scope": "project", "project_root": w.project, "clients": cc})
	garbage := []byte("no tag reaches this blob\n")
	sum := sha256.Sum256(garbage)
	w.garbage = "sha256:" + hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(h.env.store, "blobs", "sha256", hex.EncodeToString(sum[:])), garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	w.baseline = w.snapshot(t)
	for _, want := range []string{"blob " + w.garbage, "home .claude/skills/hello/SKILL.md", "home project/.claude/skills/hello/SKILL.md", `"scope":"project"`} {
		if !strings.Contains(w.baseline, want) {
			t.Fatalf("the world lacks %q:\n%s", want, w.baseline)
		}
	}
	return w
}

// snapshot is everything a request could change, one fact a line: the
// store's index.json and blob files, the install records, and every file
// under HOME (agent folders, projects, credentials) with its mode and
// content digest.
func (w *world) snapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	idx, err := os.ReadFile(filepath.Join(w.h.env.store, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines = append(lines, "index.json "+string(idx))
	for _, d := range testutil.BlobFiles(t, w.h.env.store) {
		lines = append(lines, "blob "+d)
	}
	list, err := w.h.svc.List(context.Background(), service.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, "record "+string(b))
	}
	home := w.h.env.home
	err = filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(home, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := fmt.Sprintf("home %s %v", rel, info.Mode())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += " " + hex.EncodeToString(sum[:])
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// unchanged fails unless the world is as it was before any hostile
// request, and names what changed.
func (w *world) unchanged(t *testing.T) {
	t.Helper()
	now := w.snapshot(t)
	if now == w.baseline {
		return
	}
	before := strings.Split(w.baseline, "\n")
	after := strings.Split(now, "\n")
	var diff []string
	for _, l := range before {
		if !slices.Contains(after, l) {
			diff = append(diff, "- "+l)
		}
	}
	for _, l := range after {
		if !slices.Contains(before, l) {
			diff = append(diff, "+ "+l)
		}
	}
	t.Errorf("a refused request changed the world:\n%s", strings.Join(diff, "\n"))
	w.baseline = now // report each change once
}

// hostile is one request the server must refuse.
type hostile struct {
	name   string
	method string
	path   string // escaped, with the query
	// body is nil (none), a string sent as is, or a value sent as JSON;
	// stream sends it without a declared length.
	body   any
	stream bool
	// headers are "Name: value"; Host sets the Host header, and an empty
	// value removes a header.
	headers []string
	want    int
}

// stackTrace matches what a Go stack trace or a panic message would put
// in an answer.
var stackTrace = regexp.MustCompile(`goroutine \d|\.go:\d+|panic:|runtime\.`)

// refuse sends each request as a subtest and checks that it is refused
// with the wanted status, a one-line JSON string, no CORS header, and
// that nothing changed: the world after it is the world before any hostile
// request, which is the world before it as long as no earlier one changed
// anything (a change is reported, then becomes the new baseline).
func (w *world) refuse(t *testing.T, cases []hostile) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.send(t, c)
			if r.status != c.want {
				t.Errorf("%s %s: status %d, want %d: %.300s", c.method, c.path, r.status, c.want, r)
			}
			checkRefusal(t, r)
			w.unchanged(t)
		})
	}
}

// checkRefusal checks the shape every error answer must have.
func checkRefusal(t *testing.T, r response) {
	t.Helper()
	// send has refused any Access-Control-* header already.
	if r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no X-Content-Type-Options: nosniff")
	}
	var msg string
	if err := json.Unmarshal(r.body, &msg); err != nil {
		t.Errorf("the answer is not a JSON string: %v: %.300s", err, r.body)
		return
	}
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("the message is not one line: %q", msg)
	}
	if stackTrace.MatchString(msg) {
		t.Errorf("the message looks like a stack trace: %q", msg)
	}
}

func (w *world) send(t *testing.T, c hostile) response {
	t.Helper()
	var body io.Reader
	switch b := c.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = strings.NewReader(string(data))
	}
	if c.stream && body != nil {
		body = struct{ io.Reader }{body} // hides the length: sent chunked
	}
	req, err := http.NewRequest(c.method, w.h.url+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	setHeaders(req, c.headers)
	r, err := w.h.roundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// bodyRoute is a route that takes a POST body, with a body it would accept
// and act on: each one, let through, would change the world.
type bodyRoute struct {
	path  string
	valid any
	reads bodyKind
}

// bodyKind is what a route does with a body.
type bodyKind int

const (
	jsonBody    bodyKind = iota // decoded strictly
	noBody                      // refused: the route takes none (gc)
	ignoredBody                 // read and dropped: the route answers 501 (sync, upgrade)
)

func (w *world) bodyRoutes() []bodyRoute {
	cc := []string{"claude-code"}
	const unreachable = "127.0.0.1:1/team/hello:1"
	return []bodyRoute{
		{"/api/v1beta/skills", map[string]any{"name": "hello", "scope": "project", "project_root": w.spare, "clients": cc}, jsonBody},
		{"/api/v1beta/skills/validate", map[string]any{"path": w.dir}, jsonBody},
		{"/api/v1beta/skills/build", map[string]any{"path": w.other, "tag": "intruder:1"}, jsonBody},
		{"/api/v1beta/skills/push", map[string]any{"reference": unreachable}, jsonBody},
		{"/api/v1beta/skills/sync", map[string]any{}, ignoredBody},
		{"/api/v1beta/skills/upgrade", map[string]any{}, ignoredBody},
		{"/api/skilldock/v1/validate", map[string]any{"dir": w.dir}, jsonBody},
		{"/api/skilldock/v1/build", map[string]any{"Dir": w.other, "Tags": []string{"intruder:2"}}, jsonBody},
		{"/api/skilldock/v1/builds/delete", map[string]any{"tags": []string{"hello:1.0.0"}}, jsonBody},
		{"/api/skilldock/v1/tag", map[string]any{"source": "hello", "target": "intruder:3"}, jsonBody},
		{"/api/skilldock/v1/gc", nil, noBody},
		{"/api/skilldock/v1/push", map[string]any{"source": "hello", "target": unreachable}, jsonBody},
		{"/api/skilldock/v1/pull", map[string]any{"reference": unreachable}, jsonBody},
		{"/api/skilldock/v1/cache/prune", map[string]any{"references": []string{}}, jsonBody},
		{"/api/skilldock/v1/login", map[string]any{"registry": "127.0.0.1:1", "username": "u", "password": "p"}, jsonBody},
		{"/api/skilldock/v1/logout", map[string]any{"registry": "127.0.0.1:1"}, jsonBody},
		{"/api/skilldock/v1/install", map[string]any{"Source": "hello", "Clients": "claude-code", "Scope": "project", "ProjectRoot": w.spare}, jsonBody},
		{"/api/skilldock/v1/uninstall", map[string]any{"Name": "hello"}, jsonBody},
	}
}

// TestHostileBodiesAreRefusedAndChangeNothing sends every route that
// takes a body (and those that take none) one that is too large, declared
// or streamed without a length, malformed, or of another type than JSON.
// The server's limit is lowered so that the streamed bodies stay cheap
// under the race detector; TestOversizedBodyIsRefused covers the default.
func TestHostileBodiesAreRefusedAndChangeNothing(t *testing.T) {
	const limit = 64 << 10
	w := newWorld(t, func(c *api.Config) { c.MaxBodyBytes = limit })
	oversized := `{"pad":"` + strings.Repeat("a", limit) + `"}`
	var cases []hostile
	add := func(method, path, name string, body any, stream bool, want int, headers ...string) {
		cases = append(cases, hostile{name: method + " " + path + " " + name, method: method, path: path,
			body: body, stream: stream, headers: headers, want: want})
	}
	for _, rt := range w.bodyRoutes() {
		valid, err := json.Marshal(rt.valid)
		if err != nil {
			t.Fatal(err)
		}
		add("POST", rt.path, "oversized", oversized, false, 413)
		add("POST", rt.path, "oversized streamed", oversized, true, 413)
		add("POST", rt.path, "text/plain", string(valid), false, 415, "Content-Type: text/plain")
		add("POST", rt.path, "form", "x=1", false, 415, "Content-Type: application/x-www-form-urlencoded")
		add("POST", rt.path, "multipart", "--b--", false, 415, "Content-Type: multipart/form-data; boundary=b")
		add("POST", rt.path, "JSON without a type", string(valid), false, 415, "Content-Type:")
		add("POST", rt.path, "malformed media type", string(valid), false, 415, "Content-Type: application/json; charset")
		switch rt.reads {
		case jsonBody:
			add("POST", rt.path, "truncated JSON", `{"path": `, false, 400)
			add("POST", rt.path, "not an object", `"hello"`, false, 400)
			add("POST", rt.path, "two values", string(valid)+` {}`, false, 400)
			add("POST", rt.path, "trailing garbage", string(valid)+`x`, false, 400)
			add("POST", rt.path, "unknown field", `{"pad": 1}`, false, 400)
			add("POST", rt.path, "empty body", "", false, 400)
		case noBody:
			add("POST", rt.path, "truncated JSON", `{"path": `, false, 400)
			add("POST", rt.path, "empty object streamed", `{}`, true, 400)
		case ignoredBody:
			add("POST", rt.path, "truncated JSON", `{"path": `, false, 501)
		}
	}
	// Routes that take no body refuse one rather than act and ignore it.
	for _, path := range []string{"/api/v1beta/skills/builds/hello", "/api/v1beta/skills/hello?scope=user"} {
		add("DELETE", path, "oversized streamed", oversized, true, 413)
		add("DELETE", path, "oversized", oversized, false, 413)
		add("DELETE", path, "a JSON body", `{}`, false, 400)
		add("DELETE", path, "a form", "x=1", false, 415, "Content-Type: application/x-www-form-urlencoded")
	}
	w.refuse(t, cases)
}

// TestHostilePathsAreRefusedAndChangeNothing puts relative, unclean,
// traversing and NUL-holding paths in every path field of every route,
// and traversal in the path parameters.
func TestHostilePathsAreRefusedAndChangeNothing(t *testing.T) {
	w := newWorld(t)
	d := w.dir
	bad := []struct{ name, path string }{
		{"relative", "skills/hello"},
		{"dot", "./hello"},
		{"parent", "../../../etc"},
		{"tilde", "~/hello"},
		{"traversal", d + "/../../../../../etc"},
		{"dot segment", d + "/./scripts"},
		{"double slash", filepath.Dir(d) + "//hello"},
		{"trailing slash", d + "/"},
		{"NUL", d + "\x00"},
		{"NUL then traversal", d + "\x00/../../etc"},
	}
	cc := []string{"claude-code"}
	q := url.QueryEscape
	var cases []hostile
	post := func(name, path string, body any) {
		cases = append(cases, hostile{name: name, method: "POST", path: path, body: body, want: 400})
	}
	for _, b := range bad {
		p := b.path
		post("build path "+b.name, "/api/v1beta/skills/build", map[string]any{"path": p, "tag": "intruder:1"})
		post("validate path "+b.name, "/api/v1beta/skills/validate", map[string]any{"path": p})
		post("install project_root "+b.name, "/api/v1beta/skills", map[string]any{"name": "hello", "scope": "project", "project_root": p, "clients": cc})
		post("ext validate dir "+b.name, "/api/skilldock/v1/validate", map[string]any{"dir": p})
		post("ext build Dir "+b.name, "/api/skilldock/v1/build", map[string]any{"Dir": p, "Tags": []string{"intruder:2"}})
		post("ext install ProjectRoot "+b.name, "/api/skilldock/v1/install", map[string]any{"Source": "hello", "Clients": "claude-code", "Scope": "project", "ProjectRoot": p})
		post("ext uninstall ProjectRoot "+b.name, "/api/skilldock/v1/uninstall", map[string]any{"Name": "hello", "ProjectRoot": p})
		// A name or Source that looks like a folder is taken as one.
		if strings.HasPrefix(p, "/") || strings.HasPrefix(p, ".") || strings.HasPrefix(p, "~") {
			post("install name "+b.name, "/api/v1beta/skills", map[string]any{"name": p, "clients": cc})
			post("ext install Source "+b.name, "/api/skilldock/v1/install", map[string]any{"Source": p, "Clients": "claude-code"})
		}
		for _, get := range []struct{ method, path string }{
			{"GET", "/api/v1beta/skills?project_root=" + q(p)},
			{"GET", "/api/v1beta/skills/hello?project_root=" + q(p)},
			{"DELETE", "/api/v1beta/skills/hello?project_root=" + q(p)},
			{"DELETE", "/api/v1beta/skills/hello?scope=project&project_root=" + q(p)},
			{"GET", "/api/skilldock/v1/installs?project_root=" + q(p)},
		} {
			cases = append(cases, hostile{name: get.method + " " + get.path, method: get.method, path: get.path, want: 400})
		}
	}
	// Path parameters: a skill name is looked up in the records, never
	// joined to a folder, so a traversing one is simply not installed; a
	// build's tag must parse as a reference.
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1beta/skills/..%2F..%2Fetc", 404},
		{"GET", "/api/v1beta/skills/..%2F..%2Fetc?scope=user", 404},
		{"DELETE", "/api/v1beta/skills/..%2F..%2Fetc", 404},
		{"DELETE", "/api/v1beta/skills/..%2Fhello", 404},
		{"DELETE", "/api/v1beta/skills/%2e%2e", 404},
		{"DELETE", "/api/v1beta/skills/hello%00", 400},
		{"GET", "/api/v1beta/skills/hello%00", 400},
		{"GET", "/api/skilldock/v1/installs/..%2F..%2Fetc", 404},
		{"GET", "/api/skilldock/v1/installs/hello%00", 400},
		{"DELETE", "/api/v1beta/skills/builds/..%2Fx", 400},
		{"DELETE", "/api/v1beta/skills/builds/..%2F..%2Findex.json", 400},
		{"DELETE", "/api/v1beta/skills/builds/../x", 400},
		{"DELETE", "/api/v1beta/skills/builds/%2e%2e%2F%2e%2e%2Fblobs", 400},
		{"DELETE", "/api/v1beta/skills/builds/hello%2F..%2F..%2Fx", 400},
		{"DELETE", "/api/v1beta/skills/builds/hello%00", 400},
		// A file of a skill is looked up inside its layer only.
		{"GET", "/api/skilldock/v1/content/file?ref=hello&path=" + q("../../../../etc/passwd"), 404},
		{"GET", "/api/skilldock/v1/content/file?ref=hello&path=" + q("/etc/passwd"), 404},
		{"GET", "/api/skilldock/v1/content/file?ref=hello&path=" + q("SKILL.md\x00"), 400},
	} {
		cases = append(cases, hostile{name: c.method + " " + c.path, method: c.method, path: c.path, want: c.want})
	}
	w.refuse(t, cases)
}

// TestMalformedReferencesAreRefusedAndChangeNothing sends tags and
// references with spaces, upper case and stray separators to every field
// that takes one: each is a 400 before the façade is called.
func TestMalformedReferencesAreRefusedAndChangeNothing(t *testing.T) {
	w := newWorld(t)
	cc := []string{"claude-code"}
	q := url.QueryEscape
	var cases []hostile
	for _, tag := range []string{"my tag", "Hello", "hello:", "hello:two words", ":1", "hello/../x", "hello\x00"} {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/v1beta/skills/build", map[string]any{"path": w.other, "tag": tag}},
			{"POST", "/api/skilldock/v1/build", map[string]any{"Dir": w.other, "Tags": []string{"other", tag}}},
			{"GET", "/api/v1beta/skills/content?ref=" + q(tag), nil},
			{"GET", "/api/skilldock/v1/content?ref=" + q(tag), nil},
			{"GET", "/api/skilldock/v1/content/file?path=SKILL.md&ref=" + q(tag), nil},
			{"GET", "/api/skilldock/v1/inspect?tag=" + q(tag), nil},
			{"DELETE", "/api/v1beta/skills/builds/" + url.PathEscape(tag), nil},
			{"POST", "/api/skilldock/v1/builds/delete", map[string]any{"tags": []string{"hello", tag}}},
			{"POST", "/api/skilldock/v1/tag", map[string]any{"source": "hello", "target": tag}},
			{"POST", "/api/skilldock/v1/tag", map[string]any{"source": tag, "target": "intruder:3"}},
			{"POST", "/api/skilldock/v1/cache/prune", map[string]any{"references": []string{tag}}},
			{"POST", "/api/v1beta/skills", map[string]any{"name": tag, "clients": cc}},
			{"POST", "/api/skilldock/v1/install", map[string]any{"Source": tag, "Clients": "claude-code"}},
			{"POST", "/api/skilldock/v1/push", map[string]any{"source": tag, "target": "127.0.0.1:1/team/hello:1"}},
		} {
			cases = append(cases, hostile{name: fmt.Sprintf("%s %s %q", c.method, c.path, tag), method: c.method, path: c.path, body: c.body, want: 400})
		}
	}
	for _, reference := range []string{"127.0.0.1:1/Team/hello:1", "127.0.0.1:1/team/hello:two words", "127.0.0.1:1/team/hello@sha256:zz", "127.0.0.1:1//hello:1", "hello"} {
		for _, c := range []struct {
			path string
			body any
		}{
			{"/api/v1beta/skills/push", map[string]any{"reference": reference}},
			{"/api/skilldock/v1/push", map[string]any{"source": "hello", "target": reference}},
			{"/api/skilldock/v1/pull", map[string]any{"reference": reference}},
		} {
			cases = append(cases, hostile{name: fmt.Sprintf("POST %s %q", c.path, reference), method: "POST", path: c.path, body: c.body, want: 400})
		}
	}
	cases = append(cases, hostile{name: "install version with spaces", method: "POST", path: "/api/v1beta/skills",
		body: map[string]any{"name": "hello", "version": "1 0", "clients": cc}, want: 400})
	w.refuse(t, cases)
}

// TestForeignHostsAndOriginsAreRefusedOnEveryRoute sends every operation
// of the OpenAPI document, with a body it would act on, under a Host that
// does not name the server (DNS rebinding), a foreign or opaque Origin, or
// Sec-Fetch-Site: cross-site. Each is a 403 before any handler runs.
func TestForeignHostsAndOriginsAreRefusedOnEveryRoute(t *testing.T) {
	w := newWorld(t)
	port := strconv.Itoa(w.port)
	other := strconv.Itoa(w.port%65535 + 1)
	headers := []string{
		"Host: evil.example.com",
		"Host: evil.example.com:" + port,
		"Host: 127.0.0.1.evil.com:" + port,
		"Host: localhost:" + other,
		"Host: 127.0.0.1",
		"Origin: http://evil.example.com",
		"Origin: null",
		"Origin: http://localhost:" + other,
		"Sec-Fetch-Site: cross-site",
	}
	bodies := map[string]bodyRoute{}
	for _, rt := range w.bodyRoutes() {
		bodies[rt.path] = rt
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody any `json:"requestBody"`
			Parameters  []struct {
				Name, In string
				Required bool
			}
		}
	}
	w.h.expect(200, &doc, "GET", "/api/openapi.json", nil)
	// Values that make each operation one the server would carry out.
	values := map[string]string{"name": "hello", "tag": "hello:1.0.0", "ref": "hello", "path": "SKILL.md"}
	var cases []hostile
	for path, ops := range doc.Paths {
		for method, op := range ops {
			method = strings.ToUpper(method)
			target := path
			var query []string
			for _, p := range op.Parameters {
				switch {
				case p.In == "path":
					target = strings.ReplaceAll(target, "{"+p.Name+"}", url.PathEscape(values[p.Name]))
				case p.Required:
					query = append(query, p.Name+"="+url.QueryEscape(values[p.Name]))
				}
			}
			if len(query) > 0 {
				target += "?" + strings.Join(query, "&")
			}
			var body any
			if method == "POST" {
				rt, ok := bodies[path]
				if !ok {
					t.Errorf("POST %s is not in bodyRoutes: give it a body it would act on", path)
					continue
				}
				body = rt.valid
			} else if op.RequestBody != nil {
				t.Errorf("%s %s takes a body this test does not send", method, path)
			}
			for _, hd := range headers {
				cases = append(cases, hostile{name: method + " " + path + " " + hd, method: method, path: target, body: body, headers: []string{hd}, want: 403})
			}
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	w.refuse(t, cases)

	// The same requests from the server's own origin are carried out, so
	// the refusals above were not refusals of malformed requests, and the
	// snapshot sees what they change.
	before := w.snapshot(t)
	for _, c := range []hostile{
		{method: "POST", path: "/api/skilldock/v1/gc", headers: []string{"Origin: " + w.h.url, "Sec-Fetch-Site: same-origin"}},
		{method: "POST", path: "/api/skilldock/v1/install", body: bodies["/api/skilldock/v1/install"].valid, headers: []string{"Host: localhost:" + port}},
		{method: "POST", path: "/api/v1beta/skills/build", body: bodies["/api/v1beta/skills/build"].valid, headers: []string{"Host: [::1]:" + port}},
	} {
		if r := w.send(t, c); r.status != 200 {
			t.Errorf("%s %s from the server's own origin: %d %s", c.method, c.path, r.status, r)
		}
	}
	after := w.snapshot(t)
	for _, want := range []string{"home spare/.claude/skills/hello/SKILL.md", `"intruder:1"`} {
		if strings.Contains(before, want) || !strings.Contains(after, want) {
			t.Errorf("the snapshot did not see %q appear", want)
		}
	}
	if !strings.Contains(before, "blob "+w.garbage) || strings.Contains(after, "blob "+w.garbage) {
		t.Errorf("the snapshot did not see gc remove %s", w.garbage)
	}
}
