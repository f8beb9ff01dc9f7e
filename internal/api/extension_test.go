package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/api"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/service"
)

// same fails unless the client and the façade in process gave the same
// values and the same errors, with the same kinds.
func same[T any](t *testing.T, what string, viaHTTP T, errHTTP error, local T, errLocal error) {
	t.Helper()
	if (errHTTP == nil) != (errLocal == nil) {
		t.Fatalf("%s: over HTTP err=%v, in process err=%v", what, errHTTP, errLocal)
	}
	if errLocal != nil {
		if errHTTP.Error() != errLocal.Error() {
			t.Errorf("%s: error over HTTP %q, in process %q", what, errHTTP, errLocal)
		}
		for _, kind := range []error{errdef.ErrNotFound, errdef.ErrInvalid, errdef.ErrAlreadyExists, errdef.ErrUnauthorized} {
			if errors.Is(errLocal, kind) && !errors.Is(errHTTP, kind) {
				t.Errorf("%s: the error over HTTP lost its kind %v", what, kind)
			}
		}
		return
	}
	// Compared as JSON: a nil slice and an empty one are the same answer.
	a, _ := json.Marshal(viaHTTP)
	b, _ := json.Marshal(local)
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs:\nover HTTP:  %s\nin process: %s", what, a, b)
	}
}

func TestClientReturnsWhatTheFacadeReturns(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	c := h.client()
	svc := h.svc
	dir := h.env.skill(t, "hello")
	bad := writeBadSkill(t, h.env.skills)

	for _, d := range []string{dir, bad, dir + "-gone"} {
		got, err := c.Validate(ctx, d)
		want, werr := svc.Validate(ctx, d)
		same(t, "Validate "+d, got, err, want, werr)
	}

	req := service.BuildRequest{Dir: dir, Tags: []string{"hello", "hello:1.0.0"}}
	built, err := c.Build(ctx, req)
	want, werr := svc.Build(ctx, req)
	same(t, "Build", built, err, want, werr)
	if built.Metadata.Name != "hello" {
		t.Errorf("Build over HTTP lost the metadata: %+v", built.Metadata)
	}
	_, err = c.Build(ctx, service.BuildRequest{Dir: bad})
	_, werr = svc.Build(ctx, service.BuildRequest{Dir: bad})
	same[any](t, "Build of an invalid skill", nil, err, nil, werr)

	tag, err := c.Tag(ctx, "hello", "hello:stable")
	if err != nil || tag != "hello:stable" {
		t.Fatalf("Tag: %q %v", tag, err)
	}
	_, err = c.Tag(ctx, "nope", "nope:2")
	_, werr = svc.Tag(ctx, "nope", "nope:2")
	same[any](t, "Tag of an unknown tag", nil, err, nil, werr)

	builds, err := c.ListBuilds(ctx)
	wantBuilds, werr := svc.ListBuilds(ctx)
	same(t, "ListBuilds", builds, err, wantBuilds, werr)

	in, err := c.Inspect(ctx, "hello:stable")
	wantIn, werr := svc.Inspect(ctx, "hello:stable")
	same(t, "Inspect", in, err, wantIn, werr)
	_, err = c.Inspect(ctx, "nope")
	_, werr = svc.Inspect(ctx, "nope")
	same[any](t, "Inspect of an unknown tag", nil, err, nil, werr)

	content, err := c.Content(ctx, "hello")
	wantContent, werr := svc.Content(ctx, "hello")
	same(t, "Content", content, err, wantContent, werr)
	if content.Digest == "" || content.Reference != "hello" {
		t.Errorf("Content over HTTP lost its reference and digest: %+v", content)
	}

	var file bytes.Buffer
	if err := c.ContentFile(ctx, "hello", "scripts/run.sh", &file); err != nil {
		t.Fatal(err)
	}
	if onDisk, _ := os.ReadFile(filepath.Join(dir, "scripts", "run.sh")); !bytes.Equal(file.Bytes(), onDisk) {
		t.Errorf("ContentFile: %q, want %q", file.Bytes(), onDisk)
	}
	err = c.ContentFile(ctx, "hello", "nope.txt", &file)
	werr = svc.ContentFile(ctx, "hello", "nope.txt", &file)
	same[any](t, "ContentFile of a missing file", nil, err, nil, werr)

	del, err := c.DeleteBuilds(ctx, []string{"hello:stable"})
	if err != nil || len(del.Removed) != 1 {
		t.Fatalf("DeleteBuilds: %+v %v", del, err)
	}
	_, err = c.DeleteBuilds(ctx, []string{"hello:stable"})
	_, werr = svc.DeleteBuilds(ctx, []string{"hello:stable"})
	same[any](t, "DeleteBuilds of a removed build", nil, err, nil, werr)

	gc, err := c.GC(ctx)
	wantGC, werr := svc.GC(ctx)
	same(t, "GC", gc, err, wantGC, werr)
	fsck, err := c.Fsck(ctx)
	wantFsck, werr := svc.Fsck(ctx)
	same(t, "Fsck", fsck, err, wantFsck, werr)

	cache, err := c.ListCache(ctx)
	wantCache, werr := svc.ListCache(ctx)
	same(t, "ListCache", cache, err, wantCache, werr)
	pruned, err := c.PruneCache(ctx, nil)
	wantPruned, werr := svc.PruneCache(ctx, nil)
	same(t, "PruneCache", pruned, err, wantPruned, werr)
	_, err = c.PruneCache(ctx, []string{"localhost:5999/team/nope:1"})
	_, werr = svc.PruneCache(ctx, []string{"localhost:5999/team/nope:1"})
	same[any](t, "PruneCache of an unknown entry", nil, err, nil, werr)

	inst, err := c.Install(ctx, service.InstallRequest{Source: "hello", Clients: "claude-code"})
	if err != nil || len(inst.Installs) != 1 || inst.Installs[0].Action != "installed" {
		t.Fatalf("Install: %+v %v", inst, err)
	}
	again, err := c.Install(ctx, service.InstallRequest{Source: "hello", Clients: "claude-code"})
	wantAgain, werr := svc.Install(ctx, service.InstallRequest{Source: "hello", Clients: "claude-code"})
	same(t, "Install again", again, err, wantAgain, werr)

	list, err := c.List(ctx, service.ListRequest{Client: "claude-code"})
	wantList, werr := svc.List(ctx, service.ListRequest{Client: "claude-code"})
	same(t, "List", list, err, wantList, werr)
	info, err := c.Info(ctx, "hello")
	wantInfo, werr := svc.Info(ctx, "hello")
	same(t, "Info", info, err, wantInfo, werr)
	_, err = c.Info(ctx, "nope")
	_, werr = svc.Info(ctx, "nope")
	same[any](t, "Info of an unknown skill", nil, err, nil, werr)

	if err := os.WriteFile(filepath.Join(h.env.home, ".claude", "skills", "hello", "extra.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	verify, err := c.Verify(ctx, "")
	wantVerify, werr := svc.Verify(ctx, "")
	same(t, "Verify", verify, err, wantVerify, werr)
	if len(verify) != 1 || len(verify[0].Extra) != 1 {
		t.Errorf("Verify did not see the extra file: %+v", verify)
	}

	clients, err := c.Clients(ctx)
	wantClients, werr := svc.Clients(ctx)
	same(t, "Clients", clients, err, wantClients, werr)

	_, err = c.Uninstall(ctx, service.UninstallRequest{Name: "hello"})
	_, werr = svc.Uninstall(ctx, service.UninstallRequest{Name: "hello"})
	same[any](t, "Uninstall of a drifted folder", nil, err, nil, werr)
	out, err := c.Uninstall(ctx, service.UninstallRequest{Name: "hello", Force: true})
	if err != nil || len(out) != 1 || !out[0].Removed {
		t.Fatalf("Uninstall: %+v %v", out, err)
	}
	_, err = c.Verify(ctx, "hello")
	_, werr = svc.Verify(ctx, "hello")
	same[any](t, "Verify of an uninstalled skill", nil, err, nil, werr)

	// Registry calls that fail before any network traffic.
	err = c.Logout(ctx, "localhost:5999")
	werr = svc.Logout(ctx, "localhost:5999")
	same[any](t, "Logout without credentials", nil, err, nil, werr)
	if err := c.Login(ctx, "localhost:5999", "", "pw"); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("Login without a username: %v", err)
	}
	_, err = c.Push(ctx, "", "localhost:5999/team/hello:1")
	_, werr = svc.Push(ctx, "", "localhost:5999/team/hello:1")
	same[any](t, "Push of a missing build", nil, err, nil, werr)
	_, err = c.Pull(ctx, "hello", service.PullLimits{})
	_, werr = svc.Pull(ctx, "hello", service.PullLimits{})
	same[any](t, "Pull of a local name", nil, err, nil, werr)
}

func TestExtensionRefusesBadRequests(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	x := "/api/skilldock/v1"
	for _, c := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"validate relative", "POST", x + "/validate", map[string]string{"dir": "hello"}, 400},
		{"validate NUL", "POST", x + "/validate", map[string]string{"dir": dir + "\x00"}, 400},
		{"build unclean", "POST", x + "/build", map[string]any{"Dir": dir + "/."}, 400},
		{"build bad tag", "POST", x + "/build", map[string]any{"Dir": dir, "Tags": []string{"A"}}, 400},
		{"build malformed", "POST", x + "/build", `{"Dir": 5}`, 400},
		{"delete nothing", "POST", x + "/builds/delete", map[string]any{"tags": []string{}}, 400},
		{"delete unknown", "POST", x + "/builds/delete", map[string]any{"tags": []string{"nope"}}, 404},
		{"tag malformed", "POST", x + "/tag", map[string]string{"source": "hello", "target": "UPPER"}, 400},
		{"tag unknown", "POST", x + "/tag", map[string]string{"source": "nope", "target": "other"}, 404},
		{"inspect nothing", "GET", x + "/inspect", nil, 400},
		{"inspect unknown", "GET", x + "/inspect?tag=nope", nil, 404},
		{"push to a local name", "POST", x + "/push", map[string]string{"target": "hello"}, 400},
		{"pull a local name", "POST", x + "/pull", map[string]any{"reference": "hello"}, 400},
		{"pull with unknown limit", "POST", x + "/pull", map[string]any{"reference": "localhost:5999/a/b", "limits": map[string]int{"MaxBlobs": 1}}, 400},
		{"content nothing", "GET", x + "/content", nil, 400},
		{"content file without path", "GET", x + "/content/file?ref=hello", nil, 400},
		{"content file unknown skill", "GET", x + "/content/file?ref=nope&path=SKILL.md", nil, 404},
		{"prune malformed", "POST", x + "/cache/prune", map[string]any{"references": []string{"Bad Ref"}}, 400},
		{"login without password", "POST", x + "/login", map[string]string{"registry": "localhost:5999", "username": "u"}, 400},
		{"logout without registry", "POST", x + "/logout", map[string]string{}, 400},
		{"install relative folder", "POST", x + "/install", map[string]any{"Source": "./hello"}, 400},
		{"install relative project", "POST", x + "/install", map[string]any{"Source": "hello", "Scope": "project", "ProjectRoot": "p"}, 400},
		{"install project without root", "POST", x + "/install", map[string]any{"Source": "hello", "Scope": "project"}, 400},
		{"install unknown", "POST", x + "/install", map[string]any{"Source": "nope", "Clients": "claude-code"}, 404},
		{"list unclean root", "GET", x + "/installs?project_root=/a//b", nil, 400},
		{"list bad scope", "GET", x + "/installs?scope=system", nil, 400},
		{"info unknown", "GET", x + "/installs/nope", nil, 404},
		{"uninstall nameless", "POST", x + "/uninstall", map[string]any{"Scope": "user"}, 400},
		{"uninstall unknown", "POST", x + "/uninstall", map[string]any{"Name": "nope"}, 404},
		{"verify unknown", "GET", x + "/verify?name=nope", nil, 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(c.method, c.path, c.body)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r)
			}
			r.errorText(t)
		})
	}
}

func TestRouteTimeoutAnswersGatewayTimeout(t *testing.T) {
	h := newHarness(t, func(c *api.Config) { c.LongTimeout = time.Nanosecond })
	dir := h.env.skill(t, "hello")
	r := h.expect(504, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})
	if msg := r.errorText(t); !strings.Contains(msg, "deadline") {
		t.Errorf("message %q", msg)
	}
	_, err := h.client().Build(context.Background(), service.BuildRequest{Dir: dir})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the client's error %v is not a deadline", err)
	}
	// Short routes keep their own, longer, timeout.
	h.expect(200, nil, "GET", "/api/v1beta/skills/builds", nil)
}

func TestProbes(t *testing.T) {
	h := newHarness(t)
	var s struct{ Status string }
	h.expect(200, &s, "GET", "/healthz", nil)
	if s.Status != "ok" {
		t.Errorf("healthz: %+v", s)
	}
	h.expect(200, &s, "GET", "/readyz", nil)
	if err := os.Remove(filepath.Join(h.env.store, "index.json")); err != nil {
		t.Fatal(err)
	}
	r := h.expect(503, nil, "GET", "/readyz", nil)
	if msg := r.errorText(t); !strings.Contains(msg, "not ready") {
		t.Errorf("readyz: %q", msg)
	}
	h.expect(200, nil, "GET", "/healthz", nil)
}

func TestFailuresOfTheStoreAreServerErrors(t *testing.T) {
	h := newHarness(t)
	if err := os.WriteFile(filepath.Join(h.env.store, "index.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := h.expect(500, nil, "GET", "/api/v1beta/skills/builds", nil)
	if msg := r.errorText(t); !strings.Contains(msg, "index is not valid JSON") {
		t.Errorf("message %q", msg)
	}
	h.expect(503, nil, "GET", "/readyz", nil)
	_, err := h.client().ListBuilds(context.Background())
	_, werr := h.svc.ListBuilds(context.Background())
	same[any](t, "ListBuilds of a corrupt store", nil, err, nil, werr)
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	h := newHarness(t)
	r := h.expect(404, nil, "GET", "/api/v1beta/nothing", nil)
	if msg := r.errorText(t); !strings.HasPrefix(msg, "no endpoint GET /api/v1beta/nothing") {
		t.Errorf("404: %q", msg)
	}
	r = h.expect(405, nil, "PUT", "/api/v1beta/skills/builds", map[string]any{})
	if msg := r.errorText(t); !strings.Contains(msg, "PUT is not allowed") {
		t.Errorf("405: %q", msg)
	}
	h.expect(405, nil, "OPTIONS", "/api/v1beta/skills", nil)
}
