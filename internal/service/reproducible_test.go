package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// skillFiles is the reference content: nested folders, an executable script,
// binary data, and names whose bytewise order differs from a case-folded one.
var skillFiles = map[string]string{
	"scripts/run.sh":      "#!/bin/sh\necho run\n",
	"references/guide.md": "# Guide\n\nRead me.\n",
	"references/Zeta.md":  "upper case sorts first\n",
	"assets/data.bin":     "\x00\x01\x02\xff\xfe binary",
	"a/b/c/deep.txt":      "deep\n",
}

const skillName = "repro-skill"

type treeModes struct {
	file, exec, dir os.FileMode
}

// writeTree writes the reference skill under parent/repro-skill with exact
// modes (umask does not apply: every mode is set with chmod).
func writeTree(t *testing.T, parent string, m treeModes) string {
	t.Helper()
	dir := testutil.WriteSkill(t, parent, skillName, skillFiles)
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			return os.Chmod(p, m.dir)
		case filepath.Ext(p) == ".sh":
			return os.Chmod(p, m.exec)
		default:
			return os.Chmod(p, m.file)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func newService(t *testing.T) *service.Service {
	t.Helper()
	svc, err := service.New(service.Config{StorePath: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func buildIn(t *testing.T, svc *service.Service, dir string, epoch *time.Time) *service.BuildResult {
	t.Helper()
	res, err := svc.Build(context.Background(), service.BuildRequest{Dir: dir, Tags: []string{"t"}, Epoch: epoch})
	if err != nil {
		t.Fatalf("build %s: %v", dir, err)
	}
	return res
}

// buildFresh builds dir into a store of its own, as another machine would.
func buildFresh(t *testing.T, dir string) string {
	t.Helper()
	return buildIn(t, newService(t), dir, nil).Digest
}

func walkAll(t *testing.T, dir string, fn func(p string, info os.FileInfo) error) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return fn(p, info)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBuildIsReproducibleAcrossPathsMtimesPermissionsOwnersAndUmask(t *testing.T) {
	std := treeModes{file: 0o644, exec: 0o755, dir: 0o755}
	want := buildFresh(t, writeTree(t, t.TempDir(), std))

	cases := []struct {
		name string
		make func(t *testing.T) string
	}{
		{"same folder again", func(t *testing.T) string { return writeTree(t, t.TempDir(), std) }},
		{"different folder path", func(t *testing.T) string {
			return writeTree(t, filepath.Join(t.TempDir(), "some", "much", "deeper", "place"), std)
		}},
		{"different mtimes", func(t *testing.T) string {
			dir := writeTree(t, t.TempDir(), std)
			when := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
			walkAll(t, dir, func(p string, _ os.FileInfo) error {
				when = when.Add(time.Hour + 17*time.Millisecond)
				return os.Chtimes(p, when, when)
			})
			return dir
		}},
		{"private permission bits 0600 files 0700 dirs", func(t *testing.T) string {
			return writeTree(t, t.TempDir(), treeModes{file: 0o600, exec: 0o700, dir: 0o700})
		}},
		{"group-writable permission bits", func(t *testing.T) string {
			return writeTree(t, t.TempDir(), treeModes{file: 0o664, exec: 0o775, dir: 0o775})
		}},
		{"different owner", func(t *testing.T) string {
			if os.Geteuid() != 0 {
				t.Skip("chown to another uid needs root")
			}
			dir := writeTree(t, t.TempDir(), std)
			walkAll(t, dir, func(p string, _ os.FileInfo) error { return os.Lchown(p, 1234, 1234) })
			return dir
		}},
		{"hidden files and folders present", func(t *testing.T) string {
			dir := writeTree(t, t.TempDir(), std)
			for p, c := range map[string]string{".env": "SECRET=1", ".git/HEAD": "ref: x", "references/.draft.md": "wip"} {
				full := filepath.Join(dir, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			return dir
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := buildFresh(t, c.make(t)); got != want {
				t.Errorf("digest %s; the reference copy gave %s", got, want)
			}
		})
	}

	// The umask is process-wide. This subtest is not parallel, and Go starts
	// parallel tests only once every sequential one has finished, so nothing
	// else writes files meanwhile. Files are created with the modes programs
	// usually ask for and the umask decides the result; the build itself
	// also runs under that umask.
	t.Run("restrictive umask while writing and building", func(t *testing.T) {
		old := syscall.Umask(0o077)
		defer syscall.Umask(old)
		dir := filepath.Join(t.TempDir(), skillName)
		for p, c := range skillFiles {
			full := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o777); err != nil {
				t.Fatal(err)
			}
			mode := os.FileMode(0o666)
			if filepath.Ext(p) == ".sh" {
				mode = 0o777
			}
			if err := os.WriteFile(full, []byte(c), mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(testutil.SkillMD(skillName, "1.0.0", "Says hello.")), 0o666); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(filepath.Join(dir, "scripts", "run.sh"))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o700 {
			t.Fatalf("umask not applied: run.sh is %v", info.Mode().Perm())
		}
		if got := buildFresh(t, dir); got != want {
			t.Errorf("digest %s under umask 077; the reference copy gave %s", got, want)
		}
	})
}

func TestBuildKeepsTheExecutableBitAsContent(t *testing.T) {
	std := treeModes{file: 0o644, exec: 0o755, dir: 0o755}
	dir := writeTree(t, t.TempDir(), std)
	svc := newService(t)
	withExec := buildIn(t, svc, dir, nil).Digest

	in, err := svc.Inspect(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range in.Files {
		if want := f.Path == "scripts/run.sh"; f.Executable != want {
			t.Errorf("%s: executable=%v, want %v", f.Path, f.Executable, want)
		}
	}

	if err := os.Chmod(filepath.Join(dir, "scripts", "run.sh"), 0o644); err != nil {
		t.Fatal(err)
	}
	if without := buildFresh(t, dir); without == withExec {
		t.Errorf("dropping the executable bit of scripts/run.sh kept digest %s", without)
	}
	// Any execute bit counts, not only the owner's.
	if err := os.Chmod(filepath.Join(dir, "scripts", "run.sh"), 0o645); err != nil {
		t.Fatal(err)
	}
	if got := buildFresh(t, dir); got != withExec {
		t.Errorf("mode 0645 gave %s; 0755 gave %s (both are executable)", got, withExec)
	}
}

func TestBuildDigestChangesWhenOneByteChanges(t *testing.T) {
	std := treeModes{file: 0o644, exec: 0o755, dir: 0o755}
	for _, file := range []string{"SKILL.md", "assets/data.bin", "a/b/c/deep.txt"} {
		t.Run(file, func(t *testing.T) {
			dir := writeTree(t, t.TempDir(), std)
			before := buildFresh(t, dir)
			p := filepath.Join(dir, filepath.FromSlash(file))
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-2] ^= 0x01 // same size, one bit of one byte
			info, _ := os.Stat(p)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			// Keep the mtime too, so only the content differs.
			if err := os.Chtimes(p, info.ModTime(), info.ModTime()); err != nil {
				t.Fatal(err)
			}
			if after := buildFresh(t, dir); after == before {
				t.Errorf("changing one byte of %s kept digest %s", file, before)
			}
		})
	}
}

// readIndex returns the built index blob and its first manifest.
func readIndex(t *testing.T, svc *service.Service, digest string) (ocispec.Index, ocispec.Manifest, ocispec.Image) {
	t.Helper()
	root := svc.Store().Root()
	read := func(d string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, "blobs", "sha256", d[len("sha256:"):]))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	var idx ocispec.Index
	read(digest, &idx)
	var m ocispec.Manifest
	read(idx.Manifests[0].Digest.String(), &m)
	var cfg ocispec.Image
	read(m.Config.Digest.String(), &cfg)
	return idx, m, cfg
}

func TestSourceDateEpochChangesDigestAndCreated(t *testing.T) {
	dir := writeTree(t, t.TempDir(), treeModes{file: 0o644, exec: 0o755, dir: 0o755})

	svc0 := newService(t)
	d0 := buildIn(t, svc0, dir, nil).Digest
	idx0, m0, cfg0 := readIndex(t, svc0, d0)
	for what, got := range map[string]string{
		"index annotation":    idx0.Annotations[ocispec.AnnotationCreated],
		"manifest annotation": m0.Annotations[ocispec.AnnotationCreated],
		"config created":      cfg0.Created.UTC().Format(time.RFC3339),
	} {
		if got != "1970-01-01T00:00:00Z" {
			t.Errorf("without SOURCE_DATE_EPOCH, %s is %q; want the Unix epoch", what, got)
		}
	}

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	svc1 := newService(t)
	d1 := buildIn(t, svc1, dir, nil).Digest
	if d1 == d0 {
		t.Fatalf("SOURCE_DATE_EPOCH=1700000000 kept digest %s", d0)
	}
	idx1, m1, cfg1 := readIndex(t, svc1, d1)
	for what, got := range map[string]string{
		"index annotation":    idx1.Annotations[ocispec.AnnotationCreated],
		"manifest annotation": m1.Annotations[ocispec.AnnotationCreated],
		"config created":      cfg1.Created.UTC().Format(time.RFC3339),
		"history created":     cfg1.History[0].Created.UTC().Format(time.RFC3339),
	} {
		if got != "2023-11-14T22:13:20Z" {
			t.Errorf("with SOURCE_DATE_EPOCH=1700000000, %s is %q; want 2023-11-14T22:13:20Z", what, got)
		}
	}
	// The same epoch is still reproducible.
	if again := buildFresh(t, dir); again != d1 {
		t.Errorf("second build with the same SOURCE_DATE_EPOCH gave %s, first %s", again, d1)
	}

	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	_, err := newService(t).Build(context.Background(), service.BuildRequest{Dir: dir})
	if !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday: got %v, want an ErrInvalid", err)
	}
}
