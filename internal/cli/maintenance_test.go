package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/store"
	"github.com/skilldock/skilldock/internal/testutil"
)

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildsRmOfOneOfTwoTagsKeepsTheBuild(t *testing.T) {
	st := t.TempDir()
	dir := newSkill(t, "two-tags")
	mustSD(t, st, "build", dir, "-t", "one", "-t", "two")
	before := testutil.BlobFiles(t, st)

	mustSD(t, st, "builds", "rm", "one")
	if tags := listBuilds(t, st); len(tags) != 1 || tags["two"] == "" {
		t.Errorf("builds after rm one: %v", tags)
	}
	inspect(t, st, "two")
	requireFsckClean(t, st)
	testutil.RequireNoGarbage(t, st)
	if after := testutil.BlobFiles(t, st); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("removing one of two tags deleted blobs:\nbefore %v\nafter  %v", before, after)
	}

	mustSD(t, st, "builds", "rm", "two")
	if blobs := testutil.BlobFiles(t, st); len(blobs) != 0 {
		t.Errorf("removing the last tag left %d blob(s)", len(blobs))
	}
	requireFsckClean(t, st)
}

func TestBuildsRmKeepsALayerSharedWithAnotherBuild(t *testing.T) {
	st := t.TempDir()
	dir := newSkill(t, "shared-layer")
	mustSD(t, st, "build", dir, "--platform", "linux/amd64", "-t", "x")
	mustSD(t, st, "build", dir, "-t", "y")
	x, y := inspect(t, st, "x"), inspect(t, st, "y")
	if x.Digest == y.Digest {
		t.Fatal("one platform and two platforms gave the same index; the test needs two builds")
	}
	if x.Layer.Digest != y.Layer.Digest {
		t.Fatalf("the same folder gave layers %s and %s", x.Layer.Digest, y.Layer.Digest)
	}

	mustSD(t, st, "builds", "rm", "x")
	if !exists(blobPath(st, y.Layer.Digest)) {
		t.Fatal("builds rm x deleted the layer y still uses")
	}
	if exists(blobPath(st, x.Digest)) {
		t.Error("builds rm x kept x's index blob")
	}
	if got := inspect(t, st, "y"); got.Digest != y.Digest {
		t.Errorf("y now points at %s; it was %s", got.Digest, y.Digest)
	}
	requireFsckClean(t, st)
	testutil.RequireNoGarbage(t, st)

	mustSD(t, st, "builds", "rm", "y")
	if blobs := testutil.BlobFiles(t, st); len(blobs) != 0 {
		t.Errorf("removing every build left blobs: %v", blobs)
	}
	requireFsckClean(t, st)
}

func TestBuildsRmIsAllOrNothing(t *testing.T) {
	st := t.TempDir()
	mustSD(t, st, "build", newSkill(t, "keep-me"), "-t", "keep")
	index := readFile(t, filepath.Join(st, "index.json"))
	blobs := testutil.BlobFiles(t, st)

	for _, args := range [][]string{{"nope"}, {"keep", "nope"}, {"nope", "keep"}} {
		r := sd(t, st, append([]string{"builds", "rm"}, args...)...)
		if r.code != 1 {
			t.Fatalf("builds rm %v: %s", args, r)
		}
		requireOneLineError(t, r)
		if !strings.Contains(r.err, `no local build "nope"`) {
			t.Errorf("builds rm %v: stderr %q does not name the unknown tag", args, r.err)
		}
		if got := readFile(t, filepath.Join(st, "index.json")); string(got) != string(index) {
			t.Errorf("builds rm %v changed index.json", args)
		}
		if got := testutil.BlobFiles(t, st); strings.Join(got, " ") != strings.Join(blobs, " ") {
			t.Errorf("builds rm %v changed the blobs", args)
		}
	}
	inspect(t, st, "keep")
}

func TestBuildsRmRefusesATagThatIsNotALocalBuild(t *testing.T) {
	st := t.TempDir()
	mustSD(t, st, "build", newSkill(t, "cached-skill"), "-t", "built")
	// A pulled artifact is a tag without the local-build marker.
	s, err := store.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	built, err := s.Resolve("built")
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateIndex(func(idx *ocispec.Index) error {
		store.SetTag(idx, "registry.example.com/team/cached-skill:1.0", built.Descriptor, false)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	r := sd(t, st, "builds", "rm", "registry.example.com/team/cached-skill:1.0")
	if r.code != 1 || !strings.Contains(r.err, `no local build "registry.example.com/team/cached-skill:1.0"`) {
		t.Errorf("builds rm of a pulled tag: %s", r)
	}
	if tags := listBuilds(t, st); len(tags) != 1 || tags["built"] == "" {
		t.Errorf("builds lists %v; want only the build", tags)
	}
	// Removing the build keeps what the cached tag still reaches.
	mustSD(t, st, "builds", "rm", "built")
	inspect(t, st, "registry.example.com/team/cached-skill:1.0")
	requireFsckClean(t, st)
}

// blobsOf lists every blob a tag reaches, in the store's own terms.
func blobsOf(t *testing.T, st, tag string) []string {
	t.Helper()
	one := t.TempDir()
	idx := map[string]any{}
	if err := json.Unmarshal(readFile(t, filepath.Join(st, "index.json")), &idx); err != nil {
		t.Fatal(err)
	}
	var keep []any
	for _, m := range idx["manifests"].([]any) {
		if m.(map[string]any)["annotations"].(map[string]any)[ocispec.AnnotationRefName] == tag {
			keep = append(keep, m)
		}
	}
	idx["manifests"] = keep
	b, _ := json.Marshal(idx)
	if err := os.WriteFile(filepath.Join(one, "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(st, "blobs"), filepath.Join(one, "blobs")); err != nil {
		t.Fatal(err)
	}
	var out []string
	for d := range testutil.Reachable(t, one) {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func TestGCRemovesUnreachableBlobsAndTemporaryFilesOnly(t *testing.T) {
	st := t.TempDir()
	mustSD(t, st, "build", newSkill(t, "gc-keep"), "-t", "keep")
	mustSD(t, st, "build", newSkill(t, "gc-drop"), "-t", "drop")
	keep, drop := blobsOf(t, st, "keep"), blobsOf(t, st, "drop")

	// Untag "drop" without collecting, as a crash between the two steps of
	// builds rm would leave it.
	s, err := store.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateIndex(func(idx *ocispec.Index) error { store.RemoveTag(idx, "drop"); return nil }); err != nil {
		t.Fatal(err)
	}
	// A stray blob whose bytes match its name, and leftovers of a killed writer.
	stray := []byte("stray content nobody references")
	sum := sha256.Sum256(stray)
	if err := os.WriteFile(blobPath(st, hex.EncodeToString(sum[:])), stray, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(st, ".skilldock", "tmp")
	if err := os.WriteFile(filepath.Join(tmp, "blob-123"), []byte("half a layer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "extract-1", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "extract-1", "sub", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := fsck(t, st)
	if want := len(drop) + 1; f.Unreachable != want || f.Temporary != 2 {
		t.Fatalf("before gc fsck saw %d unreachable and %d temporary; want %d and 2", f.Unreachable, f.Temporary, want)
	}

	var res struct {
		BlobsRemoved int   `json:"blobsRemoved"`
		BytesFreed   int64 `json:"bytesFreed"`
		TempRemoved  int   `json:"tempFilesRemoved"`
	}
	decodeJSON(t, mustSD(t, st, "gc", "--output", "json").out, &res)
	if res.BlobsRemoved != len(drop)+1 || res.TempRemoved != 2 || res.BytesFreed <= int64(len(stray)) {
		t.Errorf("gc reported %+v; want %d blobs and 2 temporary files", res, len(drop)+1)
	}
	for _, d := range keep {
		if !exists(blobPath(st, d)) {
			t.Errorf("gc deleted %s, which tag keep reaches", d)
		}
	}
	for _, d := range drop {
		if exists(blobPath(st, d)) {
			t.Errorf("gc kept %s, which nothing reaches", d)
		}
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("gc left %d entries in .skilldock/tmp", len(entries))
	}
	testutil.RequireNoGarbage(t, st)
	f, r := fsck(t, st)
	if r.code != 0 || f.Unreachable != 0 || f.Temporary != 0 {
		t.Errorf("fsck after gc: %s", r)
	}
	inspect(t, st, "keep")

	// A second collection finds nothing to do.
	decodeJSON(t, mustSD(t, st, "gc", "--output", "json").out, &res)
	if res.BlobsRemoved != 0 || res.TempRemoved != 0 {
		t.Errorf("second gc removed %+v", res)
	}
}

func TestFsckPassesOnACleanStore(t *testing.T) {
	st := t.TempDir()
	if f, r := fsck(t, st); r.code != 0 || f.Problems == nil || len(f.Problems) != 0 {
		t.Errorf("fsck of an empty store: %s", r)
	}
	mustSD(t, st, "build", newSkill(t, "clean-skill"))
	f, r := fsck(t, st)
	if r.code != 0 || len(f.Problems) != 0 || f.Tags != 2 || f.Blobs != 6 {
		t.Errorf("fsck of a clean store: %s", r) // index, 2 manifests, 2 configs, layer
	}
	if r := sd(t, st, "fsck"); r.code != 0 || r.err != "" {
		t.Errorf("fsck table output: %s", r)
	}
}

// blobKinds names one blob of each kind of a fresh build.
func blobKinds(t *testing.T, st, tag string) map[string]string {
	t.Helper()
	in := inspect(t, st, tag)
	var idx ocispec.Index
	if err := json.Unmarshal(readFile(t, blobPath(st, in.Digest)), &idx); err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(readFile(t, blobPath(st, idx.Manifests[1].Digest.String())), &m); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"index":    in.Digest,
		"manifest": idx.Manifests[1].Digest.String(),
		"config":   m.Config.Digest.String(),
		"layer":    in.Layer.Digest,
	}
}

func TestFsckFailsAndNamesACorruptBlob(t *testing.T) {
	for _, kind := range []string{"index", "manifest", "config", "layer"} {
		t.Run(kind, func(t *testing.T) {
			st := t.TempDir()
			mustSD(t, st, "build", newSkill(t, "corrupt-skill"))
			d := blobKinds(t, st, "corrupt-skill")[kind]
			p := blobPath(st, d)
			data := readFile(t, p)
			data[len(data)/2] ^= 0x20 // one byte, same size
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := sd(t, st, "fsck")
			if r.code != 1 {
				t.Fatalf("fsck of a store with a corrupt %s: %s", kind, r)
			}
			requireOneLineError(t, r)
			if !strings.Contains(r.out, d) {
				t.Errorf("fsck does not name the corrupt %s %s:\n%s", kind, d, r.out)
			}
		})
	}
}

func TestFsckFailsAndNamesAMissingBlob(t *testing.T) {
	for _, kind := range []string{"index", "manifest", "config", "layer"} {
		t.Run(kind, func(t *testing.T) {
			st := t.TempDir()
			mustSD(t, st, "build", newSkill(t, "missing-skill"))
			d := blobKinds(t, st, "missing-skill")[kind]
			if err := os.Remove(blobPath(st, d)); err != nil {
				t.Fatal(err)
			}
			f, r := fsck(t, st)
			if r.code != 1 {
				t.Fatalf("fsck of a store missing its %s: %s", kind, r)
			}
			if !strings.Contains(strings.Join(f.Problems, "\n"), d+", which is missing") {
				t.Errorf("fsck does not name the missing %s %s: %q", kind, d, f.Problems)
			}
		})
	}
}

func TestFsckFailsOnATruncatedBlob(t *testing.T) {
	st := t.TempDir()
	mustSD(t, st, "build", newSkill(t, "short-skill"))
	d := blobKinds(t, st, "short-skill")["layer"]
	if err := os.Truncate(blobPath(st, d), 10); err != nil {
		t.Fatal(err)
	}
	r := sd(t, st, "fsck")
	if r.code != 1 || !strings.Contains(r.out, d) {
		t.Errorf("fsck of a truncated layer: %s", r)
	}
}
