package skill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skilldock/skilldock/internal/ignore"
)

// File is one regular file that belongs to a skill.
type File struct {
	Path       string // slash-separated, relative to the skill root
	Size       int64
	Executable bool
}

// ManifestFile is the name every skill must have at its root.
const ManifestFile = "SKILL.md"

// ListFiles walks a skill folder and returns its files in archive order:
// SKILL.md first, then every other path sorted bytewise. Hidden names and
// .skillignore matches are skipped and never examined further. Anything that
// is not a regular file or a folder (symlinks, devices, sockets, fifos) is
// reported as an issue, because packing it would make the archive depend on
// the machine it was built on.
func ListFiles(root string) ([]File, []Issue, error) {
	return listFiles(context.Background(), root)
}

// listFiles is ListFiles that gives up, returning ctx's error, once ctx
// ends: a folder may hold millions of entries, and whoever asked may have
// stopped waiting. The check costs nothing beside the stat of each entry.
func listFiles(ctx context.Context, root string) ([]File, []Issue, error) {
	// WalkDir does not descend into a root that is a symlink, which would
	// list nothing for a skill installed as a link; the root is the folder
	// being packed, not an entry inside it, so follow it.
	if real, err := filepath.EvalSymlinks(root); err == nil {
		root = real
	}
	matcher, err := ignore.Load(root)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", filepath.Join(root, ".skillignore"), err)
	}
	var files []File
	var issues []Issue
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if stop := ctx.Err(); stop != nil {
			return stop
		}
		if err != nil {
			if p == root {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			issues = append(issues, Issue{filepath.ToSlash(rel), "cannot be read: " + errText(err)})
			return nil
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		// The root SKILL.md is the skill itself and must lead the archive, so
		// a broad pattern such as "*.md" cannot leave it out.
		if strings.HasPrefix(d.Name(), ".") || rel != ManifestFile && matcher.Match(rel, d.IsDir()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch t := d.Type(); {
		case t.IsDir():
			return nil
		case t&fs.ModeSymlink != 0:
			issues = append(issues, Issue{rel, "is a symbolic link; skills may contain only regular files and folders (copy the target in instead)"})
			return nil
		case !t.IsRegular():
			issues = append(issues, Issue{rel, fmt.Sprintf("is a %s; skills may contain only regular files and folders", kindOf(t))})
			return nil
		}
		info, err := d.Info()
		if err != nil {
			issues = append(issues, Issue{rel, "cannot be read: " + errText(err)})
			return nil
		}
		files = append(files, File{Path: rel, Size: info.Size(), Executable: info.Mode()&0o111 != 0})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	SortArchiveOrder(files)
	return files, issues, nil
}

// SortArchiveOrder puts SKILL.md first and the rest in bytewise path order,
// the order the artifact format fixes.
func SortArchiveOrder(files []File) {
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i].Path, files[j].Path
		if (a == ManifestFile) != (b == ManifestFile) {
			return a == ManifestFile
		}
		return a < b
	})
}

func kindOf(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe (fifo)"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// statRoot resolves and checks the folder itself.
func statRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("skill folder %s does not exist", dir)
		}
		return "", fmt.Errorf("skill folder %s: %s", dir, errText(err))
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%s is not a folder; give the folder that holds SKILL.md", dir)
	}
	return abs, nil
}
