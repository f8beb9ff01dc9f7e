package install

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/records"
)

// RemoveRequest removes one recorded install, or only some agents from it.
type RemoveRequest struct {
	Record *records.Install
	// Clients to drop; empty means all. The folder goes only when no
	// recorded agent is left.
	Clients []string
	// AllowedDirs are the skills folders the record's agents read in its
	// scope; the folder must sit directly inside one of them.
	AllowedDirs []string
	Home        string
	Force       bool // also delete files skilldock did not install
}

// RemoveOutcome says what happened.
type RemoveOutcome struct {
	Path    string   `json:"path"`
	Removed bool     `json:"removed"` // the folder was deleted
	Clients []string `json:"clients"` // agents still recorded
}

// Uninstall removes what skilldock installed and nothing else.
func (in *Installer) Uninstall(ctx context.Context, req RemoveRequest) (RemoveOutcome, error) {
	unlock, err := in.lock()
	if err != nil {
		return RemoveOutcome{}, err
	}
	defer unlock()
	if err := in.reconcile(ctx); err != nil {
		return RemoveOutcome{}, err
	}
	rec, err := in.db.Get(ctx, req.Record.Path)
	if err != nil {
		return RemoveOutcome{}, err
	}
	remaining := []string{}
	if len(req.Clients) > 0 {
		drop := map[string]bool{}
		for _, c := range req.Clients {
			drop[c] = true
		}
		for _, c := range rec.Clients {
			if !drop[c] {
				remaining = append(remaining, c)
			}
		}
		if len(remaining) > 0 {
			rec.Clients = remaining
			return RemoveOutcome{Path: rec.Path, Clients: remaining}, in.db.Put(ctx, *rec)
		}
	}
	if err := in.checkRemovable(rec, req); err != nil {
		return RemoveOutcome{}, err
	}
	if _, err := os.Lstat(rec.Path); err == nil {
		if !req.Force {
			d, err := Compare(rec.Path, rec.Files)
			if err != nil {
				return RemoveOutcome{}, err
			}
			if len(d.Extra) > 0 {
				return RemoveOutcome{}, errdef.Errorf(errdef.ErrInvalid, "%s holds files skilldock did not install (%s); move them away or use --force", rec.Path, d.Extra[0])
			}
		}
		if err := in.db.BeginIntent(ctx, records.Intent{Path: rec.Path, Action: "uninstall", Record: *rec}); err != nil {
			return RemoveOutcome{}, err
		}
		stage, release, err := newStage(filepath.Dir(rec.Path))
		if err != nil {
			in.db.ClearIntent(ctx, rec.Path)
			return RemoveOutcome{}, err
		}
		defer release()
		// The folder disappears in one rename; deleting its contents happens
		// out of the agent's sight.
		if err := os.Rename(rec.Path, filepath.Join(stage, "old")); err != nil {
			in.db.ClearIntent(ctx, rec.Path)
			return RemoveOutcome{}, fmt.Errorf("removing %s: %w", rec.Path, err)
		}
		if err := syncDir(filepath.Dir(rec.Path)); err != nil {
			return RemoveOutcome{}, err
		}
	}
	if err := in.db.CommitUninstall(ctx, rec.Path); err != nil {
		return RemoveOutcome{}, err
	}
	return RemoveOutcome{Path: rec.Path, Removed: true, Clients: remaining}, nil
}

// checkRemovable refuses anything but a real folder directly inside one of
// the agents' skills folders, named after the skill, and never $HOME.
func (in *Installer) checkRemovable(rec *records.Install, req RemoveRequest) error {
	p := filepath.Clean(rec.Path)
	if p == filepath.Clean(req.Home) || p == "/" {
		return errdef.Errorf(errdef.ErrInvalid, "refusing to remove %s: it is the home folder", p)
	}
	if filepath.Base(p) != rec.Name || !safeName.MatchString(rec.Name) {
		return errdef.Errorf(errdef.ErrInvalid, "refusing to remove %s: the folder is not named after the skill %q", p, rec.Name)
	}
	inside := false
	for _, d := range req.AllowedDirs {
		if filepath.Dir(p) == filepath.Clean(d) {
			inside = true
		}
	}
	if !inside {
		return errdef.Errorf(errdef.ErrInvalid, "refusing to remove %s: it is not inside an agent's skills folder", p)
	}
	if info, err := os.Lstat(p); err == nil && info.Mode()&fs.ModeSymlink != 0 {
		return errdef.Errorf(errdef.ErrInvalid, "refusing to remove %s: it is a symbolic link", p)
	}
	return nil
}
