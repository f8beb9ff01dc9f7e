package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/extract"
	"github.com/skilldock/skilldock/internal/records"
)

// safeName is the specification's name grammar. A name from a registry is
// used as a folder name, so it is checked here again whatever the caller did.
var safeName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Installer installs and uninstalls skill folders and keeps the records.
type Installer struct {
	db       *records.DB
	lockPath string
}

// New returns an installer journalling into db. Installs from all processes
// serialise on a lock file beside the database while they swap folders and
// write records; extraction, the slow part, runs outside it.
func New(db *records.DB) *Installer {
	return &Installer{db: db, lockPath: filepath.Join(filepath.Dir(db.Path()), "install.lock")}
}

// Target is one skills folder and the agents that read it.
type Target struct {
	Base      string // home folder or project root: nothing above it is created
	SkillsDir string
	Clients   []string
}

// Request is one skill to install into one or more targets.
type Request struct {
	Name, Version, Description string
	Source, Digest             string
	Requires                   []string // recorded only; never installed here
	Scope, ProjectRoot         string
	Targets                    []Target
	OpenLayer                  func() (io.ReadCloser, error)
	LayerSize                  int64
	Limits                     extract.Limits
	Force                      bool
}

// Outcome is what happened at one target.
type Outcome struct {
	Path    string   `json:"path"`
	Clients []string `json:"clients"`
	Action  string   `json:"action"` // installed, replaced, unchanged
}

// Install extracts the layer once per target (each into a staging folder
// beside it) and swaps it into place. Targets are independent: an error at
// one leaves the ones before it installed and reported.
func (in *Installer) Install(ctx context.Context, req Request) ([]Outcome, error) {
	if !safeName.MatchString(req.Name) || len(req.Name) > 64 {
		return nil, errdef.Errorf(errdef.ErrInvalid, "refusing to install a skill named %q: names must be 1-64 lowercase letters, digits and single hyphens", req.Name)
	}
	var out []Outcome
	for _, t := range req.Targets {
		o, err := in.installOne(ctx, req, t)
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (in *Installer) installOne(ctx context.Context, req Request, t Target) (Outcome, error) {
	target := filepath.Join(t.SkillsDir, req.Name)
	if err := ensureDirNoSymlinks(t.Base, t.SkillsDir); err != nil {
		return Outcome{}, err
	}
	if info, err := os.Lstat(target); err == nil && info.Mode()&fs.ModeSymlink != 0 {
		return Outcome{}, errdef.Errorf(errdef.ErrInvalid, "%s is a symbolic link; skilldock does not replace links (remove it first)", target)
	}
	// Cheap early answer for the common repeat install, before extracting.
	unlock, err := in.lock()
	if err != nil {
		return Outcome{}, err
	}
	// Reconcile first: a run killed after its swap leaves a record that no
	// longer says what is on disk, and answering "unchanged" from it would
	// leave the wrong version in place.
	err = in.reconcile(ctx)
	var prev *records.Install
	if err == nil {
		prev, err = in.existing(ctx, target)
	}
	unlock()
	if err != nil {
		return Outcome{}, err
	}
	if prev != nil && prev.Digest == req.Digest && !req.Force && dirExists(target) {
		return in.addClients(ctx, prev, t.Clients, req.Requires)
	}

	stage, release, err := newStage(t.SkillsDir)
	if err != nil {
		return Outcome{}, err
	}
	defer release()
	if err := os.Mkdir(filepath.Join(stage, "new"), 0o755); err != nil {
		return Outcome{}, err
	}
	rc, err := req.OpenLayer()
	if err != nil {
		return Outcome{}, err
	}
	res, err := extract.Extract(rc, req.LayerSize, filepath.Join(stage, "new"), req.Limits)
	rc.Close()
	if err != nil {
		return Outcome{}, err
	}
	newRoot := filepath.Join(stage, "new", res.Root)
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}

	unlock, err = in.lock()
	if err != nil {
		return Outcome{}, err
	}
	defer unlock()
	if err := in.reconcile(ctx); err != nil {
		return Outcome{}, err
	}
	prev, err = in.existing(ctx, target)
	if err != nil {
		return Outcome{}, err
	}
	info, statErr := os.Lstat(target)
	exists := statErr == nil
	switch {
	case exists && info.Mode()&fs.ModeSymlink != 0:
		return Outcome{}, errdef.Errorf(errdef.ErrInvalid, "%s is a symbolic link; skilldock does not replace links (remove it first)", target)
	case exists && !info.IsDir():
		return Outcome{}, errdef.Errorf(errdef.ErrAlreadyExists, "%s exists and is not a folder; remove it first", target)
	case exists && prev == nil && !req.Force:
		return Outcome{}, errdef.Errorf(errdef.ErrAlreadyExists, "%s exists and was not installed by skilldock; use --force to replace it", target)
	case exists && prev != nil && prev.Digest == req.Digest && !req.Force:
		return in.addClients(ctx, prev, t.Clients, req.Requires)
	}

	rec := records.Install{
		Name: req.Name, Version: req.Version, Description: req.Description,
		Scope: req.Scope, ProjectRoot: req.ProjectRoot, Path: target,
		Clients: unionClients(prev, t.Clients), Source: req.Source, Digest: req.Digest,
		InstalledAt: time.Now().UTC(), Requires: req.Requires,
	}
	for _, f := range res.Files {
		rec.Files = append(rec.Files, records.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256, Executable: f.Executable})
	}
	if err := in.db.BeginIntent(ctx, records.Intent{Path: target, Action: "install", Record: rec}); err != nil {
		return Outcome{}, err
	}
	action := "installed"
	if exists {
		// One syscall swaps the folders: the old version lands in the
		// staging folder and is deleted with it.
		if err := exchange(newRoot, target); err != nil {
			in.db.ClearIntent(ctx, target)
			return Outcome{}, fmt.Errorf("replacing %s: %w", target, err)
		}
		action = "replaced"
	} else if err := renameNoReplace(newRoot, target); err != nil {
		in.db.ClearIntent(ctx, target)
		return Outcome{}, fmt.Errorf("installing into %s: %w", target, err)
	}
	if err := syncDir(t.SkillsDir); err != nil {
		return Outcome{}, err
	}
	if err := in.db.CommitInstall(ctx, rec); err != nil {
		return Outcome{}, fmt.Errorf("%s is installed but recording it failed (the next skilldock run will reconcile): %w", target, err)
	}
	return Outcome{Path: target, Clients: rec.Clients, Action: action}, nil
}

func (in *Installer) existing(ctx context.Context, target string) (*records.Install, error) {
	rec, err := in.db.Get(ctx, target)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, nil
	}
	return rec, err
}

// addClients records more agents for a folder that already holds this
// digest. The dependencies are recorded again too: a record written before
// they were kept lists none, though the same digest declares them.
func (in *Installer) addClients(ctx context.Context, prev *records.Install, clients, requires []string) (Outcome, error) {
	merged := unionClients(prev, clients)
	if len(merged) != len(prev.Clients) || !slices.Equal(prev.Requires, requires) {
		prev.Clients, prev.Requires = merged, requires
		if err := in.db.Put(ctx, *prev); err != nil {
			return Outcome{}, err
		}
	}
	return Outcome{Path: prev.Path, Clients: merged, Action: "unchanged"}, nil
}

func unionClients(prev *records.Install, add []string) []string {
	set := map[string]bool{}
	if prev != nil {
		for _, c := range prev.Clients {
			set[c] = true
		}
	}
	for _, c := range add {
		set[c] = true
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func dirExists(p string) bool {
	info, err := os.Lstat(p)
	return err == nil && info.IsDir()
}

// lock takes the installer's cross-process lock.
func (in *Installer) lock() (func(), error) {
	f, err := os.OpenFile(in.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// newStage makes a staging folder in skillsDir/.skilldock-staging and holds a
// lock on it until release, so cleanup by other runs can tell a live stage
// from one a killed run left behind. The lock file is made and locked before
// the folder exists, and a cleaner removes the folder before the lock file,
// so a live stage is never seen without its lock held.
func newStage(skillsDir string) (string, func(), error) {
	root := filepath.Join(skillsDir, stagingDir)
	for attempt := 1; ; attempt++ {
		dir, lf, err := tryStage(root)
		if err == nil {
			release := func() {
				os.RemoveAll(dir)
				os.Remove(dir + ".lock")
				lf.Close()
				os.Remove(root) // only succeeds when empty
			}
			return dir, release, nil
		}
		// Another run may remove the empty staging folder, or clean up our
		// lock file before we locked it; both are worth another try, as is
		// a name a dead run's leftover still holds.
		if attempt == 10 || !(errors.Is(err, errStageLost) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist)) {
			return "", nil, err
		}
	}
}

var errStageLost = errors.New("the staging lock was removed by another run")

func tryStage(root string) (string, *os.File, error) {
	if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", nil, err
	}
	info, err := os.Lstat(root)
	if err != nil {
		return "", nil, err // removed by another run's release: try again
	}
	if !info.IsDir() {
		return "", nil, errdef.Errorf(errdef.ErrInvalid, "%s is not a folder; remove it", root)
	}
	cleanStale(root)
	lf, err := os.CreateTemp(root, "stage-*.lock")
	if err != nil {
		return "", nil, err
	}
	if err := flock(lf, syscall.LOCK_EX); err != nil {
		lf.Close()
		os.Remove(lf.Name())
		return "", nil, err
	}
	if !stillLinked(lf) {
		lf.Close()
		return "", nil, errStageLost
	}
	dir := strings.TrimSuffix(lf.Name(), ".lock")
	if err := os.Mkdir(dir, 0o700); err != nil {
		os.Remove(lf.Name())
		lf.Close()
		return "", nil, err
	}
	return dir, lf, nil
}

// cleanStale removes stages whose owner died: their lock is free, or they
// have no lock file at all (a live stage always has one).
func cleanStale(root string) {
	if info, err := os.Lstat(root); err != nil || !info.IsDir() {
		return
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".lock")
		if !strings.HasPrefix(name, "stage-") || seen[name] {
			continue
		}
		seen[name] = true
		dir := filepath.Join(root, name)
		lf, err := os.OpenFile(dir+".lock", os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if errors.Is(err, fs.ErrNotExist) {
			os.RemoveAll(dir)
			continue
		}
		if err != nil {
			continue
		}
		// Holding the lock, and it still being the file at that name, means
		// no run owns the stage and no other cleaner got there first.
		if flock(lf, syscall.LOCK_EX|syscall.LOCK_NB) == nil && stillLinked(lf) {
			os.RemoveAll(dir)
			os.Remove(dir + ".lock")
		}
		lf.Close()
	}
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// stillLinked reports whether f is still the file at its name.
func stillLinked(f *os.File) bool {
	open, err := f.Stat()
	if err != nil {
		return false
	}
	named, err := os.Lstat(f.Name())
	return err == nil && os.SameFile(open, named)
}

// cleanStages removes what killed runs left in the staging folders of every
// skills folder skilldock has installed into, and those folders when empty.
func (in *Installer) cleanStages(ctx context.Context) error {
	list, err := in.db.List(ctx, records.Filter{}, false)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, rec := range list {
		root := filepath.Join(filepath.Dir(rec.Path), stagingDir)
		if done[root] {
			continue
		}
		done[root] = true
		cleanStale(root)
		os.Remove(root) // only succeeds when empty
	}
	return nil
}

// reconcile finishes or drops intents left by killed runs, by looking at
// what is actually on disk. It runs under the installer lock.
func (in *Installer) reconcile(ctx context.Context) error {
	intents, err := in.db.Intents(ctx)
	if err != nil {
		return err
	}
	for _, it := range intents {
		switch it.Action {
		case "install":
			d, err := Compare(it.Path, it.Record.Files)
			if err == nil && d.Clean() {
				err = in.db.CommitInstall(ctx, it.Record)
			} else {
				err = in.db.ClearIntent(ctx, it.Path)
			}
			if err != nil {
				return err
			}
		case "uninstall":
			var err error
			if _, serr := os.Lstat(it.Path); errors.Is(serr, fs.ErrNotExist) {
				err = in.db.CommitUninstall(ctx, it.Path)
			} else {
				err = in.db.ClearIntent(ctx, it.Path)
			}
			if err != nil {
				return err
			}
		}
		cleanStale(filepath.Join(filepath.Dir(it.Path), stagingDir))
	}
	return in.cleanStages(ctx)
}

// Reconcile is reconcile under the lock, for readers (list, verify).
func (in *Installer) Reconcile(ctx context.Context) error {
	unlock, err := in.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return in.reconcile(ctx)
}
