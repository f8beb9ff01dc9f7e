package clients_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/clients"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/testutil"
)

func load(t *testing.T) (*clients.Table, testutil.Machine) {
	t.Helper()
	m := testutil.IsolateMachine(t)
	env, err := clients.EnvFromOS()
	if err != nil {
		t.Fatal(err)
	}
	if env.Home != m.Home || env.XDGConfigHome != m.ConfigHome {
		t.Fatalf("EnvFromOS = %+v; want HOME %s and XDG_CONFIG_HOME %s", env, m.Home, m.ConfigHome)
	}
	tbl, err := clients.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	return tbl, m
}

func TestEveryBuiltInAgentHasAUserAndAProjectFolderNamedSkills(t *testing.T) {
	tbl, m := load(t)
	ids := map[string]bool{}
	for _, c := range tbl.All() {
		if ids[c.ID] {
			t.Errorf("id %q twice", c.ID)
		}
		ids[c.ID] = true
		if c.Name == "" || c.Source == "" || c.Detect == "" {
			t.Errorf("%s: name, source and detect are required: %+v", c.ID, c)
		}
		user, err := tbl.SkillsDir(c, clients.ScopeUser, "")
		if err != nil {
			t.Errorf("%s: %v", c.ID, err)
			continue
		}
		if !strings.HasPrefix(user, m.Home+"/") && !strings.HasPrefix(user, m.ConfigHome+"/") {
			t.Errorf("%s: user folder %s is neither under HOME nor XDG_CONFIG_HOME", c.ID, user)
		}
		project, err := tbl.SkillsDir(c, clients.ScopeProject, "/work/repo")
		if err != nil || !strings.HasPrefix(project, "/work/repo/") {
			t.Errorf("%s: project folder %s, %v", c.ID, project, err)
		}
		for _, p := range []string{user, project} {
			if filepath.Base(p) != "skills" {
				t.Errorf("%s: %s is not a skills folder", c.ID, p)
			}
		}
	}
	for _, id := range []string{"claude-code", "codex", "github-copilot", "cursor", "gemini-cli", "opencode", "goose", "windsurf", "amp", "kiro", "agents"} {
		if !ids[id] {
			t.Errorf("built-in agent %q is missing", id)
		}
	}
}

func TestPathsExpandAgainstHomeAndXDGConfigHome(t *testing.T) {
	tbl, m := load(t)
	for id, want := range map[string]string{
		"claude-code": filepath.Join(m.Home, ".claude", "skills"),
		"opencode":    filepath.Join(m.ConfigHome, "opencode", "skills"),
		"amp":         filepath.Join(m.ConfigHome, "agents", "skills"),
	} {
		c, _ := tbl.Get(id)
		if got, err := tbl.SkillsDir(c, clients.ScopeUser, ""); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", id, got, err, want)
		}
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	env, _ := clients.EnvFromOS()
	if env.XDGConfigHome != filepath.Join(m.Home, ".config") {
		t.Errorf("without XDG_CONFIG_HOME: %s; want ~/.config", env.XDGConfigHome)
	}
}

func TestCodexAmpAndAgentsShareTheProjectFolder(t *testing.T) {
	tbl, _ := load(t)
	var dirs []string
	for _, id := range []string{"codex", "amp", "agents"} {
		c, _ := tbl.Get(id)
		d, err := tbl.SkillsDir(c, clients.ScopeProject, "/repo")
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	if dirs[0] != "/repo/.agents/skills" || dirs[1] != dirs[0] || dirs[2] != dirs[0] {
		t.Errorf("project folders %v; want /repo/.agents/skills for all three", dirs)
	}
}

func TestProjectScopeNeedsAnAbsoluteRoot(t *testing.T) {
	tbl, _ := load(t)
	c, _ := tbl.Get("claude-code")
	for _, root := range []string{"", "relative/repo"} {
		if _, err := tbl.SkillsDir(c, clients.ScopeProject, root); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("root %q: %v; want invalid", root, err)
		}
	}
}

func TestSelectUnknownClientListsTheKnownIDs(t *testing.T) {
	tbl, _ := load(t)
	_, err := tbl.Select("claude-code,no-such-agent")
	if !errors.Is(err, errdef.ErrInvalid) {
		t.Fatalf("error %v; want invalid", err)
	}
	for _, want := range append([]string{`"no-such-agent"`, "skilldock clients"}, tbl.IDs()...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestSelectWithNothingDetectedSaysHowToChoose(t *testing.T) {
	tbl, _ := load(t)
	_, err := tbl.Select("")
	if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "--client") || !strings.Contains(err.Error(), "all") {
		t.Fatalf("error %v; want one saying to choose with --client", err)
	}
}

func TestSelectPicksDetectedAgentsAllOrAListWithoutRepeats(t *testing.T) {
	tbl, m := load(t)
	if err := os.MkdirAll(filepath.Join(m.Home, ".cursor"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(m.ConfigHome, "goose"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A file where the agent's folder would be does not count.
	if err := os.WriteFile(filepath.Join(m.Home, ".claude"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]string{
		"":                      "cursor goose",
		" all ":                 strings.Join(idsInOrder(tbl.All()), " "),
		"kiro, codex,kiro":      "kiro codex",
		"claude-code":           "claude-code",
		"windsurf,claude-code,": "",
	} {
		got, err := tbl.Select(spec)
		if want == "" {
			if err == nil {
				t.Errorf("Select(%q) = %v; want an error for the empty id", spec, idsInOrder(got))
			}
			continue
		}
		if err != nil || strings.Join(idsInOrder(got), " ") != want {
			t.Errorf("Select(%q) = %v, %v; want %s", spec, idsInOrder(got), err, want)
		}
	}
}

func idsInOrder(cs []clients.Client) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestAUserFileAddsAndOverridesAgents(t *testing.T) {
	m := testutil.IsolateMachine(t)
	file := filepath.Join(m.ConfigHome, "skilldock", "clients.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`clients:
  - id: claude-code
    user: ~/elsewhere/skills
    project: .claude/skills
  - id: my-agent
    user: $XDG_CONFIG_HOME/my-agent/skills
    project: .my-agent/skills
    detect: ~/.my-agent
`)
	env, _ := clients.EnvFromOS()
	tbl, err := clients.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := tbl.Get("claude-code")
	if d, _ := tbl.SkillsDir(c, clients.ScopeUser, ""); d != filepath.Join(m.Home, "elsewhere", "skills") {
		t.Errorf("override not applied: %s", d)
	}
	mine, ok := tbl.Get("my-agent")
	if !ok || mine.Name != "my-agent" {
		t.Fatalf("added agent: %+v %v", mine, ok)
	}
	if d, _ := tbl.SkillsDir(mine, clients.ScopeUser, ""); d != filepath.Join(m.ConfigHome, "my-agent", "skills") {
		t.Errorf("added agent folder %s", d)
	}
	if n := len(tbl.All()); n != 12 {
		t.Errorf("%d agents; want the 11 built in plus one", n)
	}

	for name, bad := range map[string]string{
		"not yaml":         "clients: [",
		"missing project":  "clients:\n  - id: x\n    user: ~/x\n",
		"absolute project": "clients:\n  - id: x\n    user: ~/x\n    project: /etc/skills\n",
		"escaping project": "clients:\n  - id: x\n    user: ~/x\n    project: ../../skills\n",
	} {
		write(bad)
		if _, err := clients.Load(env); !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: error %v; want invalid naming %s", name, err, file)
		}
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]clients.Scope{"": clients.ScopeUser, "user": clients.ScopeUser, "project": clients.ScopeProject} {
		if got, err := clients.ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := clients.ParseScope("global"); !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("ParseScope(global): %v", err)
	}
}

func TestFindProjectRootWalksUpToGit(t *testing.T) {
	testutil.IsolateMachine(t)
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := clients.FindProjectRoot(deep); err != nil || got != root {
		t.Errorf("FindProjectRoot = %s, %v; want %s", got, err, root)
	}
	if _, err := clients.FindProjectRoot(t.TempDir()); !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "--project-root") {
		t.Errorf("outside a repository: %v; want a hint at --project-root", err)
	}
}
