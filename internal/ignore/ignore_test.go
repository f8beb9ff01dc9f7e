package ignore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// matchCase is one question put to a Matcher built from patterns.
type matchCase struct {
	name     string
	patterns string
	path     string
	isDir    bool
	want     bool
}

func runCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tc.patterns))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.patterns, err)
			}
			if got := m.Match(tc.path, tc.isDir); got != tc.want {
				t.Errorf("patterns %q: Match(%q, isDir=%v) = %v, want %v",
					tc.patterns, tc.path, tc.isDir, got, tc.want)
			}
		})
	}
}

func TestBlankLinesAndCommentsAreIgnored(t *testing.T) {
	runCases(t, []matchCase{
		{"comment line is not a pattern", "#notes\n", "#notes", false, false},
		{"blank lines between patterns are skipped", "\n\n*.log\n\n", "a.log", false, true},
		{"blank line does not match an empty-named path", "\n", "x", false, false},
		{"only-spaces line is blank", "   \n", "x", false, false},
		{"hash after first column is literal", "a#b\n", "a#b", false, true},
		{"leading space makes hash literal", " #x\n", " #x", false, true},
	})
}

func TestEscapedHashAndBangAreLiteral(t *testing.T) {
	runCases(t, []matchCase{
		{"escaped hash matches file starting with hash", `\#notes`, "#notes", false, true},
		{"escaped bang matches file starting with bang", `\!important`, "!important", false, true},
		{"escaped bang is not a negation", "*\n\\!keep\n", "!keep", false, true},
		{"escaped bang does not match name without bang", `\!important`, "important", false, false},
	})
}

func TestTrailingSpacesTrimmedUnlessEscaped(t *testing.T) {
	runCases(t, []matchCase{
		{"trailing spaces are trimmed", "foo   ", "foo", false, true},
		{"trimmed pattern no longer matches spaced name", "foo   ", "foo   ", false, false},
		{"escaped trailing space is kept", `foo\ `, "foo ", false, true},
		{"escaped trailing space does not match bare name", `foo\ `, "foo", false, false},
		{"spaces after escaped space are trimmed", `foo\   `, "foo ", false, true},
		{"escaped backslash does not protect following space", `foo\\ `, `foo\`, false, true},
		{"inner spaces are kept", "a b", "a b", false, true},
		{"leading spaces are significant", " a", "a", false, false},
		{"trailing tab is not trimmed", "a\t", "a", false, false},
	})
}

func TestCRLFLineEndingsTolerated(t *testing.T) {
	runCases(t, []matchCase{
		{"CR is stripped from pattern", "*.log\r\nbuild/\r\n", "x.log", false, true},
		{"CR does not break directory-only slash", "*.log\r\nbuild/\r\n", "build", true, true},
		{"CR stripped before comment check", "#c\r\n!x\r\n", "x", false, false},
		{"CR stripped before trailing-space trim", "foo \r\n", "foo", false, true},
	})
}

func TestUTF8BOMIgnored(t *testing.T) {
	runCases(t, []matchCase{
		{"BOM before first pattern is dropped", "\xef\xbb\xbfsecret.txt\n", "secret.txt", false, true},
		{"BOM before comment keeps it a comment", "\xef\xbb\xbf#x\n", "#x", false, false},
	})
}

func TestNegationReincludes(t *testing.T) {
	runCases(t, []matchCase{
		{"negated file is not ignored", "*.md\n!README.md\n", "README.md", false, false},
		{"other files stay ignored", "*.md\n!README.md\n", "NOTES.md", false, true},
		{"negation alone ignores nothing", "!a\n", "a", false, false},
		{"ignore-all then re-include dirs and go files", "*\n!*/\n!*.go\n", "src/main.go", false, false},
		{"ignore-all then re-include dirs keeps others ignored", "*\n!*/\n!*.go\n", "src/main.c", false, true},
		{"negated directory-only pattern re-includes dir", "*\n!*/\n", "src", true, false},
	})
}

func TestLastMatchingPatternWins(t *testing.T) {
	runCases(t, []matchCase{
		{"later negation beats earlier ignore", "a.txt\n!a.txt\n", "a.txt", false, false},
		{"later ignore beats earlier negation", "!a.txt\na.txt\n", "a.txt", false, true},
		{"non-matching later rule does not override", "a.txt\n!b.txt\n", "a.txt", false, true},
		{"three-way flip ends ignored", "*.txt\n!a.txt\na*\n", "a.txt", false, true},
	})
}

func TestNegationCannotReincludeUnderExcludedDir(t *testing.T) {
	runCases(t, []matchCase{
		{"file under excluded dir stays ignored", "build/\n!build/keep.txt\n", "build/keep.txt", false, true},
		{"basename negation cannot rescue under excluded dir", "build\n!keep.txt\n", "build/keep.txt", false, true},
		{"deep file under excluded ancestor stays ignored", "a/\n!a/b/\n!a/b/c\n", "a/b/c", false, true},
		{"re-included subdir of excluded dir stays ignored", "a/\n!a/b/\n", "a/b", true, true},
		{"excluding contents, not dir, allows re-include", "a/*\n!a/keep\n", "a/keep", false, false},
		{"excluding contents still ignores siblings", "a/*\n!a/keep\n", "a/drop", false, true},
		{"re-including parent dir rescues children", "a/\n!a/\n", "a/x", false, false},
	})
}

func TestExcludedDirectoryExcludesEverythingBelow(t *testing.T) {
	runCases(t, []matchCase{
		{"file below dir matched by name", "node_modules\n", "node_modules/x/y.js", false, true},
		{"file below dir matched by anchored path", "/out\n", "out/sub/f", false, true},
		{"nested dir matched by basename excludes its files", "cache\n", "a/cache/f", false, true},
		{"file-looking pattern that matches a dir excludes its files", "*.d\n", "x.d/f", false, true},
		{"sibling with common prefix is not below", "out\n", "outside/f", false, false},
	})
}

func TestTrailingSlashMatchesOnlyDirectories(t *testing.T) {
	runCases(t, []matchCase{
		{"matches directory", "logs/\n", "logs", true, true},
		{"does not match file of same name", "logs/\n", "logs", false, false},
		{"matches nested directory", "logs/\n", "a/logs", true, true},
		{"matches file inside directory via parent", "logs/\n", "logs/x", false, true},
		{"negated dir-only pattern leaves file ignored", "logs\n!logs/\n", "logs", false, true},
		{"negated dir-only pattern re-includes dir", "logs\n!logs/\n", "logs", true, false},
		{"anchored dir-only", "/a/b/\n", "a/b", true, true},
		{"anchored dir-only skips file", "/a/b/\n", "a/b", false, false},
	})
}

func TestSlashAnchorsPatternToRoot(t *testing.T) {
	runCases(t, []matchCase{
		{"leading slash matches at root", "/todo.txt\n", "todo.txt", false, true},
		{"leading slash does not match deeper", "/todo.txt\n", "docs/todo.txt", false, false},
		{"middle slash matches from root", "docs/a.txt\n", "docs/a.txt", false, true},
		{"middle slash does not match deeper", "docs/a.txt\n", "x/docs/a.txt", false, false},
		{"anchored glob stays at its depth", "docs/*.txt\n", "docs/sub/a.txt", false, false},
		{"anchored star matches one level", "/*.txt\n", "a.txt", false, true},
		{"anchored star does not match deeper", "/*.txt\n", "d/a.txt", false, false},
		{"escaped slash still anchors", `docs\/a`, "x/docs/a", false, false},
		{"escaped slash separates", `docs\/a`, "docs/a", false, true},
	})
}

func TestPatternWithoutSlashMatchesAtAnyDepth(t *testing.T) {
	runCases(t, []matchCase{
		{"matches at root", "*.tmp\n", "a.tmp", false, true},
		{"matches deep", "*.tmp\n", "a/b/c/d.tmp", false, true},
		{"matches basename only", "b\n", "a/b", false, true},
		{"does not match inner component of file path as file", "b*.c\n", "bx/a.c", false, false},
		{"literal name matches deep directory", "vendor\n", "x/vendor", true, true},
	})
}

func TestStarDoesNotCrossSlash(t *testing.T) {
	runCases(t, []matchCase{
		{"star matches within segment", "a*z\n", "abcz", false, true},
		{"star matches empty", "a*z\n", "az", false, true},
		{"star in anchored pattern does not span dirs", "a/*/z\n", "a/b/c/z", false, false},
		{"star in anchored pattern matches one dir", "a/*/z\n", "a/b/z", false, true},
		{"star backtracks", "*ab*ab\n", "xabyabab", false, true},
		{"star needs suffix", "*.go\n", "main.go.txt", false, false},
		{"runs of stars inside segment act as one star", "a**z\n", "a/z", false, false},
	})
}

func TestQuestionMarkMatchesOneNonSlashChar(t *testing.T) {
	runCases(t, []matchCase{
		{"matches one char", "a?c\n", "abc", false, true},
		{"does not match zero chars", "a?c\n", "ac", false, false},
		{"does not match two chars", "a?c\n", "abbc", false, false},
		{"does not match slash", "a?c\n", "a/c", false, false},
		{"matches one multibyte char", "a?c\n", "aéc", false, true},
	})
}

func TestCharacterClasses(t *testing.T) {
	runCases(t, []matchCase{
		{"set member", "[abc].txt\n", "b.txt", false, true},
		{"set non-member", "[abc].txt\n", "d.txt", false, false},
		{"range member", "f[0-9]\n", "f7", false, true},
		{"range non-member", "f[0-9]\n", "fx", false, false},
		{"bang negates", "f[!0-9]\n", "fx", false, true},
		{"bang negation excludes member", "f[!0-9]\n", "f7", false, false},
		{"caret negates", "f[^0-9]\n", "fx", false, true},
		{"caret negation excludes member", "f[^0-9]\n", "f7", false, false},
		{"close bracket first is member", "[]]\n", "]", false, true},
		{"close bracket after bang is member", "[!]]\n", "]", false, false},
		{"dash at edge is literal", "[a-]\n", "-", false, true},
		{"dash at start is literal", "[-a]\n", "-", false, true},
		{"escaped close bracket is member", `[\]x]`, "]", false, true},
		{"escaped dash is not a range", `[a\-z]`, "m", false, false},
		{"reversed range matches nothing", "[z-a]\n", "m", false, false},
		{"named class", "[[:digit:]]x\n", "5x", false, true},
		{"named class non-member", "[[:digit:]]x\n", "ax", false, false},
		{"negated class never matches slash", "a[!b]c\n", "a/c", false, false},
		{"class matches multibyte char", "[é]\n", "é", false, true},
	})
}

func TestMalformedClassIsLiteral(t *testing.T) {
	runCases(t, []matchCase{
		{"unterminated class is literal bracket", "[a\n", "[a", false, true},
		{"unterminated class does not act as class", "[a\n", "a", false, false},
		{"lone bracket is literal", "x[\n", "x[", false, true},
		{"empty-looking class is unterminated", "[]\n", "[]", false, true},
		{"unknown named class leaves outer bracket literal", "[[:nope:]]\n", "[n]", false, true},
		{"unknown named class is not a named class", "[[:nope:]]\n", "n", false, false},
		{"bracket inside class is a member", "[a[]\n", "[", false, true},
	})
}

func TestBackslashEscapesWildcards(t *testing.T) {
	runCases(t, []matchCase{
		{"escaped star is literal", `a\*`, "a*", false, true},
		{"escaped star does not wildcard", `a\*`, "ab", false, false},
		{"escaped question mark is literal", `a\?`, "a?", false, true},
		{"escaped question mark does not wildcard", `a\?`, "ab", false, false},
		{"escaped bracket is literal", `\[ab]`, "[ab]", false, true},
		{"escaped bracket does not form class", `\[ab]`, "a", false, false},
		{"escaped ordinary char is itself", `\a`, "a", false, true},
		{"escaped stars are not a globstar", `a/\*\*/b`, "a/x/y/b", false, false},
	})
}

func TestTrailingBackslashPatternMatchesNothing(t *testing.T) {
	runCases(t, []matchCase{
		{"dangling backslash pattern is dropped", `foo\`, `foo\`, false, false},
		{"dangling backslash pattern does not match stem", `foo\`, "foo", false, false},
		{"other lines still apply", "foo\\\nbar\n", "bar", false, true},
	})
}

func TestLeadingDoubleStarMatchesInAllDirectories(t *testing.T) {
	runCases(t, []matchCase{
		{"matches at root", "**/foo\n", "foo", false, true},
		{"matches deep", "**/foo\n", "a/b/foo", false, true},
		{"with following path matches at root", "**/foo/bar\n", "foo/bar", false, true},
		{"with following path matches deep", "**/foo/bar\n", "x/y/foo/bar", false, true},
		{"with following path needs the parent", "**/foo/bar\n", "x/bar", false, false},
		{"leading slash variant", "/**/foo\n", "a/foo", false, true},
	})
}

func TestTrailingDoubleStarMatchesEverythingInside(t *testing.T) {
	runCases(t, []matchCase{
		{"matches direct child", "abc/**\n", "abc/x", false, true},
		{"matches deep descendant", "abc/**\n", "abc/x/y/z", false, true},
		{"does not match the dir itself", "abc/**\n", "abc", true, false},
		{"does not match other dirs", "abc/**\n", "abd/x", false, false},
		{"is anchored", "abc/**\n", "q/abc/x", false, false},
		{"contents can be re-included", "abc/**\n!abc/keep\n", "abc/keep", false, false},
		{"double star alone matches everything", "**\n", "a/b", false, true},
		{"double star pair matches a root file", "**/**\n", "a", false, true},
	})
}

func TestMiddleDoubleStarMatchesZeroOrMoreDirectories(t *testing.T) {
	runCases(t, []matchCase{
		{"zero dirs", "a/**/b\n", "a/b", false, true},
		{"one dir", "a/**/b\n", "a/x/b", false, true},
		{"many dirs", "a/**/b\n", "a/x/y/z/b", false, true},
		{"needs the tail segment", "a/**/b\n", "a/x/c", false, false},
		{"does not glue partial names", "a/**/b\n", "a/xb", false, false},
		{"several double stars", "a/**/b/**/c\n", "a/1/b/2/3/c", false, true},
		{"several double stars with zero dirs", "a/**/b/**/c\n", "a/b/c", false, true},
		{"backtracks past false tail", "a/**/b/c\n", "a/b/x/b/c", false, true},
		{"three stars between slashes act as globstar", "a/***/b\n", "a/x/y/b", false, true},
	})
}

func TestDoubleStarNotBetweenSlashesActsLikeStar(t *testing.T) {
	runCases(t, []matchCase{
		{"prefix double star stays in segment", "**foo\n", "xfoo", false, true},
		{"prefix double star in anchored pattern cannot span dirs", "/**foo\n", "a/xfoo", false, false},
		{"inner double star cannot span dirs", "a/b**c\n", "a/b/c", false, false},
		{"inner double star matches within segment", "a/b**c\n", "a/bxyc", false, true},
		{"suffix double star matches within segment", "a/b**\n", "a/bcd", false, true},
	})
}

func TestNilAndEmptyMatcherMatchNothing(t *testing.T) {
	var nilM *Matcher
	if nilM.Match("a", false) {
		t.Error("nil Matcher matched a file")
	}
	empty, err := Parse(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "a/b", ".git", ""} {
		if empty.Match(p, true) || empty.Match(p, false) {
			t.Errorf("empty Matcher matched %q", p)
		}
		if (&Matcher{}).Match(p, false) {
			t.Errorf("zero Matcher matched %q", p)
		}
	}
	comments, _ := Parse(strings.NewReader("# only\n\n#comments\n"))
	if comments.Match("only", false) {
		t.Error("comment-only Matcher matched")
	}
}

func TestTrailingSlashInPathMeansDirectory(t *testing.T) {
	runCases(t, []matchCase{
		{"path with trailing slash meets directory-only pattern", "logs/\n", "logs/", false, true},
		{"nested path with trailing slash meets directory-only pattern", "*/\n", "a/b/", false, true},
		{"trailing slash on unmatched name stays unmatched", "logs/\n", "other/", false, false},
	})
}

func TestEmptyPathMatchesNothing(t *testing.T) {
	m, _ := Parse(strings.NewReader("*\n**\n"))
	if m.Match("", true) {
		t.Error("empty path (the root itself) must never be ignored")
	}
}

func TestLoadMissingFileMatchesNothing(t *testing.T) {
	m, err := Load(t.TempDir())
	if err != nil {
		t.Fatalf("Load on dir without .skillignore: %v", err)
	}
	if m == nil {
		t.Fatal("Load returned nil Matcher")
	}
	if m.Match("anything", false) {
		t.Error("missing .skillignore matched a path")
	}
}

func TestLoadReadsSkillignore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".skillignore"), []byte("*.bak\n!keep.bak\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{{"x.bak", true}, {"d/x.bak", true}, {"keep.bak", false}, {"x.txt", false}} {
		if got := m.Match(tc.path, false); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestLoadReportsUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	// A directory named .skillignore exists but cannot be read as a file;
	// that must surface rather than silently ignoring nothing.
	if err := os.Mkdir(filepath.Join(dir, ".skillignore"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load succeeded on an unreadable .skillignore")
	}
}

type failingReader struct{}

var errBoom = errors.New("boom")

func (failingReader) Read([]byte) (int, error) { return 0, errBoom }

func TestParseReportsReadError(t *testing.T) {
	if _, err := Parse(failingReader{}); !errors.Is(err, errBoom) {
		t.Errorf("Parse error = %v, want wrapping %v", err, errBoom)
	}
}

func TestParseAcceptsVeryLongLine(t *testing.T) {
	long := strings.Repeat("a", 200_000)
	m, err := Parse(strings.NewReader(long + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Match("d/"+long, false) {
		t.Error("long pattern did not match its own name")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("*.log\n!keep.log\nbuild/\n", "build/keep.log", false)
	f.Add("a/**/b\n**/c/**\n", "a/x/b/c/d", true)
	f.Add("[a\n[!]-z]\n[[:alpha:]]\n\\", "[a/]", false)
	f.Add("\xef\xbb\xbf#c\r\n\\!x \\ \r\n/***/", "!x /y", true)
	f.Add("**/**/**/**/**/*a", strings.Repeat("b/", 40)+"a", false)
	f.Fuzz(func(t *testing.T, patterns, path string, isDir bool) {
		m, err := Parse(strings.NewReader(patterns))
		if err != nil {
			t.Fatalf("Parse failed on in-memory input: %v", err)
		}
		got := m.Match(path, isDir)
		// The parent rule must hold for any input: once a directory is
		// ignored, nothing below it can come back.
		if i := strings.LastIndexByte(path, '/'); i > 0 && !got && m.Match(path[:i], true) {
			t.Errorf("Match(%q) = false although parent %q is ignored", path, path[:i])
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	m, _ := Parse(strings.NewReader("*.log\n!keep.log\nbuild/\n/dist\n**/node_modules/**\ndocs/**/*.tmp\n[Tt]humbs.db\n"))
	b.ReportAllocs()
	for b.Loop() {
		m.Match("src/pkg/sub/module/file.go", false)
	}
}
