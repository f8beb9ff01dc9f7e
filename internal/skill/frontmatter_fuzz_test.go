package skill_test

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skilldock/skilldock/internal/skill"
)

// specName is the specification's name grammar written independently of the
// package's own check, so the fuzzer compares two implementations.
var specName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// FuzzFrontmatter feeds arbitrary SKILL.md bytes through the splitter and the
// decoder. Neither may panic, the size bound must hold whatever the input,
// and "no errors" must really mean the required fields obey the spec. More
// seeds live in testdata/fuzz/FuzzFrontmatter.
func FuzzFrontmatter(f *testing.F) {
	for _, seed := range []string{
		"",
		"---",
		"---\n---\n",
		"---\n" + validFront + "---\n# Body\n",
		"---\n" + validFront + "---",
		"---\n" + validFront,
		"\xef\xbb\xbf---\r\nname: demo\r\ndescription: x\r\n---\r\nbody\r\n",
		"---\nname: &n demo\ndescription: *n\nmetadata: &m {a: b}\nx: *m\n---\n",
		"---\nbase: &b {name: demo}\n<<: *b\ndescription: x\n---\n",
		"---\na: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n---\n",
		// A key past YAML's 1024-character limit for implicit keys. Seeds
		// near the 64 KiB bound are left to TestFrontmatterSizeLimitIs64KiB:
		// every mutation of one parses 64 KiB of YAML, which stalls the
		// fuzzer's minimization for its whole budget.
		"---\nname: demo\ndescription: x\n" + strings.Repeat("k", 2000) + ": v\n---\n",
		"---\n\tname: demo\ndescription:\t x\t\n---\n",
		"---\nname: Demo\ndescription: ''\ncompatibility: " + strings.Repeat("é", 501) + "\n---\n",
		"---\nmetadata:\n  version: 1.0\n  ? [a]\n  : b\nallowed-tools: [Read, {a: b}]\n---\n",
		"---\nallowed-tools: Bash(a,b) Read, Grep (x\n---\n",
		"---\n- a\n- b\n---\n",
		"--- \t\r\nname: demo\n---\n--- x\n",
		"---\nname: demo\n--- x\ndescription: y\n---\n",
		"---\n!!binary x: y\n---\n",
		"---\nname: !!null demo\ndescription: !!str\n---\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		front, splitErr := skill.SplitFrontmatter(bufio.NewReader(bytes.NewReader(data)))
		d, err := skill.ParseDocument(data)
		if (err == nil) != (splitErr == nil) {
			t.Fatalf("ParseDocument error %v but SplitFrontmatter error %v", err, splitErr)
		}
		if err == nil {
			if len(d.Front) > skill.MaxFrontmatter {
				t.Fatalf("len(Front) = %d > MaxFrontmatter", len(d.Front))
			}
			if !bytes.Equal(d.Front, front) {
				t.Fatalf("ParseDocument and SplitFrontmatter disagree on the frontmatter")
			}
			// The parts are slices of the input: the YAML sits between the
			// fences and the body is everything after the closing one.
			if !bytes.Contains(data, d.Front) || !bytes.HasSuffix(data, []byte(d.Body)) {
				t.Fatalf("Front or Body is not taken from the input")
			}
			checkDecode(t, d.Front)
		}
		// The decoder must also survive YAML that never went through the
		// splitter (fences included), up to the size callers can pass it.
		if len(data) <= skill.MaxFrontmatter {
			checkDecode(t, data)
		}
	})
}

func checkDecode(t *testing.T, front []byte) {
	t.Helper()
	md, errs, warns := skill.DecodeFrontmatter(front)
	for _, is := range append(errs, warns...) {
		if is.Field == "" || is.Message == "" {
			t.Fatalf("issue without field or message: %+v", is)
		}
	}
	if len(errs) > 0 {
		return
	}
	if n := utf8.RuneCountInString(md.Name); n > 64 || !specName.MatchString(md.Name) {
		t.Fatalf("no errors but name %q breaks the name rules", md.Name)
	}
	if strings.TrimSpace(md.Description) == "" || utf8.RuneCountInString(md.Description) > 1024 {
		t.Fatalf("no errors but description %q is empty or too long", md.Description)
	}
	if utf8.RuneCountInString(md.Compatibility) > 500 {
		t.Fatalf("no errors but compatibility is %d characters", utf8.RuneCountInString(md.Compatibility))
	}
}
