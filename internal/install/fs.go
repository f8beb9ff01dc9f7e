package install

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/records"
)

// stagingDir is the hidden folder inside an agent's skills folder where new
// versions are assembled and old ones are put before deletion. It sits on
// the same filesystem as the targets, so every move is a rename.
const stagingDir = ".skilldock-staging"

// ensureDirNoSymlinks creates dir (and the folders between base and dir) and
// refuses if any component from base down is a symbolic link, so nothing is
// ever written through a link planted in an agent's folder.
func ensureDirNoSymlinks(base, dir string) error {
	rel, err := filepath.Rel(base, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return errdef.Errorf(errdef.ErrInvalid, "%s is not inside %s", dir, base)
	}
	cur := base
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if part == "." || part == "" {
			continue
		}
		cur = filepath.Join(cur, part)
		info, err := os.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			continue
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			return errdef.Errorf(errdef.ErrInvalid, "%s is a symbolic link; skilldock does not write through links (replace it with a real folder)", cur)
		case !info.IsDir():
			return errdef.Errorf(errdef.ErrInvalid, "%s is not a folder", cur)
		}
	}
	return nil
}

// exchange atomically swaps two paths (renameat2 RENAME_EXCHANGE).
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}

// renameNoReplace moves a to b and fails if b exists.
func renameNoReplace(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_NOREPLACE)
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSYS) {
		// Filesystems without renameat2 flags: check, then rename.
		if _, serr := os.Lstat(b); serr == nil {
			return fs.ErrExist
		}
		return os.Rename(a, b)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Drift is how an installed folder differs from its record.
type Drift struct {
	Modified []string `json:"modified"`
	Missing  []string `json:"missing"`
	Extra    []string `json:"extra"`
	// Gone means the whole folder is missing.
	Gone bool `json:"gone,omitempty"`
}

// Clean reports whether nothing drifted.
func (d Drift) Clean() bool {
	return !d.Gone && len(d.Modified) == 0 && len(d.Missing) == 0 && len(d.Extra) == 0
}

// Compare walks dir and compares it with the recorded files.
func Compare(dir string, want []records.File) (Drift, error) {
	d := Drift{Modified: []string{}, Missing: []string{}, Extra: []string{}}
	info, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		d.Gone = true
		for _, f := range want {
			d.Missing = append(d.Missing, f.Path)
		}
		return d, nil
	}
	if err != nil {
		return d, err
	}
	if !info.IsDir() {
		return d, errdef.Errorf(errdef.ErrInvalid, "%s is no longer a folder", dir)
	}
	expected := map[string]records.File{}
	for _, f := range want {
		expected[f.Path] = f
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		f, ok := expected[rel]
		if !ok || !e.Type().IsRegular() {
			d.Extra = append(d.Extra, rel)
			return nil
		}
		seen[rel] = true
		sum, size, err := hashFile(p)
		if err != nil {
			return err
		}
		if size != f.Size || sum != f.SHA256 {
			d.Modified = append(d.Modified, rel)
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	for _, f := range want {
		if !seen[f.Path] {
			d.Missing = append(d.Missing, f.Path)
		}
	}
	sort.Strings(d.Modified)
	sort.Strings(d.Missing)
	sort.Strings(d.Extra)
	return d, nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("reading %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
