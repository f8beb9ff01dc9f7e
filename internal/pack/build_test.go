package pack_test

import (
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/store"
	"github.com/skilldock/skilldock/internal/testutil"
)

// buildFolder packs dir at the default epoch into a fresh store.
func buildFolder(t *testing.T, dir string) (*pack.Result, *store.Store) {
	t.Helper()
	_, res, st := buildLayer(t, dir, time.Time{})
	return res, st
}

// builtAnnotations returns the stored index's annotations and each of its
// manifests' annotations.
func builtAnnotations(t *testing.T, st *store.Store, res *pack.Result) (map[string]string, []map[string]string) {
	t.Helper()
	var idx ocispec.Index
	readJSON(t, st, res.Index, &idx)
	if len(idx.Manifests) != len(artifact.DefaultPlatforms()) {
		t.Fatalf("the index lists %d manifests, want one per default platform", len(idx.Manifests))
	}
	var manifests []map[string]string
	for _, d := range idx.Manifests {
		var m ocispec.Manifest
		readJSON(t, st, d, &m)
		manifests = append(manifests, m.Annotations)
	}
	return idx.Annotations, manifests
}

func TestRequiresAnnotationIsOnEveryManifestAndTheIndexInDeclaredOrder(t *testing.T) {
	pinned := "ghcr.io/acme/skills/pdf@sha256:" + strings.Repeat("ab", 32)
	dir := testutil.WriteSkill(t, t.TempDir(), "with-deps", map[string]string{
		"SKILL.md": "---\nname: with-deps\ndescription: Needs two others.\nmetadata:\n  toolhive.requires: |\n" +
			"    ghcr.io/acme/skills/git-helper:1.2.0\n\n    " + pinned + "\n    ghcr.io/acme/skills/git-helper:1.2.0\n---\n# Deps\n",
	})
	res, st := buildFolder(t, dir)
	want := `["ghcr.io/acme/skills/git-helper:1.2.0","` + pinned + `"]`
	idx, manifests := builtAnnotations(t, st, res)
	if got := idx[artifact.AnnotationRequires]; got != want {
		t.Errorf("index %s = %q, want %q", artifact.AnnotationRequires, got, want)
	}
	for i, m := range manifests {
		if got := m[artifact.AnnotationRequires]; got != want {
			t.Errorf("manifest %d %s = %q, want %q", i, artifact.AnnotationRequires, got, want)
		}
	}
	// The config is where ToolHive's labels go, not dependencies.
	var cfg ocispec.Image
	readJSON(t, st, res.Config, &cfg)
	if _, ok := cfg.Config.Labels[artifact.AnnotationRequires]; ok {
		t.Errorf("the config carries %s as a label", artifact.AnnotationRequires)
	}
}

func TestSkillWithoutRequiresCarriesNoRequiresAnnotation(t *testing.T) {
	for name, md := range map[string]string{
		"no metadata":             "",
		"other metadata":          "metadata:\n  author: me\n",
		"only blank requirements": "metadata:\n  toolhive.requires: \"\\n  \\n\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := testutil.WriteSkill(t, t.TempDir(), "plain", map[string]string{
				"SKILL.md": "---\nname: plain\ndescription: Needs nothing.\n" + md + "---\n# Plain\n",
			})
			res, st := buildFolder(t, dir)
			idx, manifests := builtAnnotations(t, st, res)
			for i, a := range append([]map[string]string{idx}, manifests...) {
				if v, ok := a[artifact.AnnotationRequires]; ok {
					t.Errorf("annotations %d carry %s = %q; a skill without dependencies must not", i, artifact.AnnotationRequires, v)
				}
			}
		})
	}
}

func TestDigestOfASkillWithoutRequiresIsTheOneReleasedBuildsGave(t *testing.T) {
	// The digest skilldock gave this folder (epoch 0, default platforms)
	// before dependencies were supported. A skill that declares none must
	// keep it: the digest is its identity in registries and lock files.
	const want = "sha256:c1eff2e0dd06af088b75562bc99ffa987deb6ede5435a58bc869568bce4d6f6e"
	dir := testutil.WriteSkill(t, t.TempDir(), "demo", map[string]string{
		"SKILL.md":       "---\nname: demo\ndescription: Does one thing. Use it when testing.\nversion: 1.0.0\n---\n# Demo\n\nBody.\n",
		"scripts/run.sh": "#!/bin/sh\necho hi\n",
	})
	res, _ := buildFolder(t, dir)
	if got := res.Index.Digest.String(); got != want {
		t.Errorf("index digest %s, want %s", got, want)
	}
	if res.Metadata.Requires != nil {
		t.Errorf("Requires = %q, want none", res.Metadata.Requires)
	}
}
