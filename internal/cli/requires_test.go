package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// The dependencies the requiring skill of these tests declares: one by tag,
// one pinned by digest. Neither registry exists, so fetching either would
// fail the command.
var (
	requiredBase = "example.com/skills/base:1"
	requiredPDF  = "example.com/skills/pdf@sha256:" + strings.Repeat("ab", 32)
)

// newRequiringSkill writes a skill called name that requires both of the
// above.
func newRequiringSkill(t *testing.T, name string) string {
	t.Helper()
	return testutil.WriteSkill(t, t.TempDir(), name, map[string]string{
		"SKILL.md": "---\nname: " + name + "\ndescription: Needs two others.\nmetadata:\n  version: \"1.0.0\"\n" +
			"  toolhive.requires: |\n    " + requiredBase + "\n    " + requiredPDF + "\n---\n# " + name + "\n",
	})
}

func TestInspectAndContentShowRequiredSkills(t *testing.T) {
	testutil.Isolate(t)
	store := t.TempDir()
	mustSD(t, store, "build", newRequiringSkill(t, "needs"), "-t", "needs:1")
	mustSD(t, store, "build", newSkill(t, "plain"), "-t", "plain:1")
	want := []string{requiredBase, requiredPDF}

	out := mustSD(t, store, "inspect", "needs:1").out
	if block := "Requires:      " + requiredBase + "\n               " + requiredPDF + "\n"; !strings.Contains(out, block) {
		t.Errorf("inspect does not list the required skills as\n%s\ngot:\n%s", block, out)
	}
	var in struct {
		Metadata struct {
			Requires []string `json:"requires"`
		} `json:"metadata"`
	}
	decodeJSON(t, mustSD(t, store, "inspect", "needs:1", "-o", "json").out, &in)
	if !slices.Equal(in.Metadata.Requires, want) {
		t.Errorf("inspect -o json: metadata.requires = %q, want %q", in.Metadata.Requires, want)
	}

	out = mustSD(t, store, "content", "needs:1").out
	if block := "Requires:     " + requiredBase + "\n              " + requiredPDF + "\n"; !strings.Contains(out, block) {
		t.Errorf("content does not list the required skills as\n%s\ngot:\n%s", block, out)
	}
	var c struct {
		contentJSON
		Requires []string `json:"requires"`
	}
	decodeExact(t, mustSD(t, store, "content", "needs:1", "-o", "json").out, &c)
	if !slices.Equal(c.Requires, want) || c.Name != "needs" {
		t.Errorf("content -o json: %+v; want requires %q", c, want)
	}

	// A skill without dependencies says nothing about them.
	if out := mustSD(t, store, "inspect", "plain:1").out + mustSD(t, store, "content", "plain:1").out; strings.Contains(out, "Requires") {
		t.Errorf("a skill without dependencies shows a Requires line:\n%s", out)
	}
	for _, args := range [][]string{{"inspect", "plain:1", "-o", "json"}, {"content", "plain:1", "-o", "json"}} {
		if out := mustSD(t, store, args...).out; strings.Contains(out, "requires") {
			t.Errorf("%s shows requires for a skill without dependencies:\n%s", strings.Join(args, " "), out)
		}
	}
}

func TestInstallNotesRequiredSkillsNotInstalledAndInfoAndListShowThem(t *testing.T) {
	m := testutil.IsolateMachine(t)
	store := m.Store
	mustSD(t, store, "build", newRequiringSkill(t, "needs"), "-t", "needs:1")
	mustSD(t, store, "build", newSkill(t, "base"), "-t", "base:1")
	want := []string{requiredBase, requiredPDF}

	r := mustSD(t, store, "install", "needs:1", "--client", "claude-code")
	note := "note: needs requires skills not installed for these agents (skilldock does not install dependencies): " +
		requiredBase + ", " + requiredPDF + "\n"
	if r.err != note {
		t.Errorf("install stderr %q; want the one-line note %q", r.err, note)
	}
	// The base skill installed, the note leaves it out.
	mustSD(t, store, "install", "base:1", "--client", "claude-code")
	r = mustSD(t, store, "install", "needs:1", "--client", "claude-code", "-o", "json")
	if !strings.HasSuffix(r.err, "dependencies): "+requiredPDF+"\n") {
		t.Errorf("with base installed, install stderr %q names more than %s", r.err, requiredPDF)
	}
	var res struct {
		Requires     []string `json:"requires"`
		NotInstalled []string `json:"notInstalled"`
	}
	decodeJSON(t, r.out, &res)
	if !slices.Equal(res.Requires, want) || !slices.Equal(res.NotInstalled, []string{requiredPDF}) {
		t.Errorf("install -o json: %+v", res)
	}
	if r := mustSD(t, store, "install", "base:1", "--client", "cursor"); r.err != "" {
		t.Errorf("installing a skill without dependencies wrote %q to stderr", r.err)
	}

	out := mustSD(t, store, "info", "needs").out
	if block := "Requires:     " + requiredBase + "\n              " + requiredPDF + "\n"; !strings.Contains(out, block) {
		t.Errorf("info does not list the required skills as\n%s\ngot:\n%s", block, out)
	}
	var info struct {
		Installs []struct {
			Requires []string `json:"requires"`
		} `json:"installs"`
	}
	decodeJSON(t, mustSD(t, store, "info", "needs", "-o", "json").out, &info)
	if len(info.Installs) != 1 || !slices.Equal(info.Installs[0].Requires, want) {
		t.Errorf("info -o json: %+v; want requires %q", info, want)
	}
	var list struct {
		Skills []struct {
			Name     string   `json:"name"`
			Requires []string `json:"requires"`
		} `json:"skills"`
	}
	decodeJSON(t, mustSD(t, store, "list", "-o", "json").out, &list)
	for _, s := range list.Skills {
		var w []string
		if s.Name == "needs" {
			w = want
		}
		if !slices.Equal(s.Requires, w) {
			t.Errorf("list -o json: %s requires %q; want %q", s.Name, s.Requires, w)
		}
	}
	if len(list.Skills) != 3 {
		t.Errorf("list -o json shows %d installs, want 3 (needs, base twice)", len(list.Skills))
	}
}
