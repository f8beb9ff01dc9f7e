package ref

import (
	"strings"
	"testing"
)

// FuzzParse checks that any string either parses into a reference whose
// canonical form parses back to itself, or is refused with an error; never
// a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"my-skill", "my-skill:1.2", "team/my-skill", "localhost/x", "localhost:5000/a/b:c",
		"registry.example.com:5000/team/my-skill:1.2",
		"ghcr.io/a/b@sha256:" + strings.Repeat("a", 64),
		"[::1]:5000/x:y", "a:b:c", "", ":", "@", "UPPER/x", "a//b", "x@sha256:zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.Repository == "" {
			t.Fatalf("Parse(%q) accepted an empty repository", s)
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", r.String(), s, err)
		}
		if again != r {
			t.Fatalf("round trip changed %q: %+v != %+v", s, again, r)
		}
		if IsRemote(s) != (r.Registry != "") {
			t.Fatalf("IsRemote(%q)=%v but Registry=%q", s, IsRemote(s), r.Registry)
		}
	})
}
