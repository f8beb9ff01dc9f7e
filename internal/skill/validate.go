package skill

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/skilldock/skilldock/internal/errdef"
)

// MaxBodyLines is the specification's advice for SKILL.md length.
const MaxBodyLines = 500

// Report is the outcome of checking a skill folder.
type Report struct {
	Valid    bool    `json:"valid"`
	Errors   []Issue `json:"errors"`
	Warnings []Issue `json:"warnings"`
}

// Checked is a validated folder: its report, what it declares and its files.
type Checked struct {
	Root     string // absolute path of the folder
	Report   Report
	Metadata Metadata
	Files    []File // archive order; empty when the folder could not be listed
}

// Check applies every rule of the Agent Skills specification to a folder.
// The returned error is for folders that cannot be examined at all (missing,
// not a folder); rule violations are in the report.
func Check(dir string) (*Checked, error) {
	return CheckContext(context.Background(), dir)
}

// CheckContext is Check that stops, returning ctx's error, once ctx ends:
// it looks at ctx before each entry of the folder and each block of
// SKILL.md. (Each directory's listing is read whole before its entries are
// visited, so one directory of millions of entries is read to its end.)
func CheckContext(ctx context.Context, dir string) (*Checked, error) {
	root, err := statRoot(dir)
	if err != nil {
		return nil, errdef.New(errdef.ErrInvalid, err.Error())
	}
	c := &Checked{Root: root}
	var errs, warns []Issue

	files, fileIssues, err := listFiles(ctx, root)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("checking skill folder %s: %w", dir, ctx.Err())
		}
		return nil, errdef.Errorf(errdef.ErrInvalid, "cannot read skill folder %s: %s", dir, errText(err))
	}
	c.Files = files
	errs = append(errs, fileIssues...)

	md, mdErrs, mdWarns, err := checkSkillMD(ctx, filepath.Join(root, ManifestFile))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("checking skill folder %s: %w", dir, ctx.Err())
	}
	if err != nil {
		errs = append(errs, Issue{ManifestFile, err.Error()})
	} else {
		errs = append(errs, mdErrs...)
		warns = append(warns, mdWarns...)
		c.Metadata = md
		if md.Name != "" && md.Name != filepath.Base(root) {
			errs = append(errs, Issue{"name", fmt.Sprintf("name %q must equal the folder's name %q (rename one of them)", md.Name, filepath.Base(root))})
		}
	}
	c.Report = Report{Valid: len(errs) == 0, Errors: nonNil(errs), Warnings: nonNil(warns)}
	return c, nil
}

func checkSkillMD(ctx context.Context, path string) (Metadata, []Issue, []Issue, error) {
	info, err := os.Lstat(path)
	if err != nil {
		return Metadata{}, nil, nil, errors.New("no SKILL.md in the folder; a skill needs a SKILL.md with YAML frontmatter at its root")
	}
	if !info.Mode().IsRegular() {
		return Metadata{}, nil, nil, errors.New("SKILL.md must be a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return Metadata{}, nil, nil, fmt.Errorf("cannot read SKILL.md: %s", errText(err))
	}
	defer f.Close()
	br := bufio.NewReader(f)
	front, err := SplitFrontmatter(br)
	if err != nil {
		return Metadata{}, nil, nil, err
	}
	md, errs, warns := DecodeFrontmatter(front)
	lines := countLines(front) + 2
	rest, err := countLinesReader(ctx, br)
	if err != nil {
		return md, errs, warns, fmt.Errorf("cannot read SKILL.md: %s", errText(err))
	}
	if lines += rest; lines > MaxBodyLines {
		warns = append(warns, Issue{ManifestFile, fmt.Sprintf("SKILL.md has %d lines; keep it under %d and move detail into referenced files", lines, MaxBodyLines)})
	}
	return md, errs, warns, nil
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

func countLinesReader(ctx context.Context, r io.Reader) (int, error) {
	buf := make([]byte, 32<<10)
	n, last := 0, byte('\n')
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf)
		if k > 0 {
			n += countLines(buf[:k])
			last = buf[k-1]
		}
		if err == io.EOF {
			if last != '\n' {
				n++
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func nonNil(s []Issue) []Issue {
	if s == nil {
		return []Issue{}
	}
	return s
}
