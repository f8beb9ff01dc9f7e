package service

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/clients"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/extract"
	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
)

type installState struct {
	once      sync.Once
	db        *records.DB
	installer *install.Installer
	table     *clients.Table
	env       clients.Env
	err       error
}

func (s *Service) installs(ctx context.Context) (*installState, error) {
	st := &s.is
	st.once.Do(func() {
		env := s.cfg.Env
		if env.Home == "" {
			if env, st.err = clients.EnvFromOS(); st.err != nil {
				return
			}
		}
		st.env = env
		if st.table, st.err = clients.Load(env); st.err != nil {
			return
		}
		path := s.cfg.RecordsPath
		if path == "" {
			if path, st.err = records.DefaultPath(); st.err != nil {
				return
			}
		}
		if st.db, st.err = records.Open(ctx, path); st.err != nil {
			return
		}
		st.installer = install.New(st.db)
	})
	return st, st.err
}

// reconciled opens the install state and settles what killed runs left, so
// what follows reads records that describe the disk.
func (s *Service) reconciled(ctx context.Context) (*installState, error) {
	is, err := s.installs(ctx)
	if err != nil {
		return nil, err
	}
	return is, is.installer.Reconcile(ctx)
}

// InstallRequest asks for a skill to be installed.
type InstallRequest struct {
	Source            string // local tag, registry reference or skill folder
	Clients           string // "all", "a,b", or "" for the detected agents
	Scope             string // user (default) or project
	ProjectRoot       string // project scope; default the enclosing git repository
	Force             bool
	AllowNameMismatch bool
}

// InstallResult says where the skill went.
type InstallResult struct {
	Name     string            `json:"name"`
	Version  string            `json:"version,omitempty"`
	Digest   string            `json:"digest"`
	Source   string            `json:"source"`
	Scope    string            `json:"scope"`
	Installs []install.Outcome `json:"installs"`
	// Requires are the skills it declares it depends on; NotInstalled are
	// those of them not installed for every agent it was installed for.
	// Installing never fetches dependencies.
	Requires     []string `json:"requires,omitempty"`
	NotInstalled []string `json:"notInstalled,omitempty"`
}

// Install resolves the source to an artifact in the store (pulling or
// packing as needed), then installs it for each chosen agent.
func (s *Service) Install(ctx context.Context, req InstallRequest) (*InstallResult, error) {
	is, err := s.installs(ctx)
	if err != nil {
		return nil, err
	}
	scope, err := clients.ParseScope(req.Scope)
	if err != nil {
		return nil, err
	}
	chosen, err := is.table.Select(req.Clients)
	if err != nil {
		return nil, err
	}
	base, root, err := s.scopeBase(is, scope, req.ProjectRoot)
	if err != nil {
		return nil, err
	}
	// The session keeps every blob of the artifact safe from gc until the
	// install has read the layer.
	ss, err := s.store.Begin()
	if err != nil {
		return nil, err
	}
	defer ss.Close()
	desc, source, err := s.resolveInstallSource(ctx, ss, req)
	if err != nil {
		return nil, err
	}
	// The config names the skill; the layer is scanned for SKILL.md only
	// when it does not. Extraction checks every entry and cap itself, so a
	// scan beforehand would only decompress the layer twice.
	sk, err := artifact.Describe(s.store, desc)
	if err == nil && !sk.HasMetadata() {
		sk, err = s.describeFull(desc, DefaultPullLimits().MaxUncompressed)
	}
	if err != nil {
		return nil, err
	}
	if r, err := ref.ParseRemote(source); err == nil && ref.IsRemote(source) && !req.AllowNameMismatch {
		if want := r.LastSegment(); sk.Metadata.Name != want {
			return nil, errdef.Errorf(errdef.ErrInvalid, "the artifact at %s declares the skill name %q, not %q like its repository; refusing it (pass --allow-name-mismatch if you trust it)", source, sk.Metadata.Name, want)
		}
	}
	byDir := map[string]*install.Target{}
	var order []string
	for _, c := range chosen {
		dir, err := is.table.SkillsDir(c, scope, root)
		if err != nil {
			return nil, err
		}
		if t, ok := byDir[dir]; ok {
			t.Clients = append(t.Clients, c.ID)
			continue
		}
		byDir[dir] = &install.Target{Base: targetBase(is.env, scope, base, dir), SkillsDir: dir, Clients: []string{c.ID}}
		order = append(order, dir)
	}
	var targets []install.Target
	for _, d := range order {
		targets = append(targets, *byDir[d])
	}
	lim := extract.DefaultLimits()
	lim.MaxTotalSize = DefaultPullLimits().MaxUncompressed
	outcomes, err := is.installer.Install(ctx, install.Request{
		Name: sk.Metadata.Name, Version: sk.Metadata.Version, Description: sk.Metadata.Description,
		Source: source, Digest: desc.Digest.String(), Requires: sk.Metadata.Requires, Scope: string(scope), ProjectRoot: root,
		Targets: targets, LayerSize: sk.Layer.Size, Limits: lim, Force: req.Force,
		OpenLayer: func() (io.ReadCloser, error) { return s.store.OpenLayer(sk.Layer) },
	})
	if err != nil {
		return nil, err
	}
	res := &InstallResult{
		Name: sk.Metadata.Name, Version: sk.Metadata.Version, Digest: desc.Digest.String(), Source: source, Scope: string(scope),
		Installs: outcomes, Requires: sk.Metadata.Requires,
	}
	res.NotInstalled = notInstalledNote(ctx, is.db, res, root)
	return res, nil
}

// noteTimeout bounds the look-up behind the note on dependencies; it reads
// one scope's records, which takes milliseconds unless the database is busy.
const noteTimeout = 2 * time.Second

// notInstalledNote is notInstalled made best-effort. It runs once the skill
// is in place and recorded, so nothing it meets may turn that success into
// an error: it is detached from the caller's cancellation (a route deadline
// that has passed, a CLI interrupted a moment too late) and bounded by
// noteTimeout instead, and when the look-up fails the note is left out. The
// service has no logger to tell; the installed skill's record still lists
// what it requires.
func notInstalledNote(ctx context.Context, db *records.DB, res *InstallResult, projectRoot string) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
	defer cancel()
	missing, err := notInstalled(ctx, db, res, projectRoot)
	if err != nil {
		return nil
	}
	return missing
}

// notInstalled lists the declared dependencies that some agent the skill
// was just installed for does not have in the same scope (and project). A
// dependency is known by its repository's last path segment, the folder
// name it would be installed under.
func notInstalled(ctx context.Context, db *records.DB, res *InstallResult, projectRoot string) ([]string, error) {
	if len(res.Requires) == 0 {
		return nil, nil
	}
	list, err := db.List(ctx, records.Filter{Scope: res.Scope, ProjectRoot: projectRoot}, false)
	if err != nil {
		return nil, err
	}
	has := map[string]map[string]bool{} // skill name → agents
	for _, in := range list {
		if in.ProjectRoot != projectRoot {
			continue
		}
		if has[in.Name] == nil {
			has[in.Name] = map[string]bool{}
		}
		for _, c := range in.Clients {
			has[in.Name][c] = true
		}
	}
	var missing []string
	for _, dep := range res.Requires {
		r, err := ref.Parse(dep)
		agents := has[r.LastSegment()]
		ok := err == nil && agents != nil
		for _, o := range res.Installs {
			for _, c := range o.Clients {
				ok = ok && agents[c]
			}
		}
		if !ok {
			missing = append(missing, dep)
		}
	}
	return missing, nil
}

// scopeBase returns the folder nothing above which is touched, and the
// project root for the project scope.
func (s *Service) scopeBase(is *installState, scope clients.Scope, projectRoot string) (string, string, error) {
	if scope == clients.ScopeUser {
		return is.env.Home, "", nil
	}
	root := projectRoot
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", "", err
		}
		if root, err = clients.FindProjectRoot(wd); err != nil {
			return "", "", err
		}
	}
	if !filepath.IsAbs(root) || filepath.Clean(root) != root || strings.ContainsRune(root, 0) {
		return "", "", errdef.Errorf(errdef.ErrInvalid, "project root %q must be an absolute, clean path", root)
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return "", "", errdef.Errorf(errdef.ErrInvalid, "project root %s is not a folder", root)
	}
	return root, root, nil
}

// targetBase is the folder above which an install creates nothing. In the
// user scope that is the home folder, except for agents that read skills
// under $XDG_CONFIG_HOME when it lies outside the home folder.
func targetBase(env clients.Env, scope clients.Scope, base, dir string) string {
	if scope == clients.ScopeUser && !within(env.Home, dir) && within(env.XDGConfigHome, dir) {
		return env.XDGConfigHome
	}
	return base
}

func within(parent, p string) bool {
	rel, err := filepath.Rel(parent, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// resolveInstallSource turns the source into an artifact in the store: a
// folder is packed exactly as build would (untagged), a registry reference
// is pulled through the cache, a local tag is used as it is.
func (s *Service) resolveInstallSource(ctx context.Context, ss *store.Session, req InstallRequest) (ocispec.Descriptor, string, error) {
	src := req.Source
	if src == "" {
		return ocispec.Descriptor{}, "", errdef.New(errdef.ErrInvalid, "no source given; name a local build, a registry reference or a skill folder")
	}
	if looksLikePath(src) {
		return s.packFolder(ctx, ss, src)
	}
	if ref.IsRemote(src) {
		r, err := ref.ParseRemote(src)
		if err != nil {
			return ocispec.Descriptor{}, "", err
		}
		res, err := s.pullInSession(ctx, ss, r)
		if err != nil {
			return ocispec.Descriptor{}, "", err
		}
		t, err := s.store.Resolve(res.Tag)
		return t.Descriptor, r.String(), err
	}
	if t, err := s.store.Resolve(src); err == nil {
		return t.Descriptor, src, nil
	}
	if info, err := os.Stat(src); err == nil && info.IsDir() {
		return s.packFolder(ctx, ss, src)
	}
	return ocispec.Descriptor{}, "", errdef.Errorf(errdef.ErrNotFound, "no local build, cached skill or folder named %q; run \"skilldock builds\" to list builds", src)
}

func looksLikePath(s string) bool {
	return s == "." || s == ".." || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~/")
}

func (s *Service) packFolder(_ context.Context, ss *store.Session, dir string) (ocispec.Descriptor, string, error) {
	c, err := skill.Check(dir)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	epoch, err := buildEpoch(nil)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	res, err := pack.Build(ss, c, pack.Options{Epoch: epoch, Limits: pack.DefaultLimits()})
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	return res.Index, c.Root, nil
}

// pullInSession is Pull for a caller that already holds a writer session.
func (s *Service) pullInSession(ctx context.Context, ss *store.Session, r ref.Reference) (*PullResult, error) {
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	return s.pullLocked(ctx, ss, r, r.String(), DefaultPullLimits())
}

// ListRequest filters installed skills.
type ListRequest struct {
	Scope       string
	Client      string
	ProjectRoot string
	Name        string
}

// List returns the recorded installs.
func (s *Service) List(ctx context.Context, req ListRequest) ([]records.Install, error) {
	is, err := s.installs(ctx)
	if err != nil {
		return nil, err
	}
	if req.Scope != "" {
		if _, err := clients.ParseScope(req.Scope); err != nil {
			return nil, err
		}
	}
	if req.Client != "" {
		if _, ok := is.table.Get(req.Client); !ok {
			return nil, errdef.Errorf(errdef.ErrInvalid, "unknown client %q; run \"skilldock clients\"", req.Client)
		}
	}
	if err := is.installer.Reconcile(ctx); err != nil {
		return nil, err
	}
	list, err := is.db.List(ctx, records.Filter{Name: req.Name, Scope: req.Scope, Client: req.Client, ProjectRoot: req.ProjectRoot}, false)
	if list == nil {
		list = []records.Install{}
	}
	return list, err
}

// Info returns every install of a skill, with its files.
func (s *Service) Info(ctx context.Context, name string) ([]records.Install, error) {
	is, err := s.reconciled(ctx)
	if err != nil {
		return nil, err
	}
	list, err := is.db.List(ctx, records.Filter{Name: name}, true)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errdef.Errorf(errdef.ErrNotFound, "skill %q is not installed; run \"skilldock list\"", name)
	}
	return list, nil
}

// UninstallRequest names what to remove.
type UninstallRequest struct {
	Name        string
	Scope       string // empty: every scope
	Clients     string // empty: every agent
	ProjectRoot string
	Force       bool
}

// Uninstall removes a skill's installed folders (or only some agents'
// records of a shared folder).
func (s *Service) Uninstall(ctx context.Context, req UninstallRequest) ([]install.RemoveOutcome, error) {
	is, err := s.installs(ctx)
	if err != nil {
		return nil, err
	}
	if req.Scope != "" {
		if _, err := clients.ParseScope(req.Scope); err != nil {
			return nil, err
		}
	}
	var drop []string
	if req.Clients != "" {
		cs, err := is.table.Select(req.Clients)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			drop = append(drop, c.ID)
		}
	}
	if err := is.installer.Reconcile(ctx); err != nil {
		return nil, err
	}
	list, err := is.db.List(ctx, records.Filter{Name: req.Name, Scope: req.Scope, ProjectRoot: req.ProjectRoot}, true)
	if err != nil {
		return nil, err
	}
	var out []install.RemoveOutcome
	for i := range list {
		rec := &list[i]
		if len(drop) > 0 && !overlaps(rec.Clients, drop) {
			continue
		}
		var allowed []string
		for _, id := range rec.Clients {
			if c, ok := is.table.Get(id); ok {
				if d, err := is.table.SkillsDir(c, clients.Scope(rec.Scope), rec.ProjectRoot); err == nil {
					allowed = append(allowed, d)
				}
			}
		}
		o, err := is.installer.Uninstall(ctx, install.RemoveRequest{Record: rec, Clients: drop, AllowedDirs: allowed, Home: is.env.Home, Force: req.Force})
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, errdef.Errorf(errdef.ErrNotFound, "skill %q is not installed there; run \"skilldock list\"", req.Name)
	}
	return out, nil
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// VerifyResult is the drift of one installed folder.
type VerifyResult struct {
	Name    string   `json:"name"`
	Path    string   `json:"path"`
	Clients []string `json:"clients"`
	install.Drift
}

// Verify compares installed files with their recorded digests.
func (s *Service) Verify(ctx context.Context, name string) ([]VerifyResult, error) {
	is, err := s.reconciled(ctx)
	if err != nil {
		return nil, err
	}
	list, err := is.db.List(ctx, records.Filter{Name: name}, true)
	if err != nil {
		return nil, err
	}
	if name != "" && len(list) == 0 {
		return nil, errdef.Errorf(errdef.ErrNotFound, "skill %q is not installed; run \"skilldock list\"", name)
	}
	out := []VerifyResult{}
	for _, rec := range list {
		d, err := install.Compare(rec.Path, rec.Files)
		if err != nil {
			return nil, err
		}
		out = append(out, VerifyResult{Name: rec.Name, Path: rec.Path, Clients: rec.Clients, Drift: d})
	}
	return out, nil
}

// ClientInfo is one agent and whether it is on this machine.
type ClientInfo struct {
	clients.Client
	Detected bool   `json:"detected"`
	UserDir  string `json:"userDir"`
}

// Clients lists the agents skilldock knows.
func (s *Service) Clients(ctx context.Context) ([]ClientInfo, error) {
	env := s.cfg.Env
	if env.Home == "" {
		var err error
		if env, err = clients.EnvFromOS(); err != nil {
			return nil, err
		}
	}
	t, err := clients.Load(env)
	if err != nil {
		return nil, err
	}
	var out []ClientInfo
	for _, c := range t.All() {
		dir, _ := t.SkillsDir(c, clients.ScopeUser, "")
		out = append(out, ClientInfo{Client: c, Detected: t.Detected(c), UserDir: dir})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Detected && !out[j].Detected })
	return out, nil
}
