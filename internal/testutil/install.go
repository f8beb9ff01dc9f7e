package testutil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	orasremote "oras.land/oras-go/v2/registry/remote"
)

// Machine is a machine of the test's own for install tests: every folder an
// install reads or writes is a fresh temporary folder.
type Machine struct {
	Home       string // $HOME: the agents' user-scope folders
	ConfigHome string // $XDG_CONFIG_HOME, deliberately outside $HOME
	StateHome  string // $XDG_STATE_HOME: the records database
	DataHome   string // $XDG_DATA_HOME
	CacheHome  string // $XDG_CACHE_HOME
	Store      string // $SKILLDOCK_STORE
}

// IsolateMachine points HOME, the XDG folders, SKILLDOCK_STORE and
// DOCKER_CONFIG at fresh temporary folders for the length of the test; child
// processes inherit them. It cannot be used by parallel tests.
func IsolateMachine(t testing.TB) Machine {
	t.Helper()
	m := Machine{
		Home: t.TempDir(), ConfigHome: t.TempDir(), StateHome: t.TempDir(),
		DataHome: t.TempDir(), CacheHome: t.TempDir(), Store: t.TempDir(),
	}
	t.Setenv("HOME", m.Home)
	t.Setenv("XDG_CONFIG_HOME", m.ConfigHome)
	t.Setenv("XDG_STATE_HOME", m.StateHome)
	t.Setenv("XDG_DATA_HOME", m.DataHome)
	t.Setenv("XDG_CACHE_HOME", m.CacheHome)
	t.Setenv("SKILLDOCK_STORE", m.Store)
	t.Setenv("DOCKER_CONFIG", filepath.Join(m.Home, ".docker"))
	return m
}

// RecordsPath is where skilldock keeps the install records on this machine.
func (m Machine) RecordsPath() string {
	return filepath.Join(m.StateHome, "skilldock", "skilldock.db")
}

// Tree is a snapshot of folders: for every entry below the roots, its type,
// permission bits and content digest (or link target). Folder times are left
// out, since creating and removing a staging folder inside a folder changes
// them without changing what is there.
type Tree map[string]string

// Snapshot records every entry below each root (the roots included).
func Snapshot(t testing.TB, roots ...string) Tree {
	t.Helper()
	tree := Tree{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				tree[p] = "symlink -> " + target
			case d.IsDir():
				tree[p] = fmt.Sprintf("dir %v", info.Mode().Perm())
			case d.Type().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				tree[p] = fmt.Sprintf("file %v %d %s", info.Mode().Perm(), len(b), hex.EncodeToString(sum[:]))
			default:
				tree[p] = "special " + info.Mode().String()
			}
			return nil
		})
		if err != nil {
			t.Fatalf("snapshot of %s: %v", root, err)
		}
	}
	return tree
}

// Diff lists what differs between two snapshots, one line per path; empty
// when they are equal.
func (a Tree) Diff(b Tree) []string {
	var out []string
	for p, v := range a {
		switch w, ok := b[p]; {
		case !ok:
			out = append(out, "removed "+p)
		case v != w:
			out = append(out, fmt.Sprintf("changed %s: %s -> %s", p, v, w))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "added "+p+" ("+b[p]+")")
		}
	}
	sort.Strings(out)
	return out
}

// Files reads every regular file below dir into a map keyed by slash path
// relative to dir, failing on anything that is not a file or folder.
func Files(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%v)", p, d.Type())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return out
}

// SkillLabels are the config labels a skill artifact carries for name.
func SkillLabels(name string) map[string]string {
	return map[string]string{
		"dev.toolhive.skills.name":        name,
		"dev.toolhive.skills.description": "Test skill " + name + ". Use it in tests only.",
		"dev.toolhive.skills.version":     "1.0.0",
	}
}

// PushLayer pushes a single-manifest skill artifact to ref (a plain-HTTP
// registry, "host:port/repo:tag") through oras-go: an image config carrying
// labels and the given bytes as its one tar+gzip layer, unchecked. It returns
// the manifest digest.
func PushLayer(t testing.TB, ref string, layer []byte, labels map[string]string) string {
	t.Helper()
	ctx := context.Background()
	repo, err := orasremote.NewRepository(ref)
	if err != nil {
		t.Fatalf("oras reference %s: %v", ref, err)
	}
	repo.PlainHTTP = true
	tag := repo.Reference.Reference
	if tag == "" {
		t.Fatalf("%s has no tag", ref)
	}
	layerDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.FromBytes(layer), Size: int64(len(layer))}
	cfg := ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispec.ImageConfig{Labels: labels},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(layer)}},
	}
	cfgBytes, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfgBytes), Size: int64(len(cfgBytes))}
	man := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfgDesc,
		Layers:    []ocispec.Descriptor{layerDesc},
	}
	manBytes, err := json.Marshal(man)
	if err != nil {
		t.Fatal(err)
	}
	manDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manBytes), Size: int64(len(manBytes))}
	for _, b := range []struct {
		d    ocispec.Descriptor
		data []byte
	}{{layerDesc, layer}, {cfgDesc, cfgBytes}} {
		if err := repo.Push(ctx, b.d, bytes.NewReader(b.data)); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("pushing blob %s to %s: %v", b.d.Digest, ref, err)
		}
	}
	if err := repo.PushReference(ctx, manDesc, bytes.NewReader(manBytes), tag); err != nil {
		t.Fatalf("pushing manifest to %s: %v", ref, err)
	}
	return manDesc.Digest.String()
}
