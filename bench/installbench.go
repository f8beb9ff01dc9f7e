package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/skilldock/skilldock/internal/service"
)

// installSamples are "skilldock install" of a stored build and "cp -r" of the
// same files, one per round.
type installSamples struct {
	Install, Copy []timing
	RSS           []int64
}

// benchInstall installs the stored skill for Claude Code, with HOME in a
// folder of the benchmark's, beside "cp -r" of the skill's source folder:
// the least a person would do to put those files there. Each timed install
// is a new one (the previous round's is uninstalled, untimed), into a home
// whose records database already exists, as on a machine in use; each copy
// goes to a folder that does not exist yet. Who goes first alternates.
func benchInstall(ctx context.Context, cfg config, t *tools, ss *storedSkill, scratch string) (*installSamples, error) {
	s := &installSamples{}
	home := filepath.Join(scratch, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	for round := 0; round <= cfg.runs; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var inst, cp procResult
		steps := []func() error{
			func() (err error) { inst, err = installAndCheck(ctx, t, ss, home, ss.store); return err },
			func() (err error) { cp, err = copyAndCheck(ctx, t, ss.sk, filepath.Join(scratch, "cp")); return err },
		}
		if round%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, f := range steps {
			if err := f(); err != nil {
				return nil, err
			}
		}
		if err := uninstall(ctx, t, home); err != nil {
			return nil, err
		}
		progress("round %d/%d: install %s, cp -r %s", round, cfg.runs, inst.Elapsed.Wall.Round(time.Millisecond), cp.Elapsed.Wall.Round(time.Millisecond))
		if round > 0 {
			s.Install, s.Copy = append(s.Install, inst.Elapsed), append(s.Copy, cp.Elapsed)
			s.RSS = append(s.RSS, inst.MaxRSS)
		}
	}
	return s, nil
}

// installAndCheck runs "skilldock install TAG --client claude-code" with
// HOME=home and checks every file of the skill arrived.
func installAndCheck(ctx context.Context, t *tools, ss *storedSkill, home, store string) (procResult, error) {
	pr, err := t.run(ctx, proc{path: t.bin, home: home, args: []string{
		"install", ss.tag, "--store", store, "--client", "claude-code", "--output", "json"}})
	if err != nil {
		return pr, err
	}
	var out service.InstallResult
	if err := json.Unmarshal(pr.Stdout, &out); err != nil || len(out.Installs) != 1 || out.Installs[0].Action != "installed" {
		return pr, fmt.Errorf("skilldock install printed %q; want one new install", pr.Stdout)
	}
	return pr, sameTree(ss.sk, out.Installs[0].Path)
}

func uninstall(ctx context.Context, t *tools, home string) error {
	_, err := t.run(ctx, proc{path: t.bin, home: home, args: []string{"uninstall", benchSkillName, "--output", "json"}})
	return err
}

// copyAndCheck runs "cp -r SRC DST" into a DST that does not exist yet,
// checks the copy, and removes it.
func copyAndCheck(ctx context.Context, t *tools, sk *genSkill, dst string) (procResult, error) {
	pr, err := t.run(ctx, proc{path: "cp", args: []string{"-r", sk.Dir, dst}})
	if err != nil {
		return pr, err
	}
	if err := sameTree(sk, dst); err != nil {
		return pr, err
	}
	return pr, os.RemoveAll(dst)
}

// sameTree checks dir holds as many files and bytes as the generated skill,
// so a fast incomplete install cannot pass for a fast one.
func sameTree(sk *genSkill, dir string) error {
	var files int
	var bytes int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	if err != nil {
		return err
	}
	if files != len(sk.Files) || bytes != sk.Bytes {
		return fmt.Errorf("%s holds %d files, %d bytes; the skill has %d files, %d bytes", dir, files, bytes, len(sk.Files), sk.Bytes)
	}
	return nil
}
