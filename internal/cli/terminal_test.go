package cli

import (
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// Text inside a skill — its description, its SKILL.md body, its file
// names — comes from whoever published it. Printed raw, an escape sequence
// in it could retitle the terminal, clear it, hide lines or plant a
// hyperlink. Every command that shows such text shows those characters as
// visible escapes instead.
func TestSkillTextNeverReachesTheTerminalAsControlCharacters(t *testing.T) {
	testutil.IsolateMachine(t)
	store := t.TempDir()
	// YAML's double-quoted \e and \a are ESC and BEL; the body carries them
	// raw, as a hostile SKILL.md would.
	dir := testutil.WriteSkill(t, t.TempDir(), "loud", map[string]string{
		"SKILL.md": "---\nname: loud\ndescription: \"Clears \\e[2J the screen and rings \\a the bell.\"\n---\n" +
			"# Loud\n\n\x1b]0;pwned\x07Body with a \x1b[31mred\x1b[0m word.\n",
		"refs/\x1b[8mhidden.md": "x\n",
	})
	mustSD(t, store, "build", dir, "-t", "loud:1")
	for _, args := range [][]string{
		{"content", "loud:1"},
		{"inspect", "loud:1"},
		{"builds"},
		{"install", "loud:1", "--client", "claude-code"},
		{"info", "loud"},
		{"list"},
		{"verify"},
	} {
		r := mustSD(t, store, args...)
		if bad := controlChars(r.out + r.err); len(bad) > 0 {
			t.Errorf("skilldock %s printed control characters %q:\n%s", strings.Join(args, " "), bad, r.out)
		}
	}
	// They are shown, not dropped: the reader can see something is odd.
	if out := mustSD(t, store, "content", "loud:1").out; !strings.Contains(out, `\x1b]0;pwned\a`) || !strings.Contains(out, `\x1b[8mhidden.md`) {
		t.Errorf("content does not show the escapes visibly:\n%s", out)
	}
}
