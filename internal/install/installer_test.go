package install_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/extract"
	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/testutil"
)

// rig is an installer on a machine of the test's own, installing into
// claude-code's user folder.
type rig struct {
	t      *testing.T
	m      testutil.Machine
	db     *records.DB
	in     *install.Installer
	skills string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	m := testutil.IsolateMachine(t)
	r := &rig{t: t, m: m, skills: filepath.Join(m.Home, ".claude", "skills")}
	r.db, r.in = r.open()
	return r
}

// open opens another handle on the rig's records, as another process would.
func (r *rig) open() (*records.DB, *install.Installer) {
	r.t.Helper()
	db, err := records.Open(context.Background(), r.m.RecordsPath())
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { db.Close() })
	return db, install.New(db)
}

// version is one build of a skill: its files and its layer.
type version struct {
	name   string
	files  map[string]string
	layer  []byte
	digest string
}

func newVersion(t testing.TB, name string, files map[string]string) version {
	t.Helper()
	all := map[string]string{"SKILL.md": testutil.SkillMD(name, "1.0.0", "Test.")}
	for p, c := range files {
		all[p] = c
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	l := testutil.NewLayer(t)
	for _, p := range paths {
		l.File(p, all[p], 0o644)
	}
	layer := l.Bytes()
	return version{name: name, files: all, layer: layer, digest: digest.FromBytes(layer).String()}
}

func (r *rig) request(v version, force bool) install.Request {
	return install.Request{
		Name: v.name, Version: "1.0.0", Source: "test/" + v.name, Digest: v.digest, Scope: "user",
		Targets:   []install.Target{{Base: r.m.Home, SkillsDir: r.skills, Clients: []string{"claude-code"}}},
		OpenLayer: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(v.layer)), nil },
		LayerSize: int64(len(v.layer)), Limits: extract.DefaultLimits(), Force: force,
	}
}

func (r *rig) install(v version) install.Outcome {
	r.t.Helper()
	return r.installWith(r.in, v)
}

func (r *rig) installWith(in *install.Installer, v version) install.Outcome {
	r.t.Helper()
	out, err := in.Install(context.Background(), r.request(v, false))
	if err != nil {
		r.t.Fatalf("installing %s: %v", v.name, err)
	}
	return out[0]
}

func (r *rig) target(name string) string { return filepath.Join(r.skills, name) }

// requireInstalled checks the folder holds exactly v, the record says v, and
// no staging folder is left.
func (r *rig) requireInstalled(v version) {
	r.t.Helper()
	got := testutil.Files(r.t, r.target(v.name))
	for p, c := range v.files {
		if got[p] != c {
			r.t.Errorf("%s: %s holds %q; want %q", r.target(v.name), p, got[p], c)
		}
	}
	if len(got) != len(v.files) {
		r.t.Errorf("%s holds %v; want %v", r.target(v.name), keys(got), keys(v.files))
	}
	rec, err := r.db.Get(context.Background(), r.target(v.name))
	if err != nil {
		r.t.Fatal(err)
	}
	if rec.Digest != v.digest {
		r.t.Errorf("record digest %s; want %s", rec.Digest, v.digest)
	}
	r.requireNoStaging()
}

func (r *rig) requireNoStaging() {
	r.t.Helper()
	if _, err := os.Lstat(filepath.Join(r.skills, ".skilldock-staging")); !errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(filepath.Join(r.skills, ".skilldock-staging"))
		r.t.Errorf("staging folder left behind (%v): %v", err, entries)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func inode(t testing.TB, p string) (uint64, int64) {
	t.Helper()
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	return st.Ino, info.ModTime().UnixNano()
}

func TestInstallingTheSameDigestTwiceLeavesTheFolderUntouched(t *testing.T) {
	r := newRig(t)
	v := newVersion(t, "same-skill", map[string]string{"a.txt": "a"})
	if o := r.install(v); o.Action != "installed" {
		t.Fatalf("first install: %s", o.Action)
	}
	dirIno, dirTime := inode(t, r.target(v.name))
	fileIno, fileTime := inode(t, filepath.Join(r.target(v.name), "a.txt"))
	if o := r.install(v); o.Action != "unchanged" {
		t.Fatalf("second install: %s; want unchanged", o.Action)
	}
	if i, m := inode(t, r.target(v.name)); i != dirIno || m != dirTime {
		t.Error("the folder was replaced or touched by a repeat install")
	}
	if i, m := inode(t, filepath.Join(r.target(v.name), "a.txt")); i != fileIno || m != fileTime {
		t.Error("a file was rewritten by a repeat install")
	}
	r.requireInstalled(v)
}

func TestInstallingANewDigestReplacesTheWholeFolder(t *testing.T) {
	r := newRig(t)
	v1 := newVersion(t, "swap-skill", map[string]string{"old-only.txt": "old", "both.txt": "v1"})
	v2 := newVersion(t, "swap-skill", map[string]string{"new-only.txt": "new", "both.txt": "v2"})
	r.install(v1)
	oldIno, _ := inode(t, r.target(v1.name))
	if o := r.install(v2); o.Action != "replaced" {
		t.Fatalf("action %s; want replaced", o.Action)
	}
	if i, _ := inode(t, r.target(v1.name)); i == oldIno {
		t.Error("the folder was edited in place; a new version must be a new folder swapped in")
	}
	r.requireInstalled(v2)
}

func TestInstallRefusesAFolderItDidNotInstallUnlessForced(t *testing.T) {
	r := newRig(t)
	v := newVersion(t, "mine-skill", nil)
	testutil.WriteSkill(t, r.skills, "mine-skill", map[string]string{"user.txt": "the user's own"})
	before := testutil.Snapshot(t, r.m.Home)
	_, err := r.in.Install(context.Background(), r.request(v, false))
	if !errors.Is(err, errdef.ErrAlreadyExists) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("error %v; want already-exists mentioning --force", err)
	}
	if d := before.Diff(testutil.Snapshot(t, r.m.Home)); len(d) > 0 {
		t.Fatalf("a refused install changed the home folder:\n%s", strings.Join(d, "\n"))
	}
	if _, err := r.in.Install(context.Background(), r.request(v, true)); err != nil {
		t.Fatal(err)
	}
	r.requireInstalled(v)
}

func TestInstallRefusesANameThatIsNotAFolderName(t *testing.T) {
	r := newRig(t)
	for _, name := range []string{"../evil", "..", "a/b", "", "UPPER", "-lead", "trail-", "a--b", "a b", strings.Repeat("a", 65), "/abs"} {
		v := newVersion(t, "ok", nil)
		v.name = name
		before := testutil.Snapshot(t, r.m.Home)
		_, err := r.in.Install(context.Background(), r.request(v, true))
		if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) {
			t.Errorf("name %q: error %v; want a refusal naming it", name, err)
		}
		if d := before.Diff(testutil.Snapshot(t, r.m.Home)); len(d) > 0 {
			t.Errorf("name %q changed the home folder:\n%s", name, strings.Join(d, "\n"))
		}
	}
}

func TestInstallNeverWritesThroughASymlink(t *testing.T) {
	outside := t.TempDir()
	cases := map[string]func(r *rig){
		"agent folder": func(r *rig) { mustSymlink(t, outside, filepath.Join(r.m.Home, ".claude")) },
		"skills folder": func(r *rig) {
			mustMkdir(t, filepath.Join(r.m.Home, ".claude"))
			mustSymlink(t, outside, r.skills)
		},
		"target": func(r *rig) {
			mustMkdir(t, r.skills)
			mustSymlink(t, outside, r.target("link-skill"))
		},
		"staging folder": func(r *rig) {
			mustMkdir(t, r.skills)
			mustSymlink(t, outside, filepath.Join(r.skills, ".skilldock-staging"))
		},
	}
	for name, plant := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			plant(r)
			before := testutil.Snapshot(t, outside)
			_, err := r.in.Install(context.Background(), r.request(newVersion(t, "link-skill", nil), true))
			if err == nil {
				t.Fatal("installed through a symbolic link")
			}
			if d := before.Diff(testutil.Snapshot(t, outside)); len(d) > 0 {
				t.Errorf("wrote through the link:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

func TestAHostileLayerLeavesThePreviousVersionWhole(t *testing.T) {
	r := newRig(t)
	good := newVersion(t, "victim-skill", map[string]string{"keep.txt": "keep me"})
	r.install(good)
	escape := t.TempDir()
	caps := testutil.LayerCaps{MaxFiles: 1000, MaxFileSize: 50 << 20, MaxTotalSize: 500 << 20, RatioFloor: 8 << 20}
	for _, c := range testutil.HostileLayers(t, "victim-skill", escape, caps) {
		switch c.Case {
		case "symlink", "dotdot", "duplicate", "case-collision", "gzip-bomb", "sparse":
		default:
			continue // the rest are covered by extract's own tests
		}
		t.Run(c.Case, func(t *testing.T) {
			before := testutil.Snapshot(t, r.m.Home, escape)
			bad := version{name: "victim-skill", layer: c.Layer, digest: digest.FromBytes(c.Layer).String()}
			_, err := r.in.Install(context.Background(), r.request(bad, true))
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.Entry)) {
				t.Fatalf("error %v; want a refusal naming %q", err, c.Entry)
			}
			if d := before.Diff(testutil.Snapshot(t, r.m.Home, escape)); len(d) > 0 {
				t.Fatalf("a refused install changed something:\n%s", strings.Join(d, "\n"))
			}
			r.requireInstalled(good)
		})
	}
}

func TestInstallAfterAKilledSwapLandsTheRequestedVersion(t *testing.T) {
	// A run installing v2 was killed after swapping the folder and before
	// recording it: v2 is on disk, the record still says v1, and an intent
	// says v2. Installing v1 now must put v1 there, not answer "unchanged"
	// from the stale record.
	r := newRig(t)
	ctx := context.Background()
	v1 := newVersion(t, "killed-skill", map[string]string{"v.txt": "one"})
	v2 := newVersion(t, "killed-skill", map[string]string{"v.txt": "two"})
	r.install(v1)
	r.simulateKilledSwap(v2)

	r.install(v1)
	r.requireInstalled(v1)
	if its, err := r.db.Intents(ctx); err != nil || len(its) != 0 {
		t.Errorf("intents left: %v %v", its, err)
	}
}

// simulateKilledSwap leaves the state of a run installing v killed between
// the swap and the record: v's files in the folder and an intent for v.
func (r *rig) simulateKilledSwap(v version) {
	r.t.Helper()
	ctx := context.Background()
	target := r.target(v.name)
	rec := records.Install{Name: v.name, Scope: "user", Path: target, Clients: []string{"claude-code"}, Source: "test", Digest: v.digest}
	for p, c := range v.files {
		rec.Files = append(rec.Files, records.File{Path: p, Size: int64(len(c)), SHA256: digest.FromString(c).Encoded()})
	}
	if err := r.db.BeginIntent(ctx, records.Intent{Path: target, Action: "install", Record: rec}); err != nil {
		r.t.Fatal(err)
	}
	if err := os.RemoveAll(target); err != nil {
		r.t.Fatal(err)
	}
	for p, c := range v.files {
		mustWrite(r.t, filepath.Join(target, p), c)
	}
}

func TestReconcileRecordsASwapThatHappenedAndDropsOneThatDidNot(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	v1 := newVersion(t, "recon-skill", map[string]string{"v.txt": "one"})
	v2 := newVersion(t, "recon-skill", map[string]string{"v.txt": "two"})
	r.install(v1)

	// Killed before the swap: the intent says v2, the folder holds v1.
	rec, _ := r.db.Get(ctx, r.target(v1.name))
	rec.Digest = v2.digest
	rec.Files = []records.File{{Path: "SKILL.md", Size: 1, SHA256: "00"}}
	if err := r.db.BeginIntent(ctx, records.Intent{Path: rec.Path, Action: "install", Record: *rec}); err != nil {
		t.Fatal(err)
	}
	if err := r.in.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	r.requireInstalled(v1)

	// Killed after the swap.
	r.simulateKilledSwap(v2)
	if err := r.in.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	r.requireInstalled(v2)
	if its, _ := r.db.Intents(ctx); len(its) != 0 {
		t.Errorf("intents left: %v", its)
	}
}

func TestStagesOfKilledRunsAreRemovedByTheNextReconcile(t *testing.T) {
	r := newRig(t)
	v := newVersion(t, "stale-skill", nil)
	r.install(v)
	staging := filepath.Join(r.skills, ".skilldock-staging")
	// What a run killed while extracting leaves: a stage and its free lock,
	// a stage whose lock was never made, and a lock whose stage never was.
	mustWrite(t, filepath.Join(staging, "stage-1", "new", "SKILL.md"), "half")
	mustWrite(t, filepath.Join(staging, "stage-1.lock"), "")
	mustWrite(t, filepath.Join(staging, "stage-2", "new", "x"), "half")
	mustWrite(t, filepath.Join(staging, "stage-3.lock"), "")
	if err := r.in.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.requireInstalled(v)
}

func TestALiveStageIsNeverRemovedByAnotherRun(t *testing.T) {
	r := newRig(t)
	staging := filepath.Join(r.skills, ".skilldock-staging")
	r.install(newVersion(t, "first-skill", nil))
	// Another process is extracting: its stage exists and its lock is held.
	mustWrite(t, filepath.Join(staging, "stage-live", "new", "SKILL.md"), "in progress")
	lock, err := os.OpenFile(filepath.Join(staging, "stage-live.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	r.install(newVersion(t, "second-skill", nil))
	if err := r.in.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(staging, "stage-live", "new", "SKILL.md")); err != nil {
		t.Fatalf("a live stage was removed: %v", err)
	}
	lock.Close() // the other process dies
	if err := r.in.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.requireNoStaging()
}

func TestConcurrentInstallersIntoOneFolderAllLand(t *testing.T) {
	r := newRig(t)
	const workers, rounds = 8, 3
	versions := make([]version, workers)
	for i := range versions {
		versions[i] = newVersion(t, fmt.Sprintf("conc-%d", i), map[string]string{"n.txt": fmt.Sprint(i)})
	}
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for i := range versions {
			_, in := r.open() // one handle per worker, as separate processes have
			wg.Add(1)
			go func(v version) {
				defer wg.Done()
				req := r.request(v, round > 0) // later rounds replace with --force
				if _, err := in.Install(context.Background(), req); err != nil {
					errs <- fmt.Errorf("%s: %w", v.name, err)
				}
			}(versions[i])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
	}
	list, err := r.db.List(context.Background(), records.Filter{}, false)
	if err != nil || len(list) != workers {
		t.Fatalf("%d records (%v); want %d", len(list), err, workers)
	}
	for _, v := range versions {
		r.requireInstalled(v)
	}
}

func TestCompareReportsModifiedMissingAndExtraFiles(t *testing.T) {
	r := newRig(t)
	v := newVersion(t, "drift-skill", map[string]string{"a.txt": "a", "b.txt": "b", "sub/c.txt": "c"})
	r.install(v)
	dir := r.target(v.name)
	rec, err := r.db.Get(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := install.Compare(dir, rec.Files); err != nil || !d.Clean() {
		t.Fatalf("fresh install drifted: %+v %v", d, err)
	}
	mustWrite(t, filepath.Join(dir, "a.txt"), "A") // same size, other bytes
	if err := os.Remove(filepath.Join(dir, "sub", "c.txt")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "sub", "new.txt"), "new")
	if err := os.Remove(filepath.Join(dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, "/etc/passwd", filepath.Join(dir, "b.txt")) // a link where a file was
	d, err := install.Compare(dir, rec.Files)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(d.Modified) != "[a.txt]" || fmt.Sprint(d.Missing) != "[b.txt sub/c.txt]" || fmt.Sprint(d.Extra) != "[b.txt sub/new.txt]" || d.Clean() {
		t.Errorf("drift %+v", d)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if d, err := install.Compare(dir, rec.Files); err != nil || !d.Gone || len(d.Missing) != len(rec.Files) {
		t.Errorf("a removed folder: %+v %v", d, err)
	}
}

func mustWrite(t testing.TB, p, content string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t testing.TB, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t testing.TB, target, link string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
