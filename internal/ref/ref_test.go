package ref

import (
	"errors"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/errdef"
)

func TestParseSplitsRegistryRepositoryTagAndDigest(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	cases := []struct {
		in                  string
		registry, repo, tag string
		digest              string
	}{
		{"my-skill", "", "my-skill", "", ""},
		{"my-skill:1.2", "", "my-skill", "1.2", ""},
		{"team/my-skill:v1", "", "team/my-skill", "v1", ""},
		{"localhost/my-skill", "localhost", "my-skill", "", ""},
		{"localhost:5000/a/b:c", "localhost:5000", "a/b", "c", ""},
		{"registry.example.com:5000/team/my-skill:1.2", "registry.example.com:5000", "team/my-skill", "1.2", ""},
		{"127.0.0.1:5000/x@sha256:" + hex, "127.0.0.1:5000", "x", "", "sha256:" + hex},
		{"ghcr.io/a/b:1@sha256:" + hex, "ghcr.io", "a/b", "1", "sha256:" + hex},
		{"[::1]:5000/x:y", "[::1]:5000", "x", "y", ""},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			r, err := Parse(c.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if r.Registry != c.registry || r.Repository != c.repo || r.Tag != c.tag || r.Digest.String() != c.digest {
				t.Fatalf("got %+v", r)
			}
			if r.String() != c.in {
				t.Fatalf("String() = %q, want %q", r.String(), c.in)
			}
		})
	}
}

func TestParseRefusesMalformedReferencesWithTheExpectedForm(t *testing.T) {
	for _, in := range []string{
		"", "UPPER", "a//b", "-a", "a:", "a:-x", "a@sha256:zz", "ghcr.io/", "host:port/x", "a b",
		"ghcr.io/x:" + strings.Repeat("t", 129), "[::1/x",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", in)
			}
			if !errors.Is(err, errdef.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), "expected NAME[:TAG] or REGISTRY/REPOSITORY") {
				t.Fatalf("error %q does not show the expected form", err)
			}
		})
	}
}

func TestIsRemoteFollowsTheDockerHostRule(t *testing.T) {
	cases := map[string]bool{
		"my-skill": false, "team/my-skill": false, "localhost/x": true, "localhost": false,
		"ghcr.io/a": true, "127.0.0.1:5000/a": true, "host:5000/a": true, "my.skill": false,
	}
	for in, want := range cases {
		if got := IsRemote(in); got != want {
			t.Errorf("IsRemote(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseRemoteAndParseLocalRestrictTheForm(t *testing.T) {
	if _, err := ParseRemote("my-skill:1"); err == nil {
		t.Fatal("ParseRemote accepted a local tag")
	}
	if _, err := ParseLocal("my-skill@sha256:" + strings.Repeat("0", 64)); err == nil {
		t.Fatal("ParseLocal accepted a digest")
	}
	r, err := ParseRemote("ghcr.io/team/my-skill:1")
	if err != nil || r.LastSegment() != "my-skill" {
		t.Fatalf("ParseRemote: %+v, %v", r, err)
	}
}

func TestParseVersionedNeedsARegistryAndATagOrDigest(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for _, in := range []string{
		"ghcr.io/acme/git-helper:1.2.0",
		"ghcr.io/acme/pdf@sha256:" + hex,
		"ghcr.io/acme/pdf:1@sha256:" + hex,
		"localhost:5000/x:y",
	} {
		if _, err := ParseVersioned(in); err != nil {
			t.Errorf("ParseVersioned(%q): %v", in, err)
		}
	}
	for in, why := range map[string]string{
		"git-helper:1.2":          "names no registry",
		"acme/git-helper:1.2":     "names no registry",
		"ghcr.io/acme/git-helper": "names no tag or digest",
		"ghcr.io/acme/Git:1":      "name component",
		"ghcr.io/acme/x@sha256:1": "digest",
		"":                        "empty reference",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseVersioned(in)
			if err == nil {
				t.Fatalf("ParseVersioned(%q) succeeded", in)
			}
			if !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			for _, frag := range []string{why, "expected REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST"} {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q does not say %q", err, frag)
				}
			}
		})
	}
}
