package skill

import (
	"fmt"
	"strings"

	"github.com/skilldock/skilldock/internal/ref"
)

// RequiresKey is the metadata key under which a skill declares the skills
// it depends on, one registry reference per line. The Agent Skills
// specification leaves extensions to metadata, and ToolHive reads
// dependencies from this key, so skilldock does too.
const RequiresKey = "toolhive.requires"

// A skill may declare at most MaxRequires dependencies of at most
// MaxRequireLen bytes each: readers of artifacts keep no more, so a build
// refuses what they would drop.
const (
	MaxRequires   = 256
	MaxRequireLen = 512
)

// requiresField names the declaration in issues.
const requiresField = "metadata." + RequiresKey

// decodeRequires reads the declared dependencies: each non-blank line,
// trimmed, must be a registry reference with a tag or a digest. A line
// repeated is dropped with a warning, so each dependency is recorded once,
// in the order first declared.
func decodeRequires(value string) (requires []string, errs, warns []Issue) {
	seen := map[string]int{}
	for i, line := range strings.Split(value, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > MaxRequireLen {
			errs = append(errs, Issue{requiresField, fmt.Sprintf("dependency on line %d is %d bytes long; the limit is %d", n, len(line), MaxRequireLen)})
			continue
		}
		if _, err := ref.ParseVersioned(line); err != nil {
			errs = append(errs, Issue{requiresField, fmt.Sprintf("dependency on line %d: %s, one per line", n, err)})
			continue
		}
		if first, ok := seen[line]; ok {
			warns = append(warns, Issue{requiresField, fmt.Sprintf("dependency on line %d: %s is already required on line %d; the repeat is ignored", n, line, first)})
			continue
		}
		seen[line] = n
		requires = append(requires, line)
	}
	if len(requires) > MaxRequires {
		errs = append(errs, Issue{requiresField, fmt.Sprintf("dependency on line %d is one of %d; a skill may require at most %d", seen[requires[MaxRequires]], len(requires), MaxRequires)})
	}
	return requires, errs, warns
}
