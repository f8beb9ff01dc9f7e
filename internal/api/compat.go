package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/service"
)

// The ToolHive skills API's bodies (docs/api.md lists the fields skilldock
// refuses). Names follow the contract's schemas.

type skillMetadata struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Version     string `json:"version,omitempty"`
}

type installedSkill struct {
	Metadata     skillMetadata `json:"metadata"`
	Reference    string        `json:"reference"`
	Tag          string        `json:"tag,omitempty"`
	Digest       string        `json:"digest"`
	Scope        string        `json:"scope" enum:"user,project"`
	ProjectRoot  string        `json:"project_root,omitempty"`
	Clients      []string      `json:"clients"`
	Dependencies []dependency  `json:"dependencies,omitempty"`
	InstalledAt  string        `json:"installed_at"`
	Status       string        `json:"status" enum:"installed,pending,failed"`
	Managed      bool          `json:"managed"`
}

// dependency is a skill an install declares it requires, as declared.
type dependency struct {
	Name      string `json:"name,omitempty"`
	Reference string `json:"reference"`
	Digest    string `json:"digest,omitempty"`
}

type skillListResponse struct {
	Skills []installedSkill `json:"skills"`
}

type skillInfo struct {
	InstalledSkill installedSkill `json:"installed_skill"`
	Metadata       skillMetadata  `json:"metadata"`
}

type installSkillRequest struct {
	Name          string   `json:"name"`
	Version       string   `json:"version,omitempty"`
	Scope         string   `json:"scope,omitempty" enum:"user,project"`
	ProjectRoot   string   `json:"project_root,omitempty"`
	Clients       []string `json:"clients,omitempty"`
	Force         bool     `json:"force,omitempty"`
	Group         string   `json:"group,omitempty"`
	AllowUnsigned bool     `json:"allow_unsigned,omitempty"`
}

type installSkillResponse struct {
	Skill installedSkill `json:"skill"`
}

type validateSkillRequest struct {
	Path string `json:"path"`
}

type validationResult struct {
	Valid    bool     `json:"valid"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

type buildSkillRequest struct {
	Path string `json:"path"`
	Tag  string `json:"tag,omitempty"`
}

type buildResult struct {
	Reference string `json:"reference"`
}

type buildListResponse struct {
	Builds []service.LocalBuild `json:"builds"`
}

type pushSkillRequest struct {
	Reference     string `json:"reference"`
	Key           string `json:"key,omitempty"`
	IdentityToken string `json:"identity_token,omitempty"`
	NoSign        bool   `json:"no_sign,omitempty"`
}

func (s *Server) listSkills(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if q.Get("group") != "" {
		return unsupported("group", "skilldock has no groups")
	}
	req := service.ListRequest{Scope: q.Get("scope"), Client: q.Get("client"), ProjectRoot: q.Get("project_root")}
	if err := checkScope(req.Scope, req.ProjectRoot); err != nil {
		return err
	}
	list, err := s.svc.List(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, skillListResponse{Skills: installedSkills(list)})
	return nil
}

func (s *Server) installSkill(w http.ResponseWriter, r *http.Request) error {
	var body installSkillRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	switch {
	case body.Group != "":
		return unsupported("group", "skilldock has no groups")
	case body.AllowUnsigned:
		return unsupported("allow_unsigned", "skilldock neither signs nor verifies signatures, so there is no exception to record")
	}
	source, err := installSource(body.Name, body.Version)
	if err != nil {
		return err
	}
	if err := checkInstallScope(body.Scope, body.ProjectRoot); err != nil {
		return err
	}
	for _, c := range body.Clients {
		if err := required("clients[]", c); err != nil {
			return err
		}
		if strings.Contains(c, ",") {
			return errdef.Errorf(errdef.ErrInvalid, "client %q must be one identifier; list clients as separate items", c)
		}
	}
	res, err := s.svc.Install(r.Context(), service.InstallRequest{
		Source: source, Clients: strings.Join(body.Clients, ","), Scope: body.Scope,
		ProjectRoot: body.ProjectRoot, Force: body.Force,
	})
	if err != nil {
		return err
	}
	list, err := s.svc.List(r.Context(), service.ListRequest{Name: res.Name, Scope: res.Scope, ProjectRoot: body.ProjectRoot})
	if err != nil {
		return err
	}
	paths := map[string]bool{}
	for _, o := range res.Installs {
		paths[o.Path] = true
	}
	var mine []records.Install
	for _, in := range list {
		if paths[in.Path] {
			mine = append(mine, in)
		}
	}
	skills := installedSkills(mine)
	if len(skills) == 0 {
		return fmt.Errorf("skill %q was installed but its record is gone; another request must have removed it", res.Name)
	}
	loc := compatPrefix + "/" + url.PathEscape(res.Name) + "?scope=" + url.QueryEscape(res.Scope)
	if body.ProjectRoot != "" {
		loc += "&project_root=" + url.QueryEscape(body.ProjectRoot)
	}
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusCreated, installSkillResponse{Skill: skills[0]})
	return nil
}

// installSource turns the contract's name and version into the façade's
// source: a folder (absolute path), or a reference with the version as its
// tag.
func installSource(name, version string) (string, error) {
	if err := required("name", name); err != nil {
		return "", err
	}
	if strings.HasPrefix(name, "/") {
		if version != "" {
			return "", errdef.New(errdef.ErrInvalid, "version applies to a reference, not to a folder")
		}
		return name, checkPath("name", name, true)
	}
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") {
		return "", checkPath("name", name, true)
	}
	r, err := ref.Parse(name)
	if err != nil {
		return "", err
	}
	if version == "" {
		return name, nil
	}
	if r.Tag != "" || r.Digest != "" {
		return "", errdef.Errorf(errdef.ErrInvalid, "version %q conflicts with the tag or digest already in %q; send one of them", version, name)
	}
	source := name + ":" + version
	if _, err := ref.Parse(source); err != nil {
		return "", err
	}
	return source, nil
}

func (s *Server) getSkill(w http.ResponseWriter, r *http.Request) error {
	name, err := pathParam(r, "name")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	req := service.ListRequest{Name: name, Scope: q.Get("scope"), ProjectRoot: q.Get("project_root")}
	if err := required("name", name); err != nil {
		return err
	}
	if err := checkScope(req.Scope, req.ProjectRoot); err != nil {
		return err
	}
	list, err := s.svc.List(r.Context(), req)
	if err != nil {
		return err
	}
	skills := installedSkills(list)
	if len(skills) == 0 {
		return errdef.Errorf(errdef.ErrNotFound, "skill %q is not installed there; GET %s lists installed skills", name, compatPrefix)
	}
	writeJSON(w, http.StatusOK, skillInfo{InstalledSkill: skills[0], Metadata: skills[0].Metadata})
	return nil
}

func (s *Server) uninstallSkill(w http.ResponseWriter, r *http.Request) error {
	name, err := pathParam(r, "name")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	req := service.UninstallRequest{Name: name, Scope: q.Get("scope"), ProjectRoot: q.Get("project_root")}
	if err := required("name", name); err != nil {
		return err
	}
	if err := checkScope(req.Scope, req.ProjectRoot); err != nil {
		return err
	}
	if _, err := s.svc.Uninstall(r.Context(), req); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) validateSkill(w http.ResponseWriter, r *http.Request) error {
	var body validateSkillRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := checkPath("path", body.Path, true); err != nil {
		return err
	}
	c, err := s.svc.Validate(r.Context(), body.Path)
	if err != nil {
		return err
	}
	res := validationResult{Valid: c.Report.Valid, Errors: []string{}, Warnings: []string{}}
	for _, e := range c.Report.Errors {
		res.Errors = append(res.Errors, e.Field+": "+e.Message)
	}
	for _, w := range c.Report.Warnings {
		res.Warnings = append(res.Warnings, w.Field+": "+w.Message)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) buildSkill(w http.ResponseWriter, r *http.Request) error {
	var body buildSkillRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := checkPath("path", body.Path, true); err != nil {
		return err
	}
	req := service.BuildRequest{Dir: body.Path}
	if body.Tag != "" {
		if _, err := ref.ParseLocal(body.Tag); err != nil {
			return err
		}
		req.Tags = []string{body.Tag}
	}
	res, err := s.svc.Build(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, buildResult{Reference: res.Tags[0]})
	return nil
}

func (s *Server) listBuilds(w http.ResponseWriter, r *http.Request) error {
	builds, err := s.svc.ListBuilds(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, buildListResponse{Builds: builds})
	return nil
}

func (s *Server) deleteBuild(w http.ResponseWriter, r *http.Request) error {
	tag, err := pathParam(r, "*")
	if err != nil {
		return err
	}
	if tag == "" {
		return errdef.Errorf(errNoRoute, "no endpoint %s %s; name the build: %s/builds/{tag}", r.Method, r.URL.Path, compatPrefix)
	}
	if err := parseRefs("tag", ref.Parse, tag); err != nil {
		return err
	}
	if _, err := s.svc.DeleteBuilds(r.Context(), []string{tag}); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) pushSkill(w http.ResponseWriter, r *http.Request) error {
	var body pushSkillRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	// no_sign is accepted either way: skilldock never signs, which is what
	// no_sign asks for and what a ToolHive server without a key does.
	switch {
	case body.Key != "":
		return unsupported("key", "skilldock does not sign artifacts")
	case body.IdentityToken != "":
		return unsupported("identity_token", "skilldock does not sign artifacts")
	}
	if err := parseRefs("reference", ref.ParseRemote, body.Reference); err != nil {
		return err
	}
	if _, err := s.svc.Push(r.Context(), "", body.Reference); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) skillContent(w http.ResponseWriter, r *http.Request) error {
	c, err := s.content(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// content serves both content routes: the ?ref= parameter, strictly parsed,
// previewed through the façade.
func (s *Server) content(r *http.Request) (*service.SkillContent, error) {
	reference := r.URL.Query().Get("ref")
	if err := parseRefs("ref", ref.Parse, reference); err != nil {
		return nil, err
	}
	return s.svc.Content(r.Context(), reference)
}

func (s *Server) notImplemented(what string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return errdef.Errorf(errNotImplemented, "%s is not implemented in skilldock yet", what)
	}
}

// checkScope checks the scope and project root filters of a query.
func checkScope(scope, projectRoot string) error {
	if err := oneOf("scope", scope, "user", "project"); err != nil {
		return err
	}
	return checkPath("project_root", projectRoot, false)
}

// checkInstallScope also demands the project root for the project scope:
// the server's working directory says nothing about the caller's project.
func checkInstallScope(scope, projectRoot string) error {
	if err := checkScope(scope, projectRoot); err != nil {
		return err
	}
	if scope == "project" && projectRoot == "" {
		return errdef.New(errdef.ErrInvalid, "project_root is required with scope project: the server cannot know which project you mean")
	}
	return nil
}

// installedSkills maps install records to the contract's InstalledSkill.
// The contract has one entry per install with a list of clients, where the
// records have one per folder; records of one artifact installed in one
// scope and project are merged, their clients joined.
func installedSkills(list []records.Install) []installedSkill {
	out := []installedSkill{}
	at := map[string]int{}
	for _, in := range list {
		key := strings.Join([]string{in.Name, in.Scope, in.ProjectRoot, in.Digest, in.Source}, "\x00")
		if i, ok := at[key]; ok {
			for _, c := range in.Clients {
				if !slices.Contains(out[i].Clients, c) {
					out[i].Clients = append(out[i].Clients, c)
				}
			}
			continue
		}
		at[key] = len(out)
		s := installedSkill{
			Metadata:  skillMetadata{Name: in.Name, Description: in.Description, Version: in.Version},
			Reference: in.Source, Digest: in.Digest, Scope: in.Scope, ProjectRoot: in.ProjectRoot,
			Clients:     append([]string{}, in.Clients...),
			InstalledAt: in.InstalledAt.UTC().Format(time.RFC3339),
			Status:      "installed",
		}
		if r, err := ref.Parse(in.Source); err == nil {
			s.Tag = r.Tag
		}
		s.Dependencies = dependencies(in.Requires)
		out = append(out, s)
	}
	return out
}

// dependencies maps declared references to the contract's Dependency: the
// name is the repository's last path segment (the folder the skill installs
// as), the digest is set only when the reference pins one.
func dependencies(requires []string) []dependency {
	var out []dependency
	for _, req := range requires {
		d := dependency{Reference: req}
		if r, err := ref.Parse(req); err == nil {
			d.Name, d.Digest = r.LastSegment(), r.Digest.String()
		}
		out = append(out, d)
	}
	return out
}
