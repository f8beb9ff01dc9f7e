package api_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The contract's bodies, decoded strictly enough to notice a wrong shape.
type installedSkill struct {
	Metadata struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Version     string `json:"version"`
	} `json:"metadata"`
	Reference   string   `json:"reference"`
	Tag         string   `json:"tag"`
	Digest      string   `json:"digest"`
	Scope       string   `json:"scope"`
	ProjectRoot string   `json:"project_root"`
	Clients     []string `json:"clients"`
	InstalledAt string   `json:"installed_at"`
	Status      string   `json:"status"`
	Managed     bool     `json:"managed"`
}

type localBuild struct {
	Tag, Digest, Name, Version, Description string
	Size                                    int64
}

func (h *harness) buildTags() []string {
	h.t.Helper()
	var list struct{ Builds []localBuild }
	h.expect(200, &list, "GET", "/api/v1beta/skills/builds", nil)
	var tags []string
	for _, b := range list.Builds {
		tags = append(tags, b.Tag)
	}
	return tags
}

func TestCompatBuildListAndDeleteBuilds(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")

	var res struct{ Reference string }
	h.expect(200, &res, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})
	if res.Reference != "hello" {
		t.Errorf("reference %q, want the default tag hello", res.Reference)
	}
	h.expect(200, &res, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir, "tag": "hello:2.0"})
	if res.Reference != "hello:2.0" {
		t.Errorf("reference %q, want hello:2.0", res.Reference)
	}
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir, "tag": "127.0.0.1:5000/team/hello:1"})
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir, "tag": "127.0.0.1:5000/team/hello:2"})

	var list struct{ Builds []localBuild }
	h.expect(200, &list, "GET", "/api/v1beta/skills/builds", nil)
	if len(list.Builds) != 5 || list.Builds[0].Name != "hello" || !strings.HasPrefix(list.Builds[0].Digest, "sha256:") {
		t.Fatalf("builds: %+v", list.Builds)
	}

	h.expect(204, nil, "DELETE", "/api/v1beta/skills/builds/hello:2.0", nil)
	// A tag that is a full reference may be sent with its slashes, or escaped.
	h.expect(204, nil, "DELETE", "/api/v1beta/skills/builds/127.0.0.1:5000/team/hello:1", nil)
	h.expect(204, nil, "DELETE", "/api/v1beta/skills/builds/127.0.0.1:5000%2Fteam%2Fhello:2", nil)
	if got := h.buildTags(); !slices.Equal(got, []string{"hello", "hello:1.0.0"}) {
		t.Errorf("builds after deletes: %v", got)
	}

	for _, c := range []struct {
		name, tag string
		want      int
	}{
		{"unknown build", "hello:2.0", 404},
		{"malformed tag", "Hello!", 400},
		{"no tag", "", 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("DELETE", "/api/v1beta/skills/builds/"+c.tag, nil)
			if r.status != c.want {
				t.Errorf("status %d, want %d: %s", r.status, c.want, r)
			}
		})
	}
}

func TestCompatBuildRefusesBadRequests(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	bad := writeBadSkill(t, h.env.skills)
	for _, c := range []struct {
		name string
		body any
		want string
	}{
		{"relative path", map[string]string{"path": "skills/hello"}, "absolute"},
		{"unclean path", map[string]string{"path": dir + "/../hello"}, "clean"},
		{"NUL in path", map[string]string{"path": dir + "\x00x"}, "NUL"},
		{"no path", map[string]string{}, "required"},
		{"missing folder", map[string]string{"path": dir + "-gone"}, ""},
		{"invalid skill", map[string]string{"path": bad}, ""},
		{"malformed tag", map[string]string{"path": dir, "tag": "Hello"}, "invalid reference"},
		{"unknown field", map[string]any{"path": dir, "platform": "linux/amd64"}, "unknown field"},
		{"malformed JSON", `{"path": `, "not the expected JSON"},
		{"two values", `{"path":"/x"} {}`, "more than one"},
		{"empty body", "", "empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("POST", "/api/v1beta/skills/build", c.body)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r)
			}
			if msg := r.errorText(t); !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not say %q", msg, c.want)
			}
		})
	}
	if tags := h.buildTags(); len(tags) != 0 {
		t.Errorf("refused builds left tags: %v", tags)
	}
}

func TestCompatValidateReportsIssuesAsStrings(t *testing.T) {
	h := newHarness(t)
	good := h.env.skill(t, "hello")
	bad := writeBadSkill(t, h.env.skills)

	var res struct {
		Valid            bool
		Errors, Warnings []string
	}
	h.expect(200, &res, "POST", "/api/v1beta/skills/validate", map[string]string{"path": good})
	if !res.Valid || res.Errors == nil || len(res.Errors) != 0 || res.Warnings == nil {
		t.Errorf("valid skill: %+v", res)
	}
	h.expect(200, &res, "POST", "/api/v1beta/skills/validate", map[string]string{"path": bad})
	if res.Valid || len(res.Errors) == 0 || !strings.Contains(res.Errors[0], ": ") {
		t.Errorf("invalid skill: %+v", res)
	}
	h.expect(400, nil, "POST", "/api/v1beta/skills/validate", map[string]string{"path": good + "-gone"})
	h.expect(400, nil, "POST", "/api/v1beta/skills/validate", map[string]string{"path": "relative"})
}

// writeBadSkill writes a folder whose SKILL.md names another skill.
func writeBadSkill(t *testing.T, parent string) string {
	t.Helper()
	dir := filepath.Join(parent, "bad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	md := "---\nname: not-bad\ndescription: A skill whose name is not its folder's.\n---\nbody\n"
	if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCompatInstallListGetUninstall(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})

	var created struct{ Skill installedSkill }
	r := h.expect(201, &created, "POST", "/api/v1beta/skills", map[string]any{"name": "hello", "clients": []string{"claude-code"}})
	s := created.Skill
	if s.Metadata.Name != "hello" || s.Metadata.Version != "1.0.0" || s.Metadata.Description == "" ||
		s.Reference != "hello" || s.Scope != "user" || !slices.Equal(s.Clients, []string{"claude-code"}) ||
		s.Status != "installed" || s.Managed || !strings.HasPrefix(s.Digest, "sha256:") {
		t.Errorf("installed skill: %+v", s)
	}
	if _, err := time.Parse(time.RFC3339, s.InstalledAt); err != nil {
		t.Errorf("installed_at %q is not RFC 3339: %v", s.InstalledAt, err)
	}
	if loc := r.header.Get("Location"); loc != "/api/v1beta/skills/hello?scope=user" {
		t.Errorf("Location %q", loc)
	}
	if _, err := os.Stat(filepath.Join(h.env.home, ".claude", "skills", "hello", "SKILL.md")); err != nil {
		t.Errorf("not installed where Claude Code reads skills: %v", err)
	}

	// version is appended as the tag of a reference that has none.
	h.expect(201, &created, "POST", "/api/v1beta/skills", map[string]any{"name": "hello", "version": "1.0.0", "clients": []string{"claude-code"}, "force": true})
	if created.Skill.Reference != "hello:1.0.0" || created.Skill.Tag != "1.0.0" {
		t.Errorf("install with version: %+v", created.Skill)
	}

	// A folder, by absolute path, into a project.
	project := t.TempDir()
	h.expect(201, &created, "POST", "/api/v1beta/skills", map[string]any{"name": dir, "scope": "project", "project_root": project, "clients": []string{"claude-code"}})
	if created.Skill.Scope != "project" || created.Skill.ProjectRoot != project || created.Skill.Reference != dir {
		t.Errorf("project install: %+v", created.Skill)
	}

	var list struct{ Skills []installedSkill }
	h.expect(200, &list, "GET", "/api/v1beta/skills", nil)
	if len(list.Skills) != 2 {
		t.Fatalf("list: %+v", list.Skills)
	}
	h.expect(200, &list, "GET", "/api/v1beta/skills?scope=project&project_root="+project+"&client=claude-code", nil)
	if len(list.Skills) != 1 || list.Skills[0].ProjectRoot != project {
		t.Errorf("filtered list: %+v", list.Skills)
	}

	var info struct {
		InstalledSkill installedSkill `json:"installed_skill"`
		Metadata       struct{ Name string }
	}
	h.expect(200, &info, "GET", "/api/v1beta/skills/hello?scope=user", nil)
	if info.InstalledSkill.Scope != "user" || info.Metadata.Name != "hello" {
		t.Errorf("info: %+v", info)
	}
	h.expect(404, nil, "GET", "/api/v1beta/skills/nope", nil)

	h.expect(204, nil, "DELETE", "/api/v1beta/skills/hello?scope=project&project_root="+project, nil)
	h.expect(204, nil, "DELETE", "/api/v1beta/skills/hello?scope=user", nil)
	h.expect(404, nil, "DELETE", "/api/v1beta/skills/hello", nil)
	h.expect(200, &list, "GET", "/api/v1beta/skills", nil)
	if len(list.Skills) != 0 {
		t.Errorf("still listed after uninstall: %+v", list.Skills)
	}
}

func TestCompatInstallRefusesWhatItCannotHonour(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})
	cc := []string{"claude-code"}
	for _, c := range []struct {
		name string
		body map[string]any
		want int
		says string
	}{
		{"group", map[string]any{"name": "hello", "group": "dev"}, 400, "group is not supported"},
		{"allow_unsigned", map[string]any{"name": "hello", "allow_unsigned": true}, 400, "allow_unsigned is not supported"},
		{"version with a tag", map[string]any{"name": "hello:1.0.0", "version": "2.0.0"}, 400, "conflicts"},
		{"version of a folder", map[string]any{"name": dir, "version": "2.0.0"}, 400, "folder"},
		{"relative folder", map[string]any{"name": "./hello", "clients": cc}, 400, "absolute"},
		{"malformed reference", map[string]any{"name": "Hello World", "clients": cc}, 400, "invalid reference"},
		{"no name", map[string]any{"clients": cc}, 400, "required"},
		{"bad scope", map[string]any{"name": "hello", "scope": "system"}, 400, "scope"},
		{"project without root", map[string]any{"name": "hello", "scope": "project", "clients": cc}, 400, "project_root"},
		{"relative project root", map[string]any{"name": "hello", "scope": "project", "project_root": "p", "clients": cc}, 400, "absolute"},
		{"unknown client", map[string]any{"name": "hello", "clients": []string{"emacs"}}, 400, "unknown client"},
		{"clients joined", map[string]any{"name": "hello", "clients": []string{"claude-code,cursor"}}, 400, "one identifier"},
		{"unknown field", map[string]any{"name": "hello", "registry": "x"}, 400, "unknown field"},
		{"unknown skill", map[string]any{"name": "nope", "clients": cc}, 404, "nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("POST", "/api/v1beta/skills", c.body)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r)
			}
			if msg := r.errorText(t); !strings.Contains(msg, c.says) {
				t.Errorf("message %q does not say %q", msg, c.says)
			}
		})
	}

	// A folder skilldock did not install is not replaced: 409.
	foreign := filepath.Join(h.env.home, ".claude", "skills", "hello")
	if err := os.MkdirAll(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "mine.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.expect(409, nil, "POST", "/api/v1beta/skills", map[string]any{"name": "hello", "clients": cc})
}

func TestCompatListAndGetRefuseBadFilters(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{
		"/api/v1beta/skills?group=dev",
		"/api/v1beta/skills?scope=global",
		"/api/v1beta/skills?project_root=relative",
		"/api/v1beta/skills?client=emacs",
		"/api/v1beta/skills/hello?project_root=/a/../b",
		"/api/v1beta/skills/hello?scope=global",
	} {
		if r := h.do("GET", path, nil); r.status != 400 {
			t.Errorf("GET %s: %d, want 400: %s", path, r.status, r)
		}
	}
	if r := h.do("DELETE", "/api/v1beta/skills/hello?project_root=%00", nil); r.status != 400 {
		t.Errorf("DELETE with a NUL project root: %d, want 400", r.status)
	}
}

func TestCompatContentShowsALocalBuild(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})

	var c struct {
		Name, Description, Version, License, Body string
		Files                                     []struct {
			Path string
			Size int64
		}
	}
	h.expect(200, &c, "GET", "/api/v1beta/skills/content?ref=hello", nil)
	if c.Name != "hello" || c.Version != "1.0.0" || c.License != "Apache-2.0" || !strings.Contains(c.Body, "Says hello.") || strings.Contains(c.Body, "---") {
		t.Errorf("content: %+v", c)
	}
	if len(c.Files) != 2 || c.Files[0].Path != "SKILL.md" || c.Files[1].Path != "scripts/run.sh" || c.Files[1].Size == 0 {
		t.Errorf("files: %+v", c.Files)
	}
	h.expect(404, nil, "GET", "/api/v1beta/skills/content?ref=nope", nil)
	h.expect(400, nil, "GET", "/api/v1beta/skills/content", nil)
	h.expect(400, nil, "GET", "/api/v1beta/skills/content?ref=Nope!", nil)
}

func TestCompatPushRefusesWithoutARegistryCall(t *testing.T) {
	h := newHarness(t)
	dir := h.env.skill(t, "hello")
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})
	for _, c := range []struct {
		name string
		body map[string]any
		want int
		says string
	}{
		{"signing key", map[string]any{"reference": "localhost:5999/team/hello:1", "key": "/k"}, 400, "key is not supported"},
		{"identity token", map[string]any{"reference": "localhost:5999/team/hello:1", "identity_token": "x"}, 400, "identity_token is not supported"},
		{"local tag", map[string]any{"reference": "hello"}, 400, "names no registry"},
		{"no reference", map[string]any{}, 400, "required"},
		{"not built", map[string]any{"reference": "localhost:5999/team/hello:1", "no_sign": true}, 404, "not in the local store"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("POST", "/api/v1beta/skills/push", c.body)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r)
			}
			if msg := r.errorText(t); !strings.Contains(msg, c.says) {
				t.Errorf("message %q does not say %q", msg, c.says)
			}
		})
	}
}

func TestCompatSyncAndUpgradeAnswerNotImplemented(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/api/v1beta/skills/sync", "/api/v1beta/skills/upgrade"} {
		r := h.expect(501, nil, "POST", p, map[string]any{"project_root": "/x"})
		if msg := r.errorText(t); !strings.Contains(msg, "not implemented") {
			t.Errorf("%s: %q", p, msg)
		}
	}
}

func TestCompatContentFromAnUnreachableRegistryIsBadGateway(t *testing.T) {
	h := newHarness(t)
	dead := closedAddr(t) // every dial is refused
	r := h.expect(502, nil, "GET", "/api/v1beta/skills/content?ref="+dead+"/team/hello:1", nil)
	if msg := r.errorText(t); !strings.Contains(msg, "cannot reach "+dead) {
		t.Errorf("502 body %q does not say which registry could not be reached", msg)
	}
}
