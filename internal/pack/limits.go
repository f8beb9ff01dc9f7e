package pack

import (
	"github.com/skilldock/skilldock/internal/units"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/skill"
)

// Limits bound what one skill may hold.
type Limits struct {
	MaxFiles     int
	MaxTotalSize int64
	MaxFileSize  int64
}

// DefaultLimits keep a skill comfortably below what registries and agents
// handle well.
func DefaultLimits() Limits {
	return Limits{MaxFiles: 1000, MaxTotalSize: 95 << 20, MaxFileSize: 50 << 20}
}

// Check refuses a file list that breaks a limit, naming the file concerned.
func (l Limits) Check(files []skill.File) error {
	if l.MaxFiles > 0 && len(files) > l.MaxFiles {
		return errdef.Errorf(errdef.ErrLimit, "the skill has %d files; the limit is %d (raise it with --max-files or list files in .skillignore)", len(files), l.MaxFiles)
	}
	var total int64
	for _, f := range files {
		if l.MaxFileSize > 0 && f.Size > l.MaxFileSize {
			return errdef.Errorf(errdef.ErrLimit, "%s is %s; the limit per file is %s (raise it with --max-file-size or list it in .skillignore)", f.Path, units.Human(f.Size), units.Human(l.MaxFileSize))
		}
		total += f.Size
		if l.MaxTotalSize > 0 && total > l.MaxTotalSize {
			return errdef.Errorf(errdef.ErrLimit, "the skill's files exceed %s in total at %s (raise it with --max-total-size or list files in .skillignore)", units.Human(l.MaxTotalSize), f.Path)
		}
	}
	return nil
}
