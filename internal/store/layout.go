package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
)

const (
	layoutFile = "oci-layout"
	indexFile  = "index.json"
	blobsDir   = "blobs"
	// metaDir holds skilldock's locks and temporary files. Other OCI tools
	// ignore unknown entries in a layout, and keeping temporaries inside the
	// store puts them on the same filesystem, so rename is atomic.
	metaDir = ".skilldock"
	tmpDir  = ".skilldock/tmp"
)

// Store is an OCI image layout directory shared by any number of processes.
type Store struct {
	root string
}

// DefaultPath is $XDG_DATA_HOME/skilldock/store, or ~/.local/share/skilldock/store.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "skilldock", "store"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home folder for the default store (set --store or SKILLDOCK_STORE): %w", err)
	}
	return filepath.Join(home, ".local", "share", "skilldock", "store"), nil
}

// Open opens the layout at root, creating an empty one if nothing is there.
// A folder that exists but is not an OCI layout is refused rather than filled.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	s := &Store{root: abs}
	if err := os.MkdirAll(s.path(tmpDir), 0o755); err != nil {
		return nil, fmt.Errorf("creating store %s: %w", abs, err)
	}
	if err := os.MkdirAll(s.path(blobsDir, "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("creating store %s: %w", abs, err)
	}
	if err := s.initLayout(); err != nil {
		return nil, err
	}
	return s, nil
}

// Root is the absolute path of the layout.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) initLayout() error {
	data, err := os.ReadFile(s.path(layoutFile))
	if err == nil {
		var l ocispec.ImageLayout
		if json.Unmarshal(data, &l) != nil || l.Version == "" {
			return errdef.Errorf(errdef.ErrCorrupt, "%s is not an OCI image layout (bad oci-layout file); point --store at an empty folder or a layout", s.root)
		}
		if _, err := os.Stat(s.path(indexFile)); err == nil {
			return nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// Creating the layout files is itself a read-modify-write of the store.
	l, err := s.acquireIndex()
	if err != nil {
		return err
	}
	defer l.unlock()
	if _, err := os.Stat(s.path(layoutFile)); errors.Is(err, fs.ErrNotExist) {
		if err := s.writeFileAtomic(layoutFile, []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
			return err
		}
	}
	if _, err := os.Stat(s.path(indexFile)); errors.Is(err, fs.ErrNotExist) {
		return s.writeIndex(newIndex())
	}
	return nil
}

// writeFileAtomic replaces name inside the store with data: a temporary file
// in the same filesystem, fsync, rename, fsync of the folder. A reader sees
// the old file or the new one, never a torn one, and a crash leaves at worst
// a stray temporary for gc to remove.
func (s *Store) writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(s.path(tmpDir), "file-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	dst := s.path(name)
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
