package cli

import (
	"path/filepath"
	"strings"
)

// absPath makes a folder argument absolute in the CLI's own working
// directory, so it means the same thing when a server does the work.
func absPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if strings.HasPrefix(p, "~/") {
		return p // the service expands nothing; leave it for its error
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// looksLikePath reports whether an install source names a folder rather
// than a tag or a registry reference.
func looksLikePath(s string) bool {
	return s == "." || s == ".." || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
}
