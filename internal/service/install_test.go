package service_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// installService is a service on a machine of the test's own: HOME, the XDG
// folders and the store are fresh temporary folders.
func installService(t *testing.T) (*service.Service, testutil.Machine) {
	t.Helper()
	m := testutil.IsolateMachine(t)
	svc, err := service.New(service.Config{StorePath: m.Store})
	if err != nil {
		t.Fatal(err)
	}
	return svc, m
}

// buildSkill builds a skill called name holding files under the local tag
// name:tag and returns its digest.
func buildSkill(t *testing.T, svc *service.Service, name, tag string, files map[string]string) string {
	t.Helper()
	dir := testutil.WriteSkill(t, t.TempDir(), name, files)
	b, err := svc.Build(context.Background(), service.BuildRequest{Dir: dir, Tags: []string{name + ":" + tag}})
	if err != nil {
		t.Fatal(err)
	}
	return b.Digest
}

func mustInstall(t *testing.T, svc *service.Service, req service.InstallRequest) *service.InstallResult {
	t.Helper()
	res, err := svc.Install(context.Background(), req)
	if err != nil {
		t.Fatalf("install %s: %v", req.Source, err)
	}
	return res
}

func statOf(t *testing.T, p string) (uint64, int64) {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino, info.ModTime().UnixNano()
}

func TestInstallRefusesARemoteSkillNamedUnlikeItsRepositoryUnlessAllowed(t *testing.T) {
	svc, m := installService(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := addr + "/" + testutil.Repo(t)
	l := testutil.NewLayer(t)
	l.File("SKILL.md", testutil.SkillMD("real-name", "1.0.0", "x"), 0o644)
	layer := l.Bytes()
	testutil.PushLayer(t, repo+"/other-name:1", layer, testutil.SkillLabels("real-name"))
	testutil.PushLayer(t, repo+"/real-name:1", layer, testutil.SkillLabels("real-name"))
	ctx := context.Background()

	_, err := svc.Install(ctx, service.InstallRequest{Source: repo + "/other-name:1", Clients: "claude-code"})
	if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), `"real-name"`) || !strings.Contains(err.Error(), "--allow-name-mismatch") {
		t.Fatalf("error %v; want a name-mismatch refusal naming real-name and the flag", err)
	}
	if _, err := os.Lstat(filepath.Join(m.Home, ".claude", "skills", "real-name")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused install left a folder: %v", err)
	}
	res := mustInstall(t, svc, service.InstallRequest{Source: repo + "/other-name:1", Clients: "claude-code", AllowNameMismatch: true})
	if res.Name != "real-name" || res.Installs[0].Path != filepath.Join(m.Home, ".claude", "skills", "real-name") {
		t.Errorf("installed %+v", res)
	}
	mustInstall(t, svc, service.InstallRequest{Source: repo + "/real-name:1", Clients: "cursor"})
}

func TestInstallingTheSameDigestTwiceChangesNothing(t *testing.T) {
	svc, m := installService(t)
	buildSkill(t, svc, "twice-skill", "1", map[string]string{"a.txt": "a"})
	req := service.InstallRequest{Source: "twice-skill:1", Clients: "claude-code"}
	mustInstall(t, svc, req)
	dir := filepath.Join(m.Home, ".claude", "skills", "twice-skill")
	dirIno, dirTime := statOf(t, dir)
	fileIno, fileTime := statOf(t, filepath.Join(dir, "a.txt"))
	before := testutil.Snapshot(t, m.Home)
	res := mustInstall(t, svc, req)
	if res.Installs[0].Action != "unchanged" {
		t.Errorf("action %s; want unchanged", res.Installs[0].Action)
	}
	if i, tm := statOf(t, dir); i != dirIno || tm != dirTime {
		t.Error("the folder was replaced or modified")
	}
	if i, tm := statOf(t, filepath.Join(dir, "a.txt")); i != fileIno || tm != fileTime {
		t.Error("a file was rewritten")
	}
	if d := before.Diff(testutil.Snapshot(t, m.Home)); len(d) > 0 {
		t.Errorf("the home folder changed:\n%s", strings.Join(d, "\n"))
	}
}

func TestReplacingAVersionNeverShowsAMissingOrMixedFolder(t *testing.T) {
	svc, m := installService(t)
	const name = "swap-skill"
	var digests [2]string
	for i := range digests {
		files := map[string]string{"marker.txt": fmt.Sprint(i)}
		for j := 0; j < 40; j++ {
			files[fmt.Sprintf("refs/f%02d.md", j)] = fmt.Sprintf("version %d file %d\n", i, j)
		}
		digests[i] = buildSkill(t, svc, name, fmt.Sprint(i), files)
	}
	dir := filepath.Join(m.Home, ".claude", "skills", name)
	mustInstall(t, svc, service.InstallRequest{Source: name + ":0", Clients: "claude-code"})

	// A reader opens the folder and reads two files through that handle, as
	// an agent loading the skill would. It must always find the folder, and
	// both files from one version. (Files of a version swapped out while it
	// reads may vanish: the old folder is deleted after the swap.)
	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	problems := make(chan string, 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			d, err := os.Open(dir)
			if err != nil {
				problems <- "the folder was missing: " + err.Error()
				return
			}
			at := fmt.Sprintf("/proc/self/fd/%d/", d.Fd())
			marker, err1 := os.ReadFile(at + "marker.txt")
			last, err2 := os.ReadFile(at + "refs/f39.md")
			d.Close()
			if errors.Is(err1, os.ErrNotExist) || errors.Is(err2, os.ErrNotExist) {
				continue // an old version, swapped out and being deleted
			}
			if err1 != nil || err2 != nil {
				problems <- fmt.Sprintf("reading the folder: %v %v", err1, err2)
				return
			}
			if want := fmt.Sprintf("version %s file 39\n", marker); string(last) != want {
				problems <- fmt.Sprintf("mixed versions: marker %s with %q", marker, last)
				return
			}
			reads.Add(1)
		}
	}()
	for i := 1; i <= 6; i++ {
		res := mustInstall(t, svc, service.InstallRequest{Source: fmt.Sprintf("%s:%d", name, i%2), Clients: "claude-code"})
		if res.Installs[0].Action != "replaced" || res.Digest != digests[i%2] {
			t.Errorf("install %d: %+v", i, res)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(problems)
	for p := range problems {
		t.Error(p)
	}
	if reads.Load() == 0 {
		t.Error("the reader never read the folder")
	}
	list, err := svc.List(context.Background(), service.ListRequest{})
	if err != nil || len(list) != 1 || list[0].Digest != digests[0] {
		t.Fatalf("list %+v %v; want one record of version 0", list, err)
	}
	if _, err := os.Lstat(filepath.Join(m.Home, ".claude", "skills", ".skilldock-staging")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging left behind: %v", err)
	}
}

func TestInstallRefusesAFolderSkilldockDidNotInstallUnlessForced(t *testing.T) {
	svc, m := installService(t)
	buildSkill(t, svc, "theirs-skill", "1", nil)
	testutil.WriteSkill(t, filepath.Join(m.Home, ".claude", "skills"), "theirs-skill", map[string]string{"mine.txt": "hand made"})
	before := testutil.Snapshot(t, m.Home)
	_, err := svc.Install(context.Background(), service.InstallRequest{Source: "theirs-skill:1", Clients: "claude-code"})
	if !errors.Is(err, errdef.ErrAlreadyExists) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("error %v; want already-exists pointing at --force", err)
	}
	if d := before.Diff(testutil.Snapshot(t, m.Home)); len(d) > 0 {
		t.Fatalf("the refused install changed the home folder:\n%s", strings.Join(d, "\n"))
	}
	res := mustInstall(t, svc, service.InstallRequest{Source: "theirs-skill:1", Clients: "claude-code", Force: true})
	if res.Installs[0].Action != "replaced" {
		t.Errorf("action %s; want replaced", res.Installs[0].Action)
	}
	if _, err := os.Lstat(filepath.Join(res.Installs[0].Path, "mine.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the forced install kept the old folder's files")
	}
}

func TestAgentsSharingAProjectFolderGetOneFolderRecordedForEach(t *testing.T) {
	svc, _ := installService(t)
	root := t.TempDir()
	buildSkill(t, svc, "shared-skill", "1", nil)
	ctx := context.Background()
	res := mustInstall(t, svc, service.InstallRequest{Source: "shared-skill:1", Clients: "codex,amp,agents,claude-code", Scope: "project", ProjectRoot: root})
	if len(res.Installs) != 2 {
		t.Fatalf("outcomes %+v; want one for .agents/skills and one for .claude/skills", res.Installs)
	}
	shared := filepath.Join(root, ".agents", "skills", "shared-skill")
	if res.Installs[0].Path != shared || fmt.Sprint(res.Installs[0].Clients) != "[agents amp codex]" {
		t.Errorf("shared outcome %+v", res.Installs[0])
	}
	for _, id := range []string{"codex", "amp", "agents"} {
		list, err := svc.List(ctx, service.ListRequest{Client: id, Scope: "project"})
		if err != nil || len(list) != 1 || list[0].Path != shared {
			t.Errorf("list --client %s: %+v %v; want the one shared folder", id, list, err)
		}
	}
	// Dropping one agent keeps the folder for the others.
	out, err := svc.Uninstall(ctx, service.UninstallRequest{Name: "shared-skill", Clients: "codex", Scope: "project"})
	if err != nil || len(out) != 1 || out[0].Removed || fmt.Sprint(out[0].Clients) != "[agents amp]" {
		t.Fatalf("uninstall --client codex: %+v %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(shared, "SKILL.md")); err != nil {
		t.Fatalf("the shared folder went with one agent: %v", err)
	}
	if list, _ := svc.List(ctx, service.ListRequest{Client: "codex"}); len(list) != 0 {
		t.Errorf("codex still listed: %+v", list)
	}
	if _, err := svc.Uninstall(ctx, service.UninstallRequest{Name: "shared-skill", Scope: "project"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{shared, filepath.Join(root, ".claude", "skills", "shared-skill")} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived uninstalling every agent: %v", p, err)
		}
	}
}

func TestInstallForAnUnknownClientListsTheKnownOnes(t *testing.T) {
	svc, _ := installService(t)
	buildSkill(t, svc, "any-skill", "1", nil)
	_, err := svc.Install(context.Background(), service.InstallRequest{Source: "any-skill:1", Clients: "claude-code,vim"})
	if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), `"vim"`) {
		t.Fatalf("error %v; want invalid naming vim", err)
	}
	cs, cerr := svc.Clients(context.Background())
	if cerr != nil {
		t.Fatal(cerr)
	}
	for _, c := range cs {
		if !strings.Contains(err.Error(), c.ID) {
			t.Errorf("error %q does not list %s", err, c.ID)
		}
	}
}

func TestInstallWithNoAgentDetectedSaysHowToChoose(t *testing.T) {
	svc, m := installService(t)
	buildSkill(t, svc, "auto-skill", "1", nil)
	_, err := svc.Install(context.Background(), service.InstallRequest{Source: "auto-skill:1"})
	if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "--client") {
		t.Fatalf("error %v; want one saying to choose with --client", err)
	}
	if err := os.Mkdir(filepath.Join(m.Home, ".gemini"), 0o755); err != nil {
		t.Fatal(err)
	}
	res := mustInstall(t, svc, service.InstallRequest{Source: "auto-skill:1"})
	if len(res.Installs) != 1 || fmt.Sprint(res.Installs[0].Clients) != "[gemini-cli]" {
		t.Errorf("installed for %+v; want the detected gemini-cli only", res.Installs)
	}
}

func TestInstallForAnAgentUnderXDGConfigHomeOutsideHome(t *testing.T) {
	svc, m := installService(t)
	buildSkill(t, svc, "xdg-skill", "1", nil)
	res := mustInstall(t, svc, service.InstallRequest{Source: "xdg-skill:1", Clients: "opencode,goose"})
	for i, want := range []string{
		filepath.Join(m.ConfigHome, "opencode", "skills", "xdg-skill"),
		filepath.Join(m.ConfigHome, "goose", "skills", "xdg-skill"),
	} {
		if i >= len(res.Installs) || res.Installs[i].Path != want {
			t.Fatalf("installs %+v; want %s", res.Installs, want)
		}
		if _, err := os.Stat(filepath.Join(want, "SKILL.md")); err != nil {
			t.Error(err)
		}
	}
	if _, err := svc.Uninstall(context.Background(), service.UninstallRequest{Name: "xdg-skill"}); err != nil {
		t.Fatal(err)
	}
}

func TestUninstallRefusesASymlinkedFolder(t *testing.T) {
	svc, m := installService(t)
	buildSkill(t, svc, "link-skill", "1", nil)
	res := mustInstall(t, svc, service.InstallRequest{Source: "link-skill:1", Clients: "claude-code"})
	dir := res.Installs[0].Path
	elsewhere := filepath.Join(t.TempDir(), "link-skill")
	if err := os.Rename(dir, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, dir); err != nil {
		t.Fatal(err)
	}
	before := testutil.Snapshot(t, m.Home, elsewhere)
	_, err := svc.Uninstall(context.Background(), service.UninstallRequest{Name: "link-skill", Force: true})
	if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("error %v; want a refusal of the link", err)
	}
	if d := before.Diff(testutil.Snapshot(t, m.Home, elsewhere)); len(d) > 0 {
		t.Errorf("the refused uninstall changed something:\n%s", strings.Join(d, "\n"))
	}
}

func TestUninstallRefusesARecordPointingOutsideTheSkillsFolders(t *testing.T) {
	svc, m := installService(t)
	buildSkill(t, svc, "tamper-skill", "1", nil)
	res := mustInstall(t, svc, service.InstallRequest{Source: "tamper-skill:1", Clients: "claude-code"})
	outside := filepath.Join(t.TempDir(), "x", "tamper-skill")
	testutil.WriteSkill(t, filepath.Dir(outside), "tamper-skill", map[string]string{"precious.txt": "keep"})
	mustWrite(t, filepath.Join(m.Home, "precious.txt"), "keep")
	for name, bad := range map[string]string{
		"home":                   m.Home,
		"outside home":           outside,
		"the skills folder":      filepath.Join(m.Home, ".claude", "skills"),
		"beside skills":          filepath.Join(m.Home, ".claude", "tamper-skill"),
		"dot-dot back out of it": filepath.Join(m.Home, ".claude", "skills") + "/../skills/tamper-skill/../../tamper-skill",
	} {
		t.Run(name, func(t *testing.T) {
			tamper(t, m, res.Installs[0].Path, bad)
			before := testutil.Snapshot(t, m.Home, filepath.Dir(outside))
			_, err := svc.Uninstall(context.Background(), service.UninstallRequest{Name: "tamper-skill", Force: true})
			if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "refusing to remove") {
				t.Errorf("record pointing at %s: error %v; want a refusal", bad, err)
			}
			if d := before.Diff(testutil.Snapshot(t, m.Home, filepath.Dir(outside))); len(d) > 0 {
				t.Errorf("the refused uninstall changed something:\n%s", strings.Join(d, "\n"))
			}
			tamper(t, m, bad, res.Installs[0].Path)
		})
	}
	if _, err := svc.Uninstall(context.Background(), service.UninstallRequest{Name: "tamper-skill"}); err != nil {
		t.Fatalf("the honest record no longer uninstalls: %v", err)
	}
}

// tamper rewrites the record at from to say the skill is at to, as a user
// editing the database (or a bug) could.
func tamper(t *testing.T, m testutil.Machine, from, to string) {
	t.Helper()
	ctx := context.Background()
	db, err := records.Open(ctx, m.RecordsPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec, err := db.Get(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(ctx, from); err != nil {
		t.Fatal(err)
	}
	rec.Path = to
	if err := db.Put(ctx, *rec); err != nil {
		t.Fatal(err)
	}
}

func TestUninstallRemovesOnlyWhatItInstalled(t *testing.T) {
	svc, m := installService(t)
	buildSkill(t, svc, "extra-skill", "1", map[string]string{"a.txt": "a"})
	res := mustInstall(t, svc, service.InstallRequest{Source: "extra-skill:1", Clients: "claude-code"})
	dir := res.Installs[0].Path
	mustWrite(t, filepath.Join(dir, "notes", "mine.md"), "the user's notes")
	before := testutil.Snapshot(t, m.Home)
	_, err := svc.Uninstall(context.Background(), service.UninstallRequest{Name: "extra-skill"})
	if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "notes/mine.md") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("error %v; want a refusal naming notes/mine.md and --force", err)
	}
	if d := before.Diff(testutil.Snapshot(t, m.Home)); len(d) > 0 {
		t.Fatalf("the refused uninstall changed the home folder:\n%s", strings.Join(d, "\n"))
	}
	if list, _ := svc.List(context.Background(), service.ListRequest{}); len(list) != 1 {
		t.Fatalf("the record went: %+v", list)
	}
	out, err := svc.Uninstall(context.Background(), service.UninstallRequest{Name: "extra-skill", Force: true})
	if err != nil || len(out) != 1 || !out[0].Removed {
		t.Fatalf("forced uninstall: %+v %v", out, err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s survived: %v", dir, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 0 {
		t.Errorf("left in the skills folder: %v", entries)
	}
}

func TestVerifyNamesModifiedMissingAndExtraFiles(t *testing.T) {
	svc, _ := installService(t)
	buildSkill(t, svc, "verify-skill", "1", map[string]string{"a.txt": "a", "b.txt": "b"})
	res := mustInstall(t, svc, service.InstallRequest{Source: "verify-skill:1", Clients: "claude-code"})
	dir := res.Installs[0].Path
	ctx := context.Background()
	if out, err := svc.Verify(ctx, ""); err != nil || len(out) != 1 || !out[0].Clean() {
		t.Fatalf("fresh install: %+v %v", out, err)
	}
	mustWrite(t, filepath.Join(dir, "a.txt"), "changed")
	if err := os.Remove(filepath.Join(dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "c.txt"), "added")
	out, err := svc.Verify(ctx, "verify-skill")
	if err != nil || len(out) != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	want := install.Drift{Modified: []string{"a.txt"}, Missing: []string{"b.txt"}, Extra: []string{"c.txt"}}
	if fmt.Sprint(out[0].Drift) != fmt.Sprint(want) {
		t.Errorf("drift %+v; want %+v", out[0].Drift, want)
	}
	if _, err := svc.Verify(ctx, "not-installed"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("verify of an unknown skill: %v", err)
	}
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
