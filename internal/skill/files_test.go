package skill_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/skilldock/skilldock/internal/skill"
)

// listPaths returns ListFiles' paths in order and fails on any issue.
func listPaths(t *testing.T, root string) []string {
	t.Helper()
	files, issues, err := skill.ListFiles(root)
	if err != nil {
		t.Fatalf("ListFiles: %v", err)
	}
	if len(issues) != 0 {
		t.Fatalf("ListFiles issues: %+v", issues)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return paths
}

func writeTree(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		mustWrite(t, filepath.Join(root, filepath.FromSlash(p)), p)
	}
}

func TestListFilesPutsSKILLmdFirstThenSortsBytewise(t *testing.T) {
	root := t.TempDir()
	// Bytewise order puts uppercase before lowercase, "-" (0x2d) and "."
	// (0x2e) before "/" (0x2f), and "a/z" before "a0" — unlike a
	// depth-first walk, which visits "a/" after "a-b" but before "a0".
	writeTree(t, root,
		"zeta.md", "SKILL.md", "README.md", "a-b.txt", "a.txt", "a/z.txt", "a0.txt",
		"assets/B.png", "assets/a.png", "Z.txt", "é.txt", "scripts/run.sh",
	)
	want := []string{
		"SKILL.md", "README.md", "Z.txt", "a-b.txt", "a.txt", "a/z.txt", "a0.txt",
		"assets/B.png", "assets/a.png", "scripts/run.sh", "zeta.md", "é.txt",
	}
	if got := listPaths(t, root); !slices.Equal(got, want) {
		t.Errorf("paths =\n%q\nwant\n%q", got, want)
	}
}

func TestListFilesFindsNestedSKILLmdOnlyInItsSortedPlace(t *testing.T) {
	// Only the root SKILL.md is the manifest; a nested one is an ordinary file.
	root := t.TempDir()
	writeTree(t, root, "SKILL.md", "a/SKILL.md", "B.txt")
	want := []string{"SKILL.md", "B.txt", "a/SKILL.md"}
	if got := listPaths(t, root); !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}
}

func TestSortArchiveOrderIsIndependentOfInputOrder(t *testing.T) {
	want := []string{"SKILL.md", "A", "a", "a/b", "a0", "b"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		files := make([]skill.File, len(want))
		for i, p := range want {
			files[i] = skill.File{Path: p}
		}
		r.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
		skill.SortArchiveOrder(files)
		got := make([]string, len(files))
		for i, f := range files {
			got[i] = f.Path
		}
		if !slices.Equal(got, want) {
			t.Fatalf("SortArchiveOrder = %q, want %q", got, want)
		}
	}
}

func TestListFilesSkipsHiddenFilesAndFolders(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root,
		"SKILL.md", ".env", ".git/HEAD", ".git/objects/ab/cd", "scripts/.cache/x",
		"scripts/run.sh", "scripts/.hidden.sh", "refs/.DS_Store", "refs/guide.md",
	)
	want := []string{"SKILL.md", "refs/guide.md", "scripts/run.sh"}
	if got := listPaths(t, root); !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}
}

func TestListFilesHonoursSkillignore(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root,
		"SKILL.md", "notes.tmp", "refs/draft.tmp", "refs/guide.md",
		"build/out.bin", "build/keep.txt", "docs/a.md", "docs/keep.md",
	)
	mustWrite(t, filepath.Join(root, ".skillignore"),
		"# comment\n*.tmp\n/build/\ndocs/*\n!docs/keep.md\n!build/keep.txt\n")
	// build/keep.txt stays ignored: nothing below an excluded folder can be
	// re-included.
	want := []string{"SKILL.md", "docs/keep.md", "refs/guide.md"}
	if got := listPaths(t, root); !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}
}

func TestSkillignoreCannotDropSKILLmd(t *testing.T) {
	// The artifact must hold SKILL.md first; a broad pattern like "*.md"
	// meant for notes must not silently produce an artifact without it.
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{"*.md\n", []string{"SKILL.md", "scripts/run.sh"}},
		{"SKILL.md\n", []string{"SKILL.md", "notes.md", "scripts/run.sh"}},
		{"/SKILL.md\n", []string{"SKILL.md", "notes.md", "scripts/run.sh"}},
		{"*\n", []string{"SKILL.md"}},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, "SKILL.md", "notes.md", "scripts/run.sh")
			mustWrite(t, filepath.Join(root, ".skillignore"), tc.pattern)
			if got := listPaths(t, root); !slices.Equal(got, tc.want) {
				t.Errorf("paths = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestListFilesDetectsExecutableBit(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "SKILL.md", "scripts/run.sh", "scripts/user-only.sh", "scripts/data.txt")
	for p, mode := range map[string]os.FileMode{
		"scripts/run.sh":       0o755,
		"scripts/user-only.sh": 0o700,
		"scripts/data.txt":     0o644,
	} {
		if err := os.Chmod(filepath.Join(root, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	files, _, err := skill.ListFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"SKILL.md": false, "scripts/data.txt": false,
		"scripts/run.sh": true, "scripts/user-only.sh": true,
	}
	for _, f := range files {
		if f.Executable != want[f.Path] {
			t.Errorf("%s: Executable = %v, want %v", f.Path, f.Executable, want[f.Path])
		}
	}
	if len(files) != len(want) {
		t.Errorf("got %d files, want %d", len(files), len(want))
	}
}

func TestListFilesReportsSizes(t *testing.T) {
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "SKILL.md"), "12345")
	mustWrite(t, filepath.Join(root, "empty"), "")
	files, _, err := skill.ListFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, f := range files {
		got[f.Path] = f.Size
	}
	if got["SKILL.md"] != 5 || got["empty"] != 0 || len(got) != 2 {
		t.Errorf("sizes = %v, want SKILL.md:5 empty:0", got)
	}
}

func TestListFilesListsNoFolders(t *testing.T) {
	// The layer has no directory entries, so empty folders leave no trace.
	root := t.TempDir()
	writeTree(t, root, "SKILL.md")
	mustMkdir(t, filepath.Join(root, "empty", "deeper"))
	if got, want := listPaths(t, root), []string{"SKILL.md"}; !slices.Equal(got, want) {
		t.Errorf("paths = %q, want %q", got, want)
	}
}

func TestListFilesFailsOnMissingRoot(t *testing.T) {
	if _, _, err := skill.ListFiles(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ListFiles on a missing folder returned no error")
	}
}
