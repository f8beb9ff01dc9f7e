package cli

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/store"
	"github.com/skilldock/skilldock/internal/testutil"
)

func sha256Hex(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// buildDigest builds dir into st with the given tags and returns the digest.
func buildDigest(t *testing.T, st, dir string, args ...string) string {
	t.Helper()
	var b struct {
		Digest string `json:"digest"`
	}
	decodeJSON(t, mustSD(t, st, append([]string{"build", dir, "--output", "json"}, args...)...).out, &b)
	return b.Digest
}

func TestSkopeoReadsABuiltTag(t *testing.T) {
	skopeo := testutil.RequireTool(t, "skopeo")
	st := t.TempDir()
	digest := buildDigest(t, st, newSkill(t, "skopeo-skill"), "-t", "skopeo-skill", "-t", "skopeo-skill:1.0.0")

	// The index as skopeo reads it is byte for byte the blob we built.
	for _, tag := range []string{"skopeo-skill", "skopeo-skill:1.0.0"} {
		r := testutil.Exec(t, nil, skopeo, "inspect", "--raw", "oci:"+st+":"+tag)
		if r.Code != 0 {
			t.Fatalf("skopeo inspect --raw %s: %s", tag, r)
		}
		if got := sha256Hex([]byte(r.Stdout)); got != digest {
			t.Errorf("skopeo inspect --raw %s: bytes hash to %s; the build's digest is %s", tag, got, digest)
		}
	}

	var idx ocispec.Index
	decodeJSON(t, string(readFile(t, blobPath(st, digest))), &idx)
	var mine ocispec.Descriptor // the manifest skopeo should pick for this host
	for _, m := range idx.Manifests {
		if m.Platform.OS == "linux" && m.Platform.Architecture == runtime.GOARCH {
			mine = m
		}
	}
	if mine.Digest == "" {
		t.Skipf("the build lists no linux/%s manifest for skopeo to pick on this host", runtime.GOARCH)
	}
	var m ocispec.Manifest
	decodeJSON(t, string(readFile(t, blobPath(st, mine.Digest.String()))), &m)

	r := testutil.Exec(t, nil, skopeo, "inspect", "oci:"+st+":skopeo-skill")
	if r.Code != 0 {
		t.Fatalf("skopeo inspect: %s", r)
	}
	var info struct {
		Digest       string
		Labels       map[string]string
		Architecture string
		Os           string
		Layers       []string
		Created      string
	}
	decodeJSON(t, r.Stdout, &info)
	if info.Digest != digest {
		t.Errorf("skopeo Digest %s; the build's digest is %s", info.Digest, digest)
	}
	if info.Os != "linux" || info.Architecture != runtime.GOARCH {
		t.Errorf("skopeo picked %s/%s; want linux/%s", info.Os, info.Architecture, runtime.GOARCH)
	}
	if len(info.Layers) != 1 || info.Layers[0] != m.Layers[0].Digest.String() {
		t.Errorf("skopeo Layers %v; the manifest's layer is %s", info.Layers, m.Layers[0].Digest)
	}
	if info.Labels[artifact.LabelName] != "skopeo-skill" || info.Labels[artifact.LabelVersion] != "1.0.0" {
		t.Errorf("skopeo Labels %v", info.Labels)
	}
	if info.Created != "1970-01-01T00:00:00Z" {
		t.Errorf("skopeo Created %q; want the Unix epoch", info.Created)
	}

	// The config skopeo reads for this platform is the one our manifest names.
	r = testutil.Exec(t, nil, skopeo, "inspect", "--config", "--raw", "oci:"+st+":skopeo-skill")
	if r.Code != 0 {
		t.Fatalf("skopeo inspect --config --raw: %s", r)
	}
	if got := sha256Hex([]byte(r.Stdout)); got != m.Config.Digest.String() {
		t.Errorf("skopeo's config hashes to %s; the linux/%s manifest names %s", got, runtime.GOARCH, m.Config.Digest)
	}
}

func TestBuildsListsOnlyLocalBuildsAfterSkopeoCopiesIntoTheStore(t *testing.T) {
	skopeo := testutil.RequireTool(t, "skopeo")
	st, other := t.TempDir(), t.TempDir()
	a := buildDigest(t, st, newSkill(t, "skill-a"))
	buildDigest(t, other, newSkill(t, "skill-b"), "-t", "b")

	// --all keeps the index (and every platform) instead of one manifest.
	r := testutil.Exec(t, nil, skopeo, "copy", "--quiet", "--all", "oci:"+other+":b", "oci:"+st+":copied-b")
	if r.Code != 0 {
		t.Fatalf("skopeo copy: %s", r)
	}

	tags := listBuilds(t, st)
	if len(tags) != 2 || tags["skill-a"] != a || tags["skill-a:1.0.0"] != a {
		t.Errorf("builds lists %v; want skill-a and skill-a:1.0.0 at %s, and not copied-b", tags, a)
	}
	requireFsckClean(t, st)

	// skopeo rewrote index.json; our descriptors must keep their annotations.
	var idx ocispec.Index
	decodeJSON(t, string(readFile(t, filepath.Join(st, "index.json"))), &idx)
	seen := map[string]map[string]string{}
	for _, d := range idx.Manifests {
		seen[d.Annotations[ocispec.AnnotationRefName]] = d.Annotations
	}
	for _, tag := range []string{"skill-a", "skill-a:1.0.0"} {
		if seen[tag][store.AnnotationLocalBuild] != "true" {
			t.Errorf("after skopeo copy, %s has annotations %v; the local-build marker is gone", tag, seen[tag])
		}
	}
	if _, ok := seen["copied-b"]; !ok {
		t.Fatalf("skopeo did not tag copied-b: %v", seen)
	}
	if seen["copied-b"][store.AnnotationLocalBuild] != "" {
		t.Errorf("copied-b carries the local-build marker")
	}

	// The copy reads as a skill but is not a build, so builds rm refuses it.
	if in := inspect(t, st, "copied-b"); in.LocalBuild {
		t.Errorf("inspect calls copied-b a local build")
	}
	r2 := sd(t, st, "builds", "rm", "copied-b")
	if r2.code != 1 || !strings.Contains(r2.err, `no local build "copied-b"`) {
		t.Errorf("builds rm copied-b: %s", r2)
	}

	// Removing the builds keeps everything the copy reaches.
	mustSD(t, st, "builds", "rm", "skill-a", "skill-a:1.0.0")
	if tags := listBuilds(t, st); len(tags) != 0 {
		t.Errorf("builds after rm: %v", tags)
	}
	inspect(t, st, "copied-b")
	requireFsckClean(t, st)
	testutil.RequireNoGarbage(t, st)
}
