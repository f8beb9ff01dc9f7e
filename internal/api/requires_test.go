package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

func TestRequiredSkillsAreShownByBothAPIsAsDeclared(t *testing.T) {
	h := newHarness(t)
	hex := strings.Repeat("ab", 32)
	base, pdf := "example.com/skills/base:1", "example.com/skills/pdf@sha256:"+hex
	dir := testutil.WriteSkill(t, h.env.skills, "needs", map[string]string{
		"SKILL.md": "---\nname: needs\ndescription: Needs two others.\nmetadata:\n  toolhive.requires: |\n    " +
			base + "\n    " + pdf + "\n---\n# needs\n",
	})
	want := []string{base, pdf}
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir})

	// The contract's InstalledSkill: name from the repository, the digest
	// only where the reference pins one.
	type dependency struct{ Name, Reference, Digest string }
	deps := []dependency{{"base", base, ""}, {"pdf", pdf, "sha256:" + hex}}
	var created struct {
		Skill struct{ Dependencies []dependency }
	}
	h.expect(201, &created, "POST", "/api/v1beta/skills", map[string]any{"name": "needs", "clients": []string{"claude-code"}})
	if !reflect.DeepEqual(created.Skill.Dependencies, deps) {
		t.Errorf("install: dependencies %+v, want %+v", created.Skill.Dependencies, deps)
	}
	var list struct {
		Skills []struct{ Dependencies []map[string]string }
	}
	r := h.expect(200, &list, "GET", "/api/v1beta/skills", nil)
	if len(list.Skills) != 1 || len(list.Skills[0].Dependencies) != 2 {
		t.Fatalf("list: %s", r.body)
	}
	if _, ok := list.Skills[0].Dependencies[0]["digest"]; ok {
		t.Errorf("a dependency named by tag carries a digest: %s", r.body)
	}
	var info struct {
		InstalledSkill struct{ Dependencies []dependency } `json:"installed_skill"`
	}
	h.expect(200, &info, "GET", "/api/v1beta/skills/needs", nil)
	if !reflect.DeepEqual(info.InstalledSkill.Dependencies, deps) {
		t.Errorf("get: dependencies %+v, want %+v", info.InstalledSkill.Dependencies, deps)
	}

	var content struct{ Requires []string }
	h.expect(200, &content, "GET", "/api/v1beta/skills/content?ref=needs", nil)
	if !slices.Equal(content.Requires, want) {
		t.Errorf("compat content: requires %q, want %q", content.Requires, want)
	}
	h.expect(200, &content, "GET", "/api/skilldock/v1/content?ref=needs", nil)
	if !slices.Equal(content.Requires, want) {
		t.Errorf("extension content: requires %q, want %q", content.Requires, want)
	}
	var inspection struct{ Metadata struct{ Requires []string } }
	h.expect(200, &inspection, "GET", "/api/skilldock/v1/inspect?tag=needs", nil)
	if !slices.Equal(inspection.Metadata.Requires, want) {
		t.Errorf("extension inspect: requires %q, want %q", inspection.Metadata.Requires, want)
	}
	var installs []struct{ Requires []string }
	h.expect(200, &installs, "GET", "/api/skilldock/v1/installs/needs", nil)
	if len(installs) != 1 || !slices.Equal(installs[0].Requires, want) {
		t.Errorf("extension info: %+v, want requires %q", installs, want)
	}

	// The Go client hands back what the façade returns.
	ctx := context.Background()
	res, err := h.client().Install(ctx, service.InstallRequest{Source: "needs", Clients: "claude-code"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Requires, want) || !slices.Equal(res.NotInstalled, want) {
		t.Errorf("client install: Requires %q, NotInstalled %q; want both %q", res.Requires, res.NotInstalled, want)
	}
	got, err := h.client().Info(ctx, "needs")
	if err != nil || len(got) != 1 || !slices.Equal(got[0].Requires, want) {
		t.Errorf("client info: %+v, %v", got, err)
	}
}

func TestContentOfASkillWithoutRequiresIsExactlyTheContractsShape(t *testing.T) {
	h := newHarness(t)
	h.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": h.env.skill(t, "hello")})
	var fields map[string]json.RawMessage
	h.expect(200, &fields, "GET", "/api/v1beta/skills/content?ref=hello", nil)
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	if got := strings.Join(names, ","); got != "body,description,files,license,name,version" {
		t.Errorf("content has fields %s; want those of the contract's SkillContent only", got)
	}
	var list struct{ Skills []map[string]json.RawMessage }
	h.expect(201, nil, "POST", "/api/v1beta/skills", map[string]any{"name": "hello", "clients": []string{"claude-code"}})
	h.expect(200, &list, "GET", "/api/v1beta/skills", nil)
	if _, ok := list.Skills[0]["dependencies"]; ok {
		t.Errorf("an install without dependencies lists dependencies: %s", list.Skills[0]["dependencies"])
	}
}
