package ignore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Only the root file counts; nested ignore files are deliberately unsupported.
const fileName = ".skillignore"

// Matcher holds the compiled patterns of one ignore file. The zero value and
// a nil *Matcher match nothing.
type Matcher struct {
	rules []rule
}

// rule is one compiled pattern line.
type rule struct {
	negate   bool
	dirOnly  bool
	anchored bool
	segs     []segment
}

// Parse reads gitignore-syntax patterns. It never fails on odd patterns: a
// malformed class like "[a" is treated literally. Only read errors are
// returned.
func Parse(r io.Reader) (*Matcher, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("ignore: read patterns: %w", err)
	}
	return parseBytes(data), nil
}

// Load reads DIR/.skillignore; a missing file gives a Matcher that matches
// nothing (not an error).
func Load(dir string) (*Matcher, error) {
	data, err := os.ReadFile(filepath.Join(dir, fileName))
	if errors.Is(err, fs.ErrNotExist) {
		return &Matcher{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ignore: %w", err)
	}
	return parseBytes(data), nil
}

func parseBytes(data []byte) *Matcher {
	// Editors on Windows like to prepend a BOM; git skips it too, and without
	// this the first pattern would silently never match.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	m := &Matcher{}
	for _, line := range strings.Split(string(data), "\n") {
		if r, ok := compileLine(line); ok {
			m.rules = append(m.rules, r)
		}
	}
	return m
}

// compileLine turns one line into a rule; ok is false for lines that can
// never match anything (blank, comment, or unusable patterns).
func compileLine(line string) (rule, bool) {
	line = strings.TrimSuffix(line, "\r")
	if line == "" || line[0] == '#' {
		return rule{}, false
	}
	line = trimTrailingSpaces(line)
	if line == "" {
		return rule{}, false
	}
	var r rule
	if line[0] == '!' {
		r.negate = true
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		r.dirOnly = true
		line = line[:len(line)-1]
	}
	if line == "" {
		return rule{}, false
	}
	// git decides anchoring on the raw text, so an escaped or bracketed
	// slash still anchors; doing the same keeps edge cases git-compatible.
	r.anchored = strings.Contains(line, "/")
	line = strings.TrimPrefix(line, "/")
	segs, ok := compileGlob(line)
	if !ok {
		return rule{}, false
	}
	r.segs = segs
	return r, true
}

// trimTrailingSpaces drops unescaped trailing spaces. A backslash protects
// the character after it, so "a\ " keeps its space while "a\\ " does not.
func trimTrailingSpaces(s string) string {
	cut := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if cut < 0 {
				cut = i
			}
		case '\\':
			i++
			if i >= len(s) {
				// A dangling backslash makes the pattern unusable
				// anyway; leave the text alone for compileGlob to reject.
				return s
			}
			cut = -1
		default:
			cut = -1
		}
	}
	if cut >= 0 {
		return s[:cut]
	}
	return s
}

// Match reports whether the slash-separated path relative to the root (no
// leading "/", no "./") is ignored. isDir says whether the path names a
// directory. A path below an ignored directory is always ignored, because git
// never looks inside an excluded directory and so cannot re-include anything
// in it.
func (m *Matcher) Match(relPath string, isDir bool) bool {
	if m == nil || len(m.rules) == 0 {
		return false
	}
	// A fixed-size backing array keeps typical paths allocation-free.
	var buf [32]string
	segs := buf[:0]
	for rest := relPath; rest != ""; {
		s, after, _ := strings.Cut(rest, "/")
		rest = after
		// Tolerate a trailing or doubled slash rather than letting an empty
		// segment defeat every pattern.
		if s != "" {
			segs = append(segs, s)
		}
	}
	// "dir/" names a directory whatever isDir says; treating it as a file
	// would let it escape a directory-only pattern that ignores "dir".
	if strings.HasSuffix(relPath, "/") {
		isDir = true
	}
	for k := 1; k <= len(segs); k++ {
		if m.ignored(segs[:k], k < len(segs) || isDir) {
			return true
		}
	}
	return false
}

// ignored applies the rules to one path without considering its ancestors.
func (m *Matcher) ignored(segs []string, isDir bool) bool {
	// Last matching pattern wins, so scanning backwards can stop early.
	for i := len(m.rules) - 1; i >= 0; i-- {
		r := &m.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		target := segs
		if !r.anchored {
			target = segs[len(segs)-1:]
		}
		if matchSegments(r.segs, target) {
			return !r.negate
		}
	}
	return false
}
