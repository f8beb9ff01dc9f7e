package service_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// pinnedDep is a dependency pinned by digest, which no test installs.
var pinnedDep = "example.com/skills/pdf@sha256:" + strings.Repeat("ab", 32)

// requiringMD is a SKILL.md for name that requires refs.
func requiringMD(name string, refs ...string) string {
	return "---\nname: " + name + "\ndescription: Test skill " + name + ". Use it in tests only.\nmetadata:\n  version: \"1.0.0\"\n" +
		"  toolhive.requires: |\n    " + strings.Join(refs, "\n    ") + "\n---\n# " + name + "\n"
}

func TestInspectAndContentShowWhatASkillRequires(t *testing.T) {
	svc, _ := installService(t)
	want := []string{"example.com/skills/base:1", pinnedDep}
	buildSkill(t, svc, "needs", "1", map[string]string{"SKILL.md": requiringMD("needs", want...)})
	buildSkill(t, svc, "plain", "1", nil)
	ctx := context.Background()

	in, err := svc.Inspect(ctx, "needs:1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in.Metadata.Requires, want) {
		t.Errorf("Inspect: Requires = %q, want %q", in.Metadata.Requires, want)
	}
	c, err := svc.Content(ctx, "needs:1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Requires, want) {
		t.Errorf("Content: Requires = %q, want %q", c.Requires, want)
	}

	if in, err := svc.Inspect(ctx, "plain:1"); err != nil || in.Metadata.Requires != nil {
		t.Errorf("Inspect of a skill without dependencies: %q, %v", in.Metadata.Requires, err)
	}
	if c, err := svc.Content(ctx, "plain:1"); err != nil || c.Requires != nil {
		t.Errorf("Content of a skill without dependencies: %q, %v", c.Requires, err)
	}
}

func TestInstallRecordsRequiresAndNamesThoseNotInstalledWithoutFetchingThem(t *testing.T) {
	svc, m := installService(t)
	base := "example.com/skills/base:1"
	want := []string{base, pinnedDep}
	buildSkill(t, svc, "needs", "1", map[string]string{"SKILL.md": requiringMD("needs", want...)})
	buildSkill(t, svc, "base", "1", nil)
	ctx := context.Background()

	// The registry in base's reference does not exist: any attempt to fetch
	// it would fail the install.
	res := mustInstall(t, svc, service.InstallRequest{Source: "needs:1", Clients: "claude-code"})
	if !slices.Equal(res.Requires, want) || !slices.Equal(res.NotInstalled, want) {
		t.Errorf("install: Requires %q, NotInstalled %q; want both %q", res.Requires, res.NotInstalled, want)
	}
	info, err := svc.Info(ctx, "needs")
	if err != nil {
		t.Fatal(err)
	}
	if len(info) != 1 || !slices.Equal(info[0].Requires, want) {
		t.Errorf("Info: %+v; want Requires %q", info, want)
	}
	list, err := svc.List(ctx, service.ListRequest{Name: "needs"})
	if err != nil || len(list) != 1 || !slices.Equal(list[0].Requires, want) {
		t.Errorf("List: %+v, %v; want Requires %q", list, err, want)
	}
	if all, _ := svc.List(ctx, service.ListRequest{}); len(all) != 1 {
		t.Errorf("installing a skill installed %d skills; dependencies must not be fetched", len(all))
	}

	// Once base is installed for the agent, only the other one is missing.
	mustInstall(t, svc, service.InstallRequest{Source: "base:1", Clients: "claude-code"})
	res = mustInstall(t, svc, service.InstallRequest{Source: "needs:1", Clients: "claude-code"})
	if !slices.Equal(res.NotInstalled, []string{pinnedDep}) {
		t.Errorf("with base installed: NotInstalled %q, want only %s", res.NotInstalled, pinnedDep)
	}
	// An agent that lacks base misses it, whoever else has it.
	res = mustInstall(t, svc, service.InstallRequest{Source: "needs:1", Clients: "claude-code,cursor"})
	if !slices.Equal(res.NotInstalled, want) {
		t.Errorf("for an agent without base: NotInstalled %q, want %q", res.NotInstalled, want)
	}
	// A project does not see the user's installs.
	project := t.TempDir()
	res = mustInstall(t, svc, service.InstallRequest{Source: "needs:1", Clients: "claude-code", Scope: "project", ProjectRoot: project})
	if !slices.Equal(res.NotInstalled, want) {
		t.Errorf("in a project: NotInstalled %q, want %q", res.NotInstalled, want)
	}

	// A record written before dependencies were recorded gets them when the
	// same digest is installed again.
	db, err := sql.Open("sqlite", "file:"+m.RecordsPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE installs SET requires = '[]' WHERE name = 'needs'`); err != nil {
		t.Fatal(err)
	}
	if again := mustInstall(t, svc, service.InstallRequest{Source: "needs:1", Clients: "claude-code"}); again.Installs[0].Action != "unchanged" {
		t.Fatalf("action %s; want unchanged", again.Installs[0].Action)
	}
	info, err = svc.Info(ctx, "needs")
	if err != nil {
		t.Fatal(err)
	}
	reinstalled := filepath.Join(m.Home, ".claude", "skills", "needs")
	i := slices.IndexFunc(info, func(in records.Install) bool { return in.Path == reinstalled })
	if i < 0 || !slices.Equal(info[i].Requires, want) {
		t.Errorf("after reinstalling the same digest, the record of %s is %+v; want Requires %q", reinstalled, info, want)
	}
}

func TestInstallOfASkillWithoutRequiresReportsNone(t *testing.T) {
	svc, _ := installService(t)
	dir := testutil.WriteSkill(t, t.TempDir(), "plain", nil)
	res := mustInstall(t, svc, service.InstallRequest{Source: dir, Clients: "claude-code"})
	if res.Requires != nil || res.NotInstalled != nil {
		t.Errorf("Requires %q, NotInstalled %q; want none", res.Requires, res.NotInstalled)
	}
	info, err := svc.Info(context.Background(), "plain")
	if err != nil || info[0].Requires != nil {
		t.Errorf("Info: %+v, %v; want no Requires", info, err)
	}
}
