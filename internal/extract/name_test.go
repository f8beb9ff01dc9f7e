package extract

import (
	"errors"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/errdef"
)

// archive/tar never hands out a name holding NUL (see testutil.HostileLayers),
// so the check in cleanName is tested here directly, with the other rules.
func TestCleanNameRefusesNamesThatCouldEscapeOrAlias(t *testing.T) {
	for _, raw := range []string{
		"evil\x00.txt", `a\b`, `..\..\x`, "/etc/passwd", "../x", "a/../../x", "a/..", "..",
		strings.Repeat("a/", 600) + "x",
	} {
		if _, err := cleanName(raw); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("cleanName(%q) = %v; want a refusal", raw, err)
		}
	}
	for raw, want := range map[string]string{
		"./a/b": "a/b", "a//b": "a/b", "a/./b": "a/b", "a/b/": "a/b", "./": "", ".": "", "..a/b..": "..a/b..",
	} {
		got, err := cleanName(raw)
		if err != nil || got != want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}
