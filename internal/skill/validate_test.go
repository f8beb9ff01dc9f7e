package skill_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/skill"
)

// validFront is the smallest frontmatter that passes every rule for a folder
// named "demo".
const validFront = "name: demo\ndescription: Does one thing well. Use it when testing.\n"

// doc wraps YAML in fences and a short body, as a SKILL.md.
func doc(front string) string {
	return "---\n" + front + "---\n# Demo\n\nBody.\n"
}

// want is one expected issue: its exact field and a fragment of its message
// that names the rule broken.
type want struct {
	field, msg string
}

type checkCase struct {
	name   string
	folder string // defaults to "demo"
	// skillMD is written as SKILL.md unless noSkillMD is set.
	skillMD   string
	noSkillMD bool
	// setup adds files next to SKILL.md.
	setup func(t *testing.T, dir string)
	// shortPath builds the folder under os.MkdirTemp("", "sk") because unix
	// socket paths are limited to about 108 bytes.
	shortPath bool
	errs      []want
	warns     []want
}

// runCheck builds each case's folder and asserts Valid, and that exactly the
// expected issues land in Errors and in Warnings.
func runCheck(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			if tc.shortPath {
				var err error
				base, err = os.MkdirTemp("", "sk")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(base) })
			}
			folder := tc.folder
			if folder == "" {
				folder = "demo"
			}
			dir := filepath.Join(base, folder)
			mustMkdir(t, dir)
			if !tc.noSkillMD {
				mustWrite(t, filepath.Join(dir, skill.ManifestFile), tc.skillMD)
			}
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			c, err := skill.Check(dir)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			r := c.Report
			if wantValid := len(tc.errs) == 0; r.Valid != wantValid {
				t.Errorf("Valid = %v, want %v (errors: %v)", r.Valid, wantValid, r.Errors)
			}
			assertIssues(t, "error", r.Errors, tc.errs)
			assertIssues(t, "warning", r.Warnings, tc.warns)
		})
	}
}

func assertIssues(t *testing.T, kind string, got []skill.Issue, wants []want) {
	t.Helper()
	gotFields := make([]string, len(got))
	for i, is := range got {
		gotFields[i] = is.Field
	}
	wantFields := make([]string, len(wants))
	for i, w := range wants {
		wantFields[i] = w.field
	}
	sort.Strings(gotFields)
	sort.Strings(wantFields)
	if !slices.Equal(gotFields, wantFields) {
		t.Errorf("%s fields = %q, want %q\n%ss: %+v", kind, gotFields, wantFields, kind, got)
		return
	}
	for _, w := range wants {
		if !slices.ContainsFunc(got, func(is skill.Issue) bool {
			return is.Field == w.field && strings.Contains(is.Message, w.msg)
		}) {
			t.Errorf("no %s on %q mentioning %q; got %+v", kind, w.field, w.msg, got)
		}
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	mustMkdir(t, filepath.Dir(link))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// frontOfSize returns a valid frontmatter of exactly n bytes, padded with
// comment lines of at most lineLen bytes each so both the per-line and the
// running-total limits are exercised.
func frontOfSize(t *testing.T, n, lineLen int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(validFront)
	for b.Len() < n {
		left := n - b.Len()
		if left < 2 {
			t.Fatalf("cannot pad to %d bytes", n) // "#\n" is the shortest line
		}
		l := min(lineLen, left)
		if left-l == 1 {
			l-- // never leave one byte, which no comment line can fill
		}
		b.WriteString("#" + strings.Repeat("x", l-2) + "\n")
	}
	if b.Len() != n {
		t.Fatalf("padded frontmatter is %d bytes, want %d", b.Len(), n)
	}
	return b.String()
}

func TestCheckAcceptsAMinimalSkill(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "minimal", skillMD: doc(validFront)},
		{name: "all spec fields", skillMD: doc(validFront +
			"license: Apache-2.0\ncompatibility: Requires git\nallowed-tools: Bash(git:*) Read\n" +
			"metadata:\n  author: example-org\n  version: \"1.0\"\n")},
		{name: "frontmatter only, no body", skillMD: "---\n" + validFront + "---\n"},
		{name: "closing fence at end of file without newline", skillMD: "---\n" + validFront + "---"},
		{name: "fences with trailing blanks", skillMD: "--- \t\n" + validFront + "---  \n"},
	})
}

func TestCheckRejectsMalformedSkillMD(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "no SKILL.md", noSkillMD: true,
			errs: []want{{"SKILL.md", "no SKILL.md"}}},
		{name: "SKILL.md is a folder", noSkillMD: true,
			setup: func(t *testing.T, dir string) { mustMkdir(t, filepath.Join(dir, "SKILL.md")) },
			errs:  []want{{"SKILL.md", "regular file"}}},
		{name: "empty file", skillMD: "",
			errs: []want{{"SKILL.md", "must start with a '---' line"}}},
		{name: "no frontmatter", skillMD: "# Demo\n\nname: demo\n",
			errs: []want{{"SKILL.md", "must start with a '---' line"}}},
		{name: "frontmatter not on the first line", skillMD: "\n" + doc(validFront),
			errs: []want{{"SKILL.md", "must start with a '---' line"}}},
		{name: "unclosed", skillMD: "---\n" + validFront + "# Demo\n",
			errs: []want{{"SKILL.md", "never closed"}}},
		{name: "only an opening fence", skillMD: "---\n",
			errs: []want{{"SKILL.md", "never closed"}}},
		{name: "four dashes do not close", skillMD: "---\n" + validFront + "----\n",
			errs: []want{{"SKILL.md", "never closed"}}},
		{name: "YAML does not parse", skillMD: doc("name: demo\ndescription: [unclosed\n"),
			errs: []want{{"frontmatter", "YAML does not parse"}}},
		{name: "YAML is a list", skillMD: doc("- name: demo\n- description: x\n"),
			errs: []want{{"frontmatter", "must be a YAML mapping"}}},
		{name: "YAML is a scalar", skillMD: doc("just some text\n"),
			errs: []want{{"frontmatter", "must be a YAML mapping"}}},
		{name: "YAML key is not a string", skillMD: doc(validFront + "[a, b]: c\n"),
			errs: []want{{"frontmatter", "field names must be plain strings"}}},
		{name: "empty frontmatter lacks required fields", skillMD: doc(""),
			errs: []want{{"name", "name is required"}, {"description", "description is required"}}},
		{name: "null frontmatter lacks required fields", skillMD: doc("~\n"),
			errs: []want{{"name", "name is required"}, {"description", "description is required"}}},
	})
}

func TestFrontmatterSizeLimitIs64KiB(t *testing.T) {
	const max = skill.MaxFrontmatter
	if max != 64<<10 {
		t.Fatalf("MaxFrontmatter = %d, want 64 KiB", max)
	}
	tooLarge := []want{{"SKILL.md", "larger than 64 KiB"}}
	runCheck(t, []checkCase{
		{name: "exactly 64 KiB in many lines", skillMD: doc(frontOfSize(t, max, 1000))},
		{name: "exactly 64 KiB in one long line", skillMD: doc(frontOfSize(t, max, max))},
		{name: "exactly 64 KiB with CRLF fences",
			skillMD: "---\r\n" + frontOfSize(t, max, max) + "---\r\n"},
		{name: "one byte over in many lines", skillMD: doc(frontOfSize(t, max+1, 1000)), errs: tooLarge},
		{name: "one byte over in one long line", skillMD: doc(frontOfSize(t, max+1, max+1)), errs: tooLarge},
		{name: "far over and never closed", skillMD: "---\n" + strings.Repeat("a: b\n", max),
			errs: tooLarge},
		{name: "a single line with no newline at all", skillMD: "---" + strings.Repeat(" ", 2*max),
			errs: []want{{"SKILL.md", "must start with a '---' line"}}},
	})
}

func TestParseDocumentKeepsFrontmatterWithin64KiB(t *testing.T) {
	const max = skill.MaxFrontmatter
	for _, tc := range []struct {
		name  string
		front string
		fence string
		ok    bool
	}{
		{"exactly the limit", frontOfSize(t, max, max), "---\n", true},
		{"exactly the limit, CRLF fence", frontOfSize(t, max, max), "---\r\n", true},
		{"exactly the limit, fence with trailing blanks", frontOfSize(t, max, max), "--- \t \n", true},
		{"exactly the limit, fence at end of file", frontOfSize(t, max, max), "---", true},
		{"one byte over", frontOfSize(t, max+1, max+1), "---\n", false},
		{"one byte over in many lines", frontOfSize(t, max+1, 100), "---\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := "body\n"
			if !strings.HasSuffix(tc.fence, "\n") {
				body = "" // the fence ends the file
			}
			d, err := skill.ParseDocument([]byte("---\n" + tc.front + tc.fence + body))
			if !tc.ok {
				if err == nil {
					t.Fatalf("ParseDocument accepted %d bytes of frontmatter", len(d.Front))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDocument: %v", err)
			}
			if string(d.Front) != tc.front || d.Body != body {
				t.Errorf("Front is %d bytes (want %d), Body = %q", len(d.Front), len(tc.front), d.Body)
			}
		})
	}
}

func TestNameRules(t *testing.T) {
	name64 := strings.Repeat("a", 63) + "1"
	name65 := strings.Repeat("a", 64) + "1"
	runCheck(t, []checkCase{
		{name: "missing", skillMD: doc("description: x\n"),
			errs: []want{{"name", "name is required"}}},
		{name: "null", skillMD: doc("name:\ndescription: x\n"),
			errs: []want{{"name", "name is required"}}},
		{name: "empty", skillMD: doc("name: \"\"\ndescription: x\n"),
			errs: []want{{"name", "must not be empty"}}},
		{name: "not a string", skillMD: doc("name: [demo]\ndescription: x\n"),
			errs: []want{{"name", "name must be a string"}}},
		{name: "64 characters", folder: name64,
			skillMD: doc("name: " + name64 + "\ndescription: x\n")},
		{name: "65 characters", folder: name65,
			skillMD: doc("name: " + name65 + "\ndescription: x\n"),
			errs:    []want{{"name", "name is 65 characters; the limit is 64"}}},
		{name: "single character", folder: "a", skillMD: doc("name: a\ndescription: x\n")},
		{name: "digits and hyphens", folder: "pdf-2-text", skillMD: doc("name: pdf-2-text\ndescription: x\n")},
		{name: "uppercase", folder: "Demo", skillMD: doc("name: Demo\ndescription: x\n"),
			errs: []want{{"name", "only lowercase letters, digits and '-'"}}},
		{name: "underscore", folder: "my_skill", skillMD: doc("name: my_skill\ndescription: x\n"),
			errs: []want{{"name", "only lowercase letters, digits and '-'"}}},
		{name: "space", folder: "my skill", skillMD: doc("name: my skill\ndescription: x\n"),
			errs: []want{{"name", "only lowercase letters, digits and '-'"}}},
		{name: "non-ASCII lowercase letter", folder: "café", skillMD: doc("name: café\ndescription: x\n"),
			errs: []want{{"name", "only lowercase letters, digits and '-'"}}},
		{name: "leading hyphen", folder: "-demo", skillMD: doc("name: -demo\ndescription: x\n"),
			errs: []want{{"name", "must not start or end with '-'"}}},
		{name: "trailing hyphen", folder: "demo-", skillMD: doc("name: demo-\ndescription: x\n"),
			errs: []want{{"name", "must not start or end with '-'"}}},
		{name: "consecutive hyphens", folder: "de--mo", skillMD: doc("name: de--mo\ndescription: x\n"),
			errs: []want{{"name", "must not contain '--'"}}},
		{name: "differs from folder", folder: "other", skillMD: doc(validFront),
			errs: []want{{"name", `must equal the folder's name "other"`}}},
		{name: "differs from folder only in case", folder: "Demo", skillMD: doc(validFront),
			errs: []want{{"name", `must equal the folder's name "Demo"`}}},
	})
}

func TestDescriptionLengthCountsCharactersNotBytes(t *testing.T) {
	// 'é' is two bytes in UTF-8, so a byte count would reject both boundaries.
	runCheck(t, []checkCase{
		{name: "1024 multi-byte characters",
			skillMD: doc("name: demo\ndescription: " + strings.Repeat("é", 1024) + "\n")},
		{name: "1025 multi-byte characters",
			skillMD: doc("name: demo\ndescription: " + strings.Repeat("é", 1025) + "\n"),
			errs:    []want{{"description", "description is 1025 characters; the limit is 1024"}}},
		{name: "1024 ASCII characters",
			skillMD: doc("name: demo\ndescription: " + strings.Repeat("d", 1024) + "\n")},
		{name: "1025 ASCII characters",
			skillMD: doc("name: demo\ndescription: " + strings.Repeat("d", 1025) + "\n"),
			errs:    []want{{"description", "the limit is 1024"}}},
	})
}

func TestDescriptionIsRequiredAndNonEmpty(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "missing", skillMD: doc("name: demo\n"),
			errs: []want{{"description", "description is required"}}},
		{name: "null", skillMD: doc("name: demo\ndescription:\n"),
			errs: []want{{"description", "description is required"}}},
		{name: "empty", skillMD: doc("name: demo\ndescription: ''\n"),
			errs: []want{{"description", "must not be empty"}}},
		{name: "only blanks", skillMD: doc("name: demo\ndescription: '   '\n"),
			errs: []want{{"description", "must not be empty"}}},
		{name: "a mapping", skillMD: doc("name: demo\ndescription:\n  a: b\n"),
			errs: []want{{"description", "description must be a string"}}},
		{name: "one character", skillMD: doc("name: demo\ndescription: x\n")},
	})
}

func TestCompatibilityLengthCountsCharactersNotBytes(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "500 multi-byte characters",
			skillMD: doc(validFront + "compatibility: " + strings.Repeat("é", 500) + "\n")},
		{name: "501 multi-byte characters",
			skillMD: doc(validFront + "compatibility: " + strings.Repeat("é", 501) + "\n"),
			errs:    []want{{"compatibility", "compatibility is 501 characters; the limit is 500"}}},
		{name: "500 ASCII characters",
			skillMD: doc(validFront + "compatibility: " + strings.Repeat("c", 500) + "\n")},
		{name: "501 ASCII characters",
			skillMD: doc(validFront + "compatibility: " + strings.Repeat("c", 501) + "\n"),
			errs:    []want{{"compatibility", "the limit is 500"}}},
		{name: "absent", skillMD: doc(validFront)},
	})
}

func TestMetadataMustMapStringsToStrings(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "strings", skillMD: doc(validFront + "metadata:\n  author: me\n  version: \"1.0\"\n")},
		{name: "empty mapping", skillMD: doc(validFront + "metadata: {}\n")},
		{name: "null", skillMD: doc(validFront + "metadata:\n")},
		{name: "a string", skillMD: doc(validFront + "metadata: author=me\n"),
			errs: []want{{"metadata", "must be a mapping of string keys to string values"}}},
		{name: "a list", skillMD: doc(validFront + "metadata:\n  - author\n"),
			errs: []want{{"metadata", "must be a mapping of string keys to string values"}}},
		{name: "float value", skillMD: doc(validFront + "metadata:\n  version: 1.0\n"),
			errs: []want{{"metadata.version", `metadata values must be strings (quote it: "1.0")`}}},
		{name: "bool value", skillMD: doc(validFront + "metadata:\n  beta: true\n"),
			errs: []want{{"metadata.beta", "metadata values must be strings"}}},
		{name: "nested mapping value", skillMD: doc(validFront + "metadata:\n  author:\n    name: me\n"),
			errs: []want{{"metadata.author", "metadata values must be strings"}}},
		{name: "list value", skillMD: doc(validFront + "metadata:\n  tags: [a, b]\n"),
			errs: []want{{"metadata.tags", "metadata values must be strings"}}},
		{name: "integer key", skillMD: doc(validFront + "metadata:\n  1: one\n"),
			errs: []want{{"metadata", "metadata keys must be strings"}}},
		{name: "every bad value is reported", skillMD: doc(validFront + "metadata:\n  a: 1\n  b: ok\n  c: false\n"),
			errs: []want{{"metadata.a", "must be strings"}, {"metadata.c", "must be strings"}}},
	})
}

// requires returns frontmatter declaring lines as the skill's dependencies,
// in the block form ToolHive documents.
func requires(lines ...string) string {
	return validFront + "metadata:\n  toolhive.requires: |\n    " + strings.Join(lines, "\n    ") + "\n"
}

func TestRequiredSkillsAreRegistryReferencesWithATagOrDigest(t *testing.T) {
	pinned := "ghcr.io/acme/skills/pdf@sha256:" + strings.Repeat("ab", 32)
	const field = "metadata.toolhive.requires"
	const form = "expected REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST, one per line"
	runCheck(t, []checkCase{
		{name: "a tag", skillMD: doc(requires("ghcr.io/acme/skills/git-helper:1.2.0"))},
		{name: "a digest", skillMD: doc(requires(pinned))},
		{name: "a tag and a digest", skillMD: doc(requires("ghcr.io/acme/pdf:1@sha256:" + strings.Repeat("ab", 32)))},
		{name: "registry with a port", skillMD: doc(requires("localhost:5000/team/x:1"))},
		{name: "several, blank lines and blanks around them",
			skillMD: doc(validFront + "metadata:\n  toolhive.requires: \"\\n  ghcr.io/a/b:1  \\n\\n\\tghcr.io/a/c:2\\n\"\n")},
		{name: "only blank lines", skillMD: doc(validFront + "metadata:\n  toolhive.requires: \"\\n \\n\"\n")},
		{name: "a local tag", skillMD: doc(requires("git-helper:1.2")),
			errs: []want{{field, `dependency on line 1: invalid reference "git-helper:1.2": it names no registry`}}},
		{name: "a repository path without a registry", skillMD: doc(requires("acme/git-helper:1.2")),
			errs: []want{{field, "line 1"}}},
		{name: "no tag or digest", skillMD: doc(requires("ghcr.io/acme/skills/git-helper:1.2.0", "ghcr.io/acme/skills/pdf")),
			errs: []want{{field, `dependency on line 2: invalid reference "ghcr.io/acme/skills/pdf": it names no tag or digest; ` + form}}},
		{name: "a malformed digest", skillMD: doc(requires("ghcr.io/acme/pdf@sha256:abc")),
			errs: []want{{field, "is not ALGORITHM:HEX"}}},
		{name: "upper-case repository", skillMD: doc(requires("ghcr.io/Acme/pdf:1")),
			errs: []want{{field, `name component "Acme"`}}},
		{name: "two on one line", skillMD: doc(requires("ghcr.io/a/b:1 ghcr.io/a/c:2")),
			errs: []want{{field, form}}},
		{name: "a blank line still counts", skillMD: doc(requires("ghcr.io/a/b:1", "", "nope")),
			errs: []want{{field, "line 3:"}}},
		{name: "every bad line is reported", skillMD: doc(requires("a", "ghcr.io/a/b:1", "b")),
			errs: []want{{field, "line 1:"}, {field, "line 3:"}}},
		{name: "not a string", skillMD: doc(validFront + "metadata:\n  toolhive.requires: [ghcr.io/a/b:1]\n"),
			errs: []want{{field, "metadata values must be strings"}}},
		{name: "a repeat is a warning", skillMD: doc(requires("ghcr.io/a/b:1", "ghcr.io/a/c:1", "ghcr.io/a/b:1")),
			warns: []want{{field, "dependency on line 3: ghcr.io/a/b:1 is already required on line 1; the repeat is ignored"}}},
		{name: "a repeat with other blanks is a repeat", skillMD: doc(validFront + "metadata:\n  toolhive.requires: \"ghcr.io/a/b:1\\n ghcr.io/a/b:1 \"\n"),
			warns: []want{{field, "line 2"}}},
		{name: "the same repository at two versions is not a repeat", skillMD: doc(requires("ghcr.io/a/b:1", "ghcr.io/a/b:2"))},
		{name: "as many as readers keep", skillMD: doc(requires(manyRequires(skill.MaxRequires)...))},
		{name: "one more than readers keep", skillMD: doc(requires(manyRequires(skill.MaxRequires + 1)...)),
			errs: []want{{field, fmt.Sprintf("dependency on line %d is one of %d; a skill may require at most %d", skill.MaxRequires+1, skill.MaxRequires+1, skill.MaxRequires)}}},
		{name: "a line longer than readers read", skillMD: doc(requires("ghcr.io/a/" + strings.Repeat("b", skill.MaxRequireLen-11) + ":1")),
			errs: []want{{field, fmt.Sprintf("dependency on line 1 is %d bytes long; the limit is %d", skill.MaxRequireLen+1, skill.MaxRequireLen)}}},
		{name: "a key outside metadata is not a declaration", skillMD: doc(validFront + "toolhive.requires: nope\n"),
			warns: []want{{"toolhive.requires", "not a field of the Agent Skills specification"}}},
	})
}

// manyRequires returns n distinct valid references.
func manyRequires(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("ghcr.io/acme/skill-%d:1", i)
	}
	return out
}

func TestRequiresListsDeclaredReferencesInOrderOnce(t *testing.T) {
	pinned := "ghcr.io/acme/skills/pdf@sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"block", requires("ghcr.io/acme/skills/git-helper:1.2.0", pinned),
			[]string{"ghcr.io/acme/skills/git-helper:1.2.0", pinned}},
		{"declared order, not sorted", requires("ghcr.io/z/z:1", "ghcr.io/a/a:1"), []string{"ghcr.io/z/z:1", "ghcr.io/a/a:1"}},
		{"trimmed, blank lines skipped", validFront + "metadata:\n  toolhive.requires: \"\\n  ghcr.io/a/b:1 \\r\\n\\n\"\n", []string{"ghcr.io/a/b:1"}},
		{"repeats dropped", requires("ghcr.io/a/b:1", "ghcr.io/a/c:1", "ghcr.io/a/b:1"), []string{"ghcr.io/a/b:1", "ghcr.io/a/c:1"}},
		{"bad lines left out", requires("nope", "ghcr.io/a/b:1"), []string{"ghcr.io/a/b:1"}},
		{"absent", validFront, nil},
		{"other metadata only", validFront + "metadata:\n  author: me\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			md, _, _ := skill.DecodeFrontmatter([]byte(tc.yaml))
			if !slices.Equal(md.Requires, tc.want) {
				t.Errorf("Requires = %q, want %q", md.Requires, tc.want)
			}
		})
	}
}

func TestFieldsOutsideTheSpecAreWarningsNotErrors(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "disable-model-invocation", skillMD: doc(validFront + "disable-model-invocation: true\n"),
			warns: []want{{"disable-model-invocation", "not a field of the Agent Skills specification"}}},
		{name: "user-invocable", skillMD: doc(validFront + "user-invocable: false\n"),
			warns: []want{{"user-invocable", "not a field of the Agent Skills specification"}}},
		{name: "version", skillMD: doc(validFront + "version: 1.2.3\n"),
			warns: []want{{"version", "not a field of the Agent Skills specification"}}},
		{name: "several", skillMD: doc(validFront + "version: 1.2.3\nmodel: x\n"),
			warns: []want{{"version", "specification"}, {"model", "specification"}}},
		{name: "empty field name", skillMD: doc(validFront + "\"\": x\n"),
			warns: []want{{"frontmatter", "line 3: a field with an empty name"}}},
		{name: "anchored empty field name", skillMD: doc(validFront + "&a : x\n"),
			warns: []want{{"frontmatter", "empty name"}}},
		{name: "alongside an error", skillMD: doc("name: demo\nversion: 1\n"),
			errs:  []want{{"description", "required"}},
			warns: []want{{"version", "specification"}}},
	})
}

func TestAllowedToolsOutsideTheSpecFormAreWarnings(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "space-separated", skillMD: doc(validFront + "allowed-tools: Bash(git log:*) Read\n")},
		{name: "comma-separated", skillMD: doc(validFront + "allowed-tools: Read, Grep\n"),
			warns: []want{{"allowed-tools", "comma-separated"}}},
		{name: "YAML list", skillMD: doc(validFront + "allowed-tools:\n  - Read\n  - Grep\n"),
			warns: []want{{"allowed-tools", "YAML list"}}},
		{name: "mapping", skillMD: doc(validFront + "allowed-tools:\n  Read: yes\n"),
			errs: []want{{"allowed-tools", "space-separated string"}}},
		{name: "list of lists", skillMD: doc(validFront + "allowed-tools:\n  - [Read]\n"),
			errs: []want{{"allowed-tools", "list items must be strings"}}},
	})
}

func TestSkillMDOver500LinesIsAWarning(t *testing.T) {
	// lines returns a SKILL.md of exactly n lines: the fences and the
	// frontmatter count as lines too.
	lines := func(n int, lastNewline bool) string {
		head := "---\n" + validFront + "---\n"
		s := head + strings.Repeat("line\n", n-strings.Count(head, "\n"))
		if !lastNewline {
			s = strings.TrimSuffix(s, "\n")
		}
		return s
	}
	tooLong := []want{{"SKILL.md", "SKILL.md has 501 lines; keep it under 500"}}
	runCheck(t, []checkCase{
		{name: "500 lines", skillMD: lines(500, true)},
		{name: "500 lines, last without newline", skillMD: lines(500, false)},
		{name: "501 lines", skillMD: lines(501, true), warns: tooLong},
		{name: "501 lines, last without newline", skillMD: lines(501, false), warns: tooLong},
	})
}

func TestLineEndingsAndBOMAreAccepted(t *testing.T) {
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	const bom = "\xef\xbb\xbf"
	runCheck(t, []checkCase{
		{name: "CRLF", skillMD: crlf(doc(validFront + "metadata:\n  author: me\n"))},
		{name: "BOM", skillMD: bom + doc(validFront)},
		{name: "BOM and CRLF", skillMD: bom + crlf(doc(validFront))},
		{name: "CRLF still enforces rules", skillMD: crlf(doc("name: Demo\ndescription: x\n")), folder: "Demo",
			errs: []want{{"name", "lowercase"}}},
		{name: "500 CRLF lines are not over the line limit",
			skillMD: crlf("---\n" + validFront + "---\n" + strings.Repeat("x\n", 496))},
	})
}

func TestSpecialFilesAreErrors(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "symlink to a file", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustWrite(t, filepath.Join(dir, "real.txt"), "x")
				mustSymlink(t, "real.txt", filepath.Join(dir, "link.txt"))
			},
			errs: []want{{"link.txt", "symbolic link"}}},
		{name: "dangling symlink in a subfolder", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustSymlink(t, "/nonexistent", filepath.Join(dir, "scripts", "run.sh"))
			},
			errs: []want{{"scripts/run.sh", "symbolic link"}}},
		{name: "symlink to a folder", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustSymlink(t, t.TempDir(), filepath.Join(dir, "refs"))
			},
			errs: []want{{"refs", "symbolic link"}}},
		{name: "SKILL.md is a symlink", noSkillMD: true,
			setup: func(t *testing.T, dir string) {
				real := filepath.Join(t.TempDir(), "SKILL.md")
				mustWrite(t, real, doc(validFront))
				mustSymlink(t, real, filepath.Join(dir, "SKILL.md"))
			},
			errs: []want{{"SKILL.md", "symbolic link"}, {"SKILL.md", "must be a regular file"}}},
		{name: "fifo", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			},
			errs: []want{{"pipe", "named pipe (fifo)"}}},
		{name: "unix socket", skillMD: doc(validFront), shortPath: true,
			setup: func(t *testing.T, dir string) {
				l, err := net.Listen("unix", filepath.Join(dir, "sock"))
				if err != nil {
					t.Skipf("listen unix: %v", err)
				}
				t.Cleanup(func() { l.Close() })
			},
			errs: []want{{"sock", "is a socket"}}},
		{name: "character device", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				// /dev/null's numbers: 1, 3. Creating devices needs privilege.
				if err := syscall.Mknod(filepath.Join(dir, "null"), syscall.S_IFCHR|0o644, 1<<8|3); err != nil {
					t.Skipf("mknod: %v", err)
				}
			},
			errs: []want{{"null", "character device"}}},
		{name: "every special file is reported", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustSymlink(t, "x", filepath.Join(dir, "a"))
				mustSymlink(t, "x", filepath.Join(dir, "b", "c"))
			},
			errs: []want{{"a", "symbolic link"}, {"b/c", "symbolic link"}}},
	})
}

func TestSpecialFilesThatAreNotPackedAreSkipped(t *testing.T) {
	runCheck(t, []checkCase{
		{name: "symlink inside a hidden folder", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustSymlink(t, "/nonexistent", filepath.Join(dir, ".git", "HEAD"))
			},
		},
		{name: "hidden symlink", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustSymlink(t, "/nonexistent", filepath.Join(dir, ".envrc"))
			},
		},
		{name: "symlink matched by .skillignore", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustWrite(t, filepath.Join(dir, ".skillignore"), "link.txt\n")
				mustSymlink(t, "/nonexistent", filepath.Join(dir, "link.txt"))
			},
		},
		{name: "symlink inside a .skillignore'd folder", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustWrite(t, filepath.Join(dir, ".skillignore"), "node_modules/\n")
				mustSymlink(t, "/nonexistent", filepath.Join(dir, "node_modules", ".bin", "tool"))
				mustSymlink(t, "/nonexistent", filepath.Join(dir, "node_modules", "pkg"))
			},
		},
		{name: "fifo inside a hidden folder", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustMkdir(t, filepath.Join(dir, ".cache"))
				if err := syscall.Mkfifo(filepath.Join(dir, ".cache", "pipe"), 0o644); err != nil {
					t.Skipf("mkfifo: %v", err)
				}
			},
		},
		{name: "only ignored symlinks are skipped", skillMD: doc(validFront),
			setup: func(t *testing.T, dir string) {
				mustWrite(t, filepath.Join(dir, ".skillignore"), "ignored\n")
				mustSymlink(t, "x", filepath.Join(dir, "ignored"))
				mustSymlink(t, "x", filepath.Join(dir, "kept"))
			},
			errs: []want{{"kept", "symbolic link"}}},
	})
}

func TestIssuesAreFilledInTheRightList(t *testing.T) {
	// One folder breaking an error rule and a warning rule at once: the
	// warning must not make it invalid and the error must not be demoted.
	base := t.TempDir()
	dir := filepath.Join(base, "demo")
	mustWrite(t, filepath.Join(dir, "SKILL.md"), doc("name: demo\ndescription: x\nversion: 2\nallowed-tools: [Read]\ncompatibility: "+strings.Repeat("c", 501)+"\n"))
	c, err := skill.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Report.Valid {
		t.Error("Valid = true with an over-long compatibility")
	}
	assertIssues(t, "error", c.Report.Errors, []want{{"compatibility", "limit is 500"}})
	assertIssues(t, "warning", c.Report.Warnings, []want{{"version", "specification"}, {"allowed-tools", "YAML list"}})
}

func TestReportListsAreEmptyArraysNotNull(t *testing.T) {
	// Scripts read `errors` and `warnings` as arrays; null would break them.
	dir := filepath.Join(t.TempDir(), "demo")
	mustWrite(t, filepath.Join(dir, "SKILL.md"), doc(validFront))
	c, err := skill.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(c.Report)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), `{"valid":true,"errors":[],"warnings":[]}`; got != want {
		t.Errorf("report JSON = %s, want %s", got, want)
	}
}

func TestCheckRefusesFoldersItCannotExamine(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	mustWrite(t, file, "x")
	for name, dir := range map[string]string{
		"missing":      filepath.Join(base, "missing"),
		"not a folder": file,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := skill.Check(dir)
			if err == nil {
				t.Fatalf("Check(%s) = %+v, want an error", dir, c.Report)
			}
			if !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Check(%s) error %v is not errdef.ErrInvalid", dir, err)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the folder %s", err, dir)
			}
		})
	}
}

// countdown is a context that ends after its Err has been asked n times,
// so that a test can end it in the middle of a walk or a read.
type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

func TestCheckStopsWhereverItsContextEnds(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"in the walk of many files", func(t *testing.T, dir string) {
			mustWrite(t, filepath.Join(dir, "SKILL.md"), doc(validFront))
			for i := range 200 {
				mustWrite(t, filepath.Join(dir, "refs", fmt.Sprintf("%03d.md", i)), "x\n")
			}
		}},
		{"in the read of a long SKILL.md", func(t *testing.T, dir string) {
			mustWrite(t, filepath.Join(dir, "SKILL.md"), doc(validFront)+strings.Repeat("A line of the body.\n", 200_000))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "demo")
			c.setup(t, dir)
			// Ten looks at the context: the walk of the root and SKILL.md
			// takes a few, every further file or 32 KiB block one.
			_, err := skill.CheckContext(&countdown{Context: context.Background(), n: 10}, dir)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("CheckContext with a context that ends: %v, want context.Canceled", err)
			}
			if errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q must name the folder and not blame it", err)
			}
			// The folder itself is fine: only the context stopped the check.
			checked, err := skill.CheckContext(context.Background(), dir)
			if err != nil || !checked.Report.Valid {
				t.Fatalf("CheckContext with a live context: %v %+v", err, checked)
			}
		})
	}
}

func TestCheckNamesTheFolderAfterItsResolvedPath(t *testing.T) {
	// "." and a trailing slash must still compare the name with the real
	// folder name.
	dir := filepath.Join(t.TempDir(), "demo")
	mustWrite(t, filepath.Join(dir, "SKILL.md"), doc(validFront))
	t.Chdir(dir)
	for _, arg := range []string{".", dir + "/", "../demo"} {
		c, err := skill.Check(arg)
		if err != nil {
			t.Fatalf("Check(%q): %v", arg, err)
		}
		if !c.Report.Valid {
			t.Errorf("Check(%q) errors: %+v", arg, c.Report.Errors)
		}
		if c.Root != dir {
			t.Errorf("Check(%q).Root = %s, want %s", arg, c.Root, dir)
		}
	}
}

func TestCheckReturnsMetadataAndFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	mustWrite(t, filepath.Join(dir, "SKILL.md"), doc(validFront+"license: MIT\nmetadata:\n  version: \"2.0\"\n"))
	mustWrite(t, filepath.Join(dir, "scripts", "run.sh"), "#!/bin/sh\n")
	c, err := skill.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Metadata.Name != "demo" || c.Metadata.License != "MIT" || c.Metadata.Version != "2.0" {
		t.Errorf("Metadata = %+v", c.Metadata)
	}
	var paths []string
	for _, f := range c.Files {
		paths = append(paths, f.Path)
	}
	if want := []string{"SKILL.md", "scripts/run.sh"}; !slices.Equal(paths, want) {
		t.Errorf("Files = %q, want %q", paths, want)
	}
}

func TestAllowedToolsParsing(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		tools []string
		warn  string // fragment of the allowed-tools warning; empty for none
	}{
		{name: "space-separated keeps parentheses together",
			yaml: "allowed-tools: Bash(git log:*) Read", tools: []string{"Bash(git log:*)", "Read"}},
		{name: "spec example", yaml: "allowed-tools: Bash(git:*) Bash(jq:*) Read",
			tools: []string{"Bash(git:*)", "Bash(jq:*)", "Read"}},
		{name: "runs of blanks", yaml: "allowed-tools: \"  Read \t Grep  \"", tools: []string{"Read", "Grep"}},
		{name: "folded over lines", yaml: "allowed-tools: >-\n  Read\n  Grep", tools: []string{"Read", "Grep"}},
		{name: "nested parentheses", yaml: "allowed-tools: Bash(echo (a b)) Read",
			tools: []string{"Bash(echo (a b))", "Read"}},
		{name: "comma-separated", yaml: "allowed-tools: Read, Grep,Glob",
			tools: []string{"Read", "Grep", "Glob"}, warn: "comma-separated"},
		{name: "comma-separated with arguments", yaml: "allowed-tools: Bash(git log:*), Read",
			tools: []string{"Bash(git log:*)", "Read"}, warn: "comma-separated"},
		{name: "comma inside parentheses only", yaml: "allowed-tools: Bash(echo a,b) Read",
			tools: []string{"Bash(echo a,b)", "Read"}},
		{name: "YAML list", yaml: "allowed-tools:\n  - Bash(git log:*)\n  - Read",
			tools: []string{"Bash(git log:*)", "Read"}, warn: "YAML list"},
		{name: "flow list", yaml: "allowed-tools: [Read, Grep]", tools: []string{"Read", "Grep"}, warn: "YAML list"},
		{name: "empty string", yaml: "allowed-tools: \"\"", tools: nil},
		{name: "null", yaml: "allowed-tools:", tools: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			md, errs, warns := skill.DecodeFrontmatter([]byte(validFront + tc.yaml + "\n"))
			if len(errs) != 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if !slices.Equal(md.AllowedTools, tc.tools) {
				t.Errorf("AllowedTools = %q, want %q", md.AllowedTools, tc.tools)
			}
			var wants []want
			if tc.warn != "" {
				wants = []want{{"allowed-tools", tc.warn}}
			}
			assertIssues(t, "warning", warns, wants)
		})
	}
}

func TestVersionComesFromFrontmatterElseMetadata(t *testing.T) {
	cases := []struct {
		name, yaml, version string
	}{
		{"frontmatter only", "version: 1.2.3", "1.2.3"},
		{"metadata only", "metadata:\n  version: \"0.4\"", "0.4"},
		{"frontmatter wins over metadata", "version: \"3.0\"\nmetadata:\n  version: \"0.4\"", "3.0"},
		{"unquoted number keeps its text", "version: 1.10", "1.10"},
		{"null frontmatter version falls back", "version:\nmetadata:\n  version: \"0.4\"", "0.4"},
		{"non-string metadata version is not used", "metadata:\n  version: 1.0", ""},
		{"neither", "license: MIT", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			md, _, _ := skill.DecodeFrontmatter([]byte(validFront + tc.yaml + "\n"))
			if md.Version != tc.version {
				t.Errorf("Version = %q, want %q", md.Version, tc.version)
			}
		})
	}
}

func TestEveryMessageNamesItsFieldOrFile(t *testing.T) {
	// A person reading only the message (without the field column) must
	// still see which field or file is wrong.
	front := "name: Demo--x-\ndescription: \"\"\ncompatibility: " + strings.Repeat("c", 501) +
		"\nmetadata:\n  version: 1\n  toolhive.requires: nope\nallowed-tools: a, b\nversion: 1\n"
	dir := filepath.Join(t.TempDir(), "demo")
	mustWrite(t, filepath.Join(dir, "SKILL.md"), doc(front))
	mustSymlink(t, "x", filepath.Join(dir, "link"))
	c, err := skill.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(c.Report.Errors), c.Report.Warnings...)
	if len(all) < 9 {
		t.Fatalf("expected at least 9 issues, got %+v", all)
	}
	for _, is := range all {
		subject := is.Field
		switch {
		case is.Field == "metadata.toolhive.requires":
			subject = "dependency on line" // which line of the list
		case strings.HasPrefix(subject, "metadata."):
			subject = "metadata" // "metadata values must be strings"
		}
		if is.Field == "link" {
			// File issues are printed as "<field>: <message>"; the message
			// names the kind of file.
			subject = "symbolic link"
		}
		if !strings.Contains(is.Message, subject) {
			t.Errorf("message %q does not mention %q", is.Message, subject)
		}
	}
}

func TestCheckListsTheFilesOfASymlinkedFolder(t *testing.T) {
	// Skills are often installed as a symlink to a checkout. The link itself
	// is the folder being checked, not a file inside it, so it is followed:
	// the files behind it are listed and the name is compared with the
	// link's name, which is what agents see.
	base := t.TempDir()
	real := filepath.Join(base, "src", "demo-checkout")
	mustWrite(t, filepath.Join(real, "SKILL.md"), doc(validFront))
	mustWrite(t, filepath.Join(real, "scripts", "run.sh"), "#!/bin/sh\n")
	link := filepath.Join(base, "demo")
	mustSymlink(t, real, link)
	c, err := skill.Check(link)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Report.Valid {
		t.Errorf("errors: %+v", c.Report.Errors)
	}
	var paths []string
	for _, f := range c.Files {
		paths = append(paths, f.Path)
	}
	if want := []string{"SKILL.md", "scripts/run.sh"}; !slices.Equal(paths, want) {
		t.Errorf("Files = %q, want %q", paths, want)
	}
}
