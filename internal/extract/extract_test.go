package extract_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/extract"
	"github.com/skilldock/skilldock/internal/testutil"
)

// Small caps keep the corpus cheap; the same corpus runs against the default
// caps through a real registry in the install package's tests.
var (
	testLimits = extract.Limits{MaxFiles: 20, MaxFileSize: 3 << 20, MaxTotalSize: 5 << 20, MaxRatio: 100, RatioFloor: 1 << 20}
	testCaps   = testutil.LayerCaps{MaxFiles: 20, MaxFileSize: 3 << 20, MaxTotalSize: 5 << 20, RatioFloor: 1 << 20}
)

// stage makes dest the way the installer does: an empty folder two levels
// inside a folder the test watches.
func stage(t *testing.T) (base, dest string) {
	t.Helper()
	testutil.IsolateMachine(t)
	base = t.TempDir()
	dest = filepath.Join(base, "stage", "new")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	return base, dest
}

// escapeDir is the folder outside the stage that escaping entries aim at; it
// holds a victim file a hard link or symlink would reach.
func escapeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "victim"), []byte("do not touch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestExtractRefusesEveryHostileLayerNamingTheEntryAndWritesNothingOutsideDest(t *testing.T) {
	escape := escapeDir(t)
	wantKind := map[string]error{
		"nul": errdef.ErrCorrupt, "too-many-files": errdef.ErrLimit, "too-many-folders": errdef.ErrLimit,
		"file-over-cap": errdef.ErrLimit, "total-over-cap": errdef.ErrLimit, "gzip-bomb": errdef.ErrLimit,
	}
	corpus := testutil.HostileLayers(t, "hostile-skill", escape, testCaps)
	for _, c := range corpus {
		t.Run(c.Case, func(t *testing.T) {
			base, dest := stage(t)
			before := testutil.Snapshot(t, escape)
			lim := testLimits
			if c.Case == "total-over-cap" {
				// Zeros trip the ratio cap first; without it the total
				// cap must still stop the layer at the entry crossing it.
				lim.MaxRatio = 0
			}
			res, err := extract.Extract(bytes.NewReader(c.Layer), int64(len(c.Layer)), dest, lim)
			if err == nil {
				t.Fatalf("extracted %d files; want a refusal", len(res.Files))
			}
			want := wantKind[c.Case]
			if want == nil {
				want = errdef.ErrInvalid
			}
			if !errors.Is(err, want) {
				t.Errorf("error %q is not %v", err, want)
			}
			if c.Entry != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", c.Entry)) {
				t.Errorf("error %q does not name the entry %q", err, c.Entry)
			}
			if c.Entry == "" && !strings.Contains(err.Error(), "not a valid tar") {
				t.Errorf("error %q does not say the tar is invalid", err)
			}
			if d := before.Diff(testutil.Snapshot(t, escape)); len(d) > 0 {
				t.Errorf("the folder outside dest changed:\n%s", strings.Join(d, "\n"))
			}
			requireOnly(t, base, "stage")
			requireOnly(t, filepath.Join(base, "stage"), "new")
			requireNoLinksOrSpecials(t, dest)
		})
	}
}

func TestExtractRefusesAGzipBombBeforeWritingItAll(t *testing.T) {
	_, dest := stage(t)
	l := testutil.NewLayer(t)
	l.File("SKILL.md", testutil.SkillMD("bomb-skill", "", "x"), 0o644)
	l.Zeros("bomb.bin", testLimits.MaxFileSize)
	layer := l.Bytes()
	if ratio := testLimits.MaxFileSize / int64(len(layer)); ratio < 500 {
		t.Fatalf("the bomb compresses only %d×; the test needs a real bomb", ratio)
	}
	_, err := extract.Extract(bytes.NewReader(layer), int64(len(layer)), dest, testLimits)
	if !errors.Is(err, errdef.ErrLimit) || !strings.Contains(err.Error(), `"bomb.bin"`) {
		t.Fatalf("error %v; want a limit error naming bomb.bin", err)
	}
	info, err := os.Stat(filepath.Join(dest, "bomb.bin"))
	if err == nil && info.Size() > testLimits.RatioFloor {
		t.Errorf("%d bytes of the bomb were written; the budget is %d", info.Size(), testLimits.RatioFloor)
	}
}

func TestExtractAcceptsRepetitiveTextBelowTheRatioFloor(t *testing.T) {
	_, dest := stage(t)
	text := strings.Repeat("the same line of a reference document\n", 20000) // ~760 KiB, compresses >100×
	l := testutil.NewLayer(t)
	l.File("SKILL.md", testutil.SkillMD("text-skill", "", "x"), 0o644)
	l.File("references/big.md", text, 0o644)
	layer := l.Bytes()
	if int64(len(text))/int64(len(layer)) <= testLimits.MaxRatio {
		t.Fatalf("text compresses only %d×; the test needs more than %d×", int64(len(text))/int64(len(layer)), testLimits.MaxRatio)
	}
	if _, err := extract.Extract(bytes.NewReader(layer), int64(len(layer)), dest, testLimits); err != nil {
		t.Fatal(err)
	}
}

func TestExtractWritesRegularFilesWithExactModesAndDigests(t *testing.T) {
	_, dest := stage(t)
	files := map[string]string{
		"SKILL.md":         testutil.SkillMD("good-skill", "1.0.0", "Good."),
		"scripts/run.sh":   "#!/bin/sh\necho hi\n",
		"references/a.md":  "# A\n",
		"assets/deep/x.md": "deep\n",
		"empty.txt":        "",
	}
	l := testutil.NewLayer(t)
	l.Header(&tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755})
	l.Header(&tar.Header{Typeflag: tar.TypeDir, Name: "scripts/", Mode: 0o700})
	l.Header(&tar.Header{Typeflag: tar.TypeDir, Name: "scripts/", Mode: 0o700}) // a folder twice is harmless
	for _, p := range []string{"SKILL.md", "scripts/run.sh", "references/a.md", "assets/deep/x.md", "empty.txt"} {
		mode := int64(0o600) // a private mode in the layer is not kept: skills are readable
		if strings.HasSuffix(p, ".sh") {
			mode = 0o700
		}
		l.File("./"+p, files[p], mode)
	}
	layer := l.Bytes()
	old := setUmask(0o077)
	res, err := extract.Extract(bytes.NewReader(layer), int64(len(layer)), dest, testLimits)
	setUmask(old)
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != "" {
		t.Errorf("root %q; want the layer's top", res.Root)
	}
	if len(res.Files) != len(files) {
		t.Fatalf("%d files reported; want %d: %+v", len(res.Files), len(files), res.Files)
	}
	for i, f := range res.Files {
		if i > 0 && res.Files[i-1].Path >= f.Path {
			t.Errorf("files not sorted: %q before %q", res.Files[i-1].Path, f.Path)
		}
		content, ok := files[f.Path]
		if !ok {
			t.Errorf("unexpected file %q", f.Path)
			continue
		}
		sum := sha256.Sum256([]byte(content))
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(content)) {
			t.Errorf("%s: digest %s size %d; want %x %d", f.Path, f.SHA256, f.Size, sum, len(content))
		}
		info, err := os.Lstat(filepath.Join(dest, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o644)
		if f.Executable {
			want = 0o755
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v; want %v", f.Path, info.Mode(), want)
		}
		if f.Executable != strings.HasSuffix(f.Path, ".sh") {
			t.Errorf("%s: executable %v", f.Path, f.Executable)
		}
	}
	if got := testutil.Files(t, dest); len(got) != len(files) {
		t.Errorf("dest holds %v", got)
	}
}

func TestExtractFindsTheSkillInsideOneTopLevelFolder(t *testing.T) {
	_, dest := stage(t)
	l := testutil.NewLayer(t)
	l.Header(&tar.Header{Typeflag: tar.TypeDir, Name: "my-skill/", Mode: 0o755})
	l.File("my-skill/SKILL.md", testutil.SkillMD("my-skill", "", "x"), 0o644)
	l.File("my-skill/notes/a.txt", "a", 0o644)
	layer := l.Bytes()
	res, err := extract.Extract(bytes.NewReader(layer), int64(len(layer)), dest, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if res.Root != "my-skill" {
		t.Fatalf("root %q; want my-skill", res.Root)
	}
	if res.Files[0].Path != "SKILL.md" || res.Files[1].Path != "notes/a.txt" {
		t.Errorf("paths are not relative to the root: %+v", res.Files)
	}
}

func TestExtractRefusesALayerWithoutSkillMD(t *testing.T) {
	for name, files := range map[string][]string{
		"none":           {"README.md"},
		"two-top-levels": {"a/SKILL.md", "b/x.txt"},
		"too-deep":       {"a/b/SKILL.md"},
	} {
		t.Run(name, func(t *testing.T) {
			_, dest := stage(t)
			l := testutil.NewLayer(t)
			for _, f := range files {
				l.File(f, "x", 0o644)
			}
			layer := l.Bytes()
			_, err := extract.Extract(bytes.NewReader(layer), int64(len(layer)), dest, testLimits)
			if !errors.Is(err, errdef.ErrUnsupported) {
				t.Fatalf("error %v; want unsupported", err)
			}
		})
	}
}

func TestExtractRefusesWhatIsNotTarGzip(t *testing.T) {
	good := testutil.NewLayer(t)
	good.File("SKILL.md", testutil.SkillMD("x", "", "x"), 0o644)
	good.File("b.txt", strings.Repeat("b", 4096), 0o644)
	layer := good.Bytes()
	for name, data := range map[string][]byte{
		"not-gzip":  []byte("plain text, not a layer"),
		"truncated": layer[:len(layer)/2],
	} {
		t.Run(name, func(t *testing.T) {
			_, dest := stage(t)
			_, err := extract.Extract(bytes.NewReader(data), int64(len(data)), dest, testLimits)
			if !errors.Is(err, errdef.ErrCorrupt) && !strings.Contains(fmt.Sprint(err), "EOF") {
				t.Fatalf("error %v; want a corrupt-layer error", err)
			}
		})
	}
}

func TestExtractNeverReusesAnEntryAlreadyInDest(t *testing.T) {
	// dest must be empty; if something planted a link in it anyway, the
	// extraction fails instead of writing through it.
	_, dest := stage(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dest, "refs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(dest, "SKILL.md")); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"SKILL.md", "refs/a.md"} {
		l := testutil.NewLayer(t)
		l.File(file, "x", 0o644)
		layer := l.Bytes()
		_, err := extract.Extract(bytes.NewReader(layer), int64(len(layer)), dest, testLimits)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", strings.Split(file, "/")[0])) {
			t.Errorf("%s: error %v; want a refusal naming it", file, err)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("something was written through a link: %v", entries)
	}
}

func requireOnly(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("%s holds %v; want only %s", dir, names, name)
	}
}

func requireNoLinksOrSpecials(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			t.Errorf("%s is %v; only files and folders may be written", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// setUmask sets the process umask and returns the old one; extraction must
// give files the modes the layer asks for whatever it is.
func setUmask(m int) int { return syscall.Umask(m) }
