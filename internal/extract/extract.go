package extract

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"

	"github.com/skilldock/skilldock/internal/errdef"
)

// Limits cap what one layer may expand to.
type Limits struct {
	MaxFiles     int
	MaxFileSize  int64
	MaxTotalSize int64
	// MaxRatio caps uncompressed bytes per compressed byte. Text skills
	// compress about 3–10×; a gzip bomb compresses about 1000×.
	MaxRatio int64
	// RatioFloor is the size below which the ratio is not enforced, so tiny
	// layers of repetitive text are not refused.
	RatioFloor int64
}

// DefaultLimits match what build accepts, with room for other tools' layers.
func DefaultLimits() Limits {
	return Limits{MaxFiles: 1000, MaxFileSize: 50 << 20, MaxTotalSize: 500 << 20, MaxRatio: 100, RatioFloor: 8 << 20}
}

// File is one extracted file.
type File struct {
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	Executable bool   `json:"executable,omitempty"`
}

// Result says what was extracted and where the skill's root is inside dest
// ("" when SKILL.md is at the top, "<name>" when the layer roots it there).
type Result struct {
	Files []File
	Root  string
}

func refuse(name, why string) error {
	return errdef.Errorf(errdef.ErrInvalid, "refusing layer entry %q: %s", name, why)
}

// refuseLimit is refuse for an entry that breaks a cap rather than a rule.
func refuseLimit(name, why string) error {
	return errdef.Errorf(errdef.ErrLimit, "refusing layer entry %q: %s", name, why)
}

// Extract unpacks the tar+gzip stream r (compressedSize bytes) into dest,
// which must be an empty folder the caller created. On error dest may hold
// a partial tree; the caller discards it.
func Extract(r io.Reader, compressedSize int64, dest string, lim Limits) (*Result, error) {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, errdef.Errorf(errdef.ErrCorrupt, "layer is not gzip: %v", err)
	}
	defer gz.Close()
	budget := lim.MaxTotalSize
	if lim.MaxRatio > 0 && compressedSize > 0 {
		if byRatio := max(compressedSize*lim.MaxRatio, lim.RatioFloor); budget <= 0 || byRatio < budget {
			budget = byRatio
		}
	}
	if budget <= 0 {
		budget = math.MaxInt64
	}
	counted := &CapReader{R: gz, Left: budget}
	tr := tar.NewReader(counted)

	var res Result
	names := map[string]bool{}    // cleaned paths of files and folders
	folded := map[string]string{} // case-folded path → original
	dirs := map[string]bool{"": true}
	var total int64
	var last string // the entry being read, for the bomb's refusal
	buf := make([]byte, 128<<10)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if counted.Over() {
				return nil, bombError(last, budget, lim)
			}
			return nil, errdef.Errorf(errdef.ErrCorrupt, "layer is not a valid tar: %v", err)
		}
		last = hdr.Name
		switch hdr.Typeflag {
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeReg, tar.TypeDir:
		case tar.TypeSymlink:
			return nil, refuse(hdr.Name, "symbolic links are not allowed in skills")
		case tar.TypeLink:
			return nil, refuse(hdr.Name, "hard links are not allowed in skills")
		case tar.TypeChar, tar.TypeBlock:
			return nil, refuse(hdr.Name, "devices are not allowed in skills")
		case tar.TypeFifo:
			return nil, refuse(hdr.Name, "fifos are not allowed in skills")
		default:
			return nil, refuse(hdr.Name, fmt.Sprintf("entry type %q is not a regular file or folder", hdr.Typeflag))
		}
		if isSparse(hdr) {
			// A sparse file's holes come out of archive/tar, not out of
			// the gzip stream, so they would escape the ratio cap.
			return nil, refuse(hdr.Name, "sparse files are not allowed in skills")
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return nil, err
		}
		if name == "" { // "./" itself
			continue
		}
		isDir := hdr.Typeflag == tar.TypeDir
		if isDir && names[name] && dirs[name] {
			continue // a folder listed twice is harmless
		}
		if names[name] {
			return nil, refuse(hdr.Name, "the name appears twice in the layer")
		}
		key := strings.ToLower(name)
		if prev, ok := folded[key]; ok && prev != name {
			return nil, refuse(hdr.Name, fmt.Sprintf("collides with %q on a case-insensitive filesystem", prev))
		}
		// Every parent must be (or become) a folder, never a file.
		for p := path.Dir(name); p != "."; p = path.Dir(p) {
			if names[p] && !dirs[p] {
				return nil, refuse(hdr.Name, fmt.Sprintf("its parent %q is a file", p))
			}
			pk := strings.ToLower(p)
			if prev, ok := folded[pk]; ok && prev != p {
				return nil, refuse(hdr.Name, fmt.Sprintf("its parent collides with %q on a case-insensitive filesystem", prev))
			}
		}
		if isDir {
			if err := checkFolders(hdr.Name, name, dirs, lim); err != nil {
				return nil, err
			}
			if err := mkdirs(dest, name, names, dirs, folded); err != nil {
				return nil, err
			}
			continue
		}
		if lim.MaxFiles > 0 && len(res.Files) >= lim.MaxFiles {
			return nil, refuseLimit(hdr.Name, fmt.Sprintf("the layer has more than %d files", lim.MaxFiles))
		}
		if hdr.Size < 0 || (lim.MaxFileSize > 0 && hdr.Size > lim.MaxFileSize) {
			return nil, refuseLimit(hdr.Name, fmt.Sprintf("it is %d bytes; the limit per file is %d", hdr.Size, lim.MaxFileSize))
		}
		if total += hdr.Size; lim.MaxTotalSize > 0 && total > lim.MaxTotalSize {
			return nil, refuseLimit(hdr.Name, fmt.Sprintf("the files exceed %d bytes in total", lim.MaxTotalSize))
		}
		if err := checkFolders(hdr.Name, path.Dir(name), dirs, lim); err != nil {
			return nil, err
		}
		if err := mkdirs(dest, path.Dir(name), names, dirs, folded); err != nil {
			return nil, err
		}
		names[name], folded[key] = true, name
		f, err := writeFile(dest, name, hdr, tr, buf)
		if err != nil {
			if counted.Over() {
				return nil, bombError(hdr.Name, budget, lim)
			}
			return nil, err
		}
		res.Files = append(res.Files, f)
	}
	root, err := skillRoot(res.Files)
	if err != nil {
		return nil, err
	}
	res.Root = root
	if root != "" {
		for i := range res.Files {
			res.Files[i].Path = strings.TrimPrefix(res.Files[i].Path, root+"/")
		}
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	if !syncWrites {
		return &res, nil
	}
	return &res, syncTree(dest)
}

// syncWrites makes every extracted file and folder durable before the
// install renames it into place. Only the fuzz test turns it off: fsync
// dominates its run time and proves nothing about parsing.
var syncWrites = true

func bombError(entry string, budget int64, lim Limits) error {
	return errdef.Errorf(errdef.ErrLimit, "refusing layer entry %q: the layer expands past %d bytes there (more than %d× its compressed size or the %d-byte total cap); refusing it as a likely gzip bomb", entry, budget, lim.MaxRatio, lim.MaxTotalSize)
}

// checkFolders refuses an entry that would take the number of folders past
// MaxFiles: folders cost an inode each and a header of 512 bytes that
// compresses to almost nothing, so uncounted they would be an inode bomb.
func checkFolders(entry, dir string, dirs map[string]bool, lim Limits) error {
	if lim.MaxFiles <= 0 {
		return nil
	}
	n := len(dirs) - 1 // dirs holds "" for dest itself
	for d := dir; d != "." && d != "" && !dirs[d]; d = path.Dir(d) {
		n++
	}
	if n > lim.MaxFiles {
		return refuseLimit(entry, fmt.Sprintf("the layer has more than %d folders", lim.MaxFiles))
	}
	return nil
}

// isSparse reports a GNU sparse file in PAX form, which archive/tar hands
// out as a regular file.
func isSparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// cleanName turns a tar name into a safe relative slash path, or refuses it.
func cleanName(raw string) (string, error) {
	switch {
	case strings.ContainsRune(raw, 0):
		return "", refuse(raw, "the name contains a NUL byte")
	case strings.Contains(raw, `\`):
		return "", refuse(raw, "the name contains a backslash")
	case strings.HasPrefix(raw, "/"):
		return "", refuse(raw, "absolute paths are not allowed")
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", refuse(raw, `".." is not allowed in paths`)
		}
	}
	name := path.Clean(strings.TrimPrefix(raw, "./"))
	if name == "." {
		return "", nil
	}
	if len(name) > 1024 {
		return "", refuse(raw[:64]+"…", "the path is longer than 1024 bytes")
	}
	return name, nil
}

func mkdirs(dest, dir string, names, dirs map[string]bool, folded map[string]string) error {
	if dir == "." || dir == "" || dirs[dir] {
		return nil
	}
	if err := mkdirs(dest, path.Dir(dir), names, dirs, folded); err != nil {
		return err
	}
	p := filepath.Join(dest, filepath.FromSlash(dir))
	// Mkdir, not MkdirAll: the parent was made by us a moment ago, and an
	// existing entry of this name (which we did not make) is refused.
	if err := os.Mkdir(p, 0o755); err != nil {
		return refuse(dir, fmt.Sprintf("cannot create folder: %v", unwrap(err)))
	}
	names[dir], dirs[dir], folded[strings.ToLower(dir)] = true, true, dir
	return nil
}

func writeFile(dest, name string, hdr *tar.Header, r io.Reader, buf []byte) (File, error) {
	mode := os.FileMode(0o644)
	exec := hdr.Mode&0o111 != 0
	if exec {
		mode = 0o755
	}
	p := filepath.Join(dest, filepath.FromSlash(name))
	// O_EXCL and O_NOFOLLOW: never reuse or follow anything already there.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return File{}, refuse(name, fmt.Sprintf("cannot create file: %v", unwrap(err)))
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(r, hdr.Size), buf)
	if err == nil && n != hdr.Size {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = f.Chmod(mode) // umask must not change what the artifact says
	}
	if err == nil && syncWrites {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, fmt.Errorf("extracting %s: %w", name, err)
	}
	return File{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Executable: exec}, nil
}

// skillRoot finds SKILL.md at the top, or inside the single top-level folder
// that holds everything.
func skillRoot(files []File) (string, error) {
	tops := map[string]bool{}
	hasTop := false
	for _, f := range files {
		if f.Path == "SKILL.md" {
			hasTop = true
		}
		top, _, _ := strings.Cut(f.Path, "/")
		tops[top] = true
	}
	if hasTop {
		return "", nil
	}
	if len(tops) == 1 {
		for top := range tops {
			for _, f := range files {
				if f.Path == top+"/SKILL.md" {
					return top, nil
				}
			}
		}
	}
	return "", errdef.New(errdef.ErrUnsupported, "the layer holds no SKILL.md at its root nor inside exactly one top-level folder")
}

func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CapReader reads from R until more than Left bytes would be read, and then
// fails with ErrCapReached, unless R ends exactly at the cap: exactly the
// cap is fine, one byte more is not. Unlike io.LimitReader it reports the
// overflow instead of a quiet end, so a decompression bomb cannot pass for
// a short stream. Over says whether it happened, for callers whose reader
// (tar's) may replace the error with its own.
type CapReader struct {
	R    io.Reader
	Left int64
	over bool
}

// ErrCapReached is what a CapReader returns past its cap.
var ErrCapReached = errors.New("decompressed size cap reached")

func (c *CapReader) Read(p []byte) (int, error) {
	if c.Left <= 0 {
		var one [1]byte
		if n, err := c.R.Read(one[:]); n == 0 && err == io.EOF {
			return 0, io.EOF
		}
		c.over = true
		return 0, ErrCapReached
	}
	if int64(len(p)) > c.Left {
		p = p[:c.Left]
	}
	n, err := c.R.Read(p)
	c.Left -= int64(n)
	return n, err
}

// Over reports whether a read went past the cap.
func (c *CapReader) Over() bool { return c.over }
