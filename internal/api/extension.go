package api

import (
	"net/http"
	"strings"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/skill"
)

// The extension API's bodies: the façade's own types wherever a method takes
// or returns one, and these small wrappers for plain arguments.

type validateRequest struct {
	Dir string `json:"dir"`
}

// buildResponse is service.BuildResult with the metadata its JSON form
// leaves out, so that a client gets back the very value the façade returned.
type buildResponse struct {
	*service.BuildResult
	Metadata skill.Metadata `json:"metadata"`
}

type deleteBuildsRequest struct {
	Tags []string `json:"tags"`
}

type tagRequest struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

type tagResponse struct {
	Tag string `json:"tag"`
}

type pushRequest struct {
	Source string `json:"source,omitempty"` // empty: Target names a local build
	Target string `json:"target"`
}

type pullRequest struct {
	Reference string             `json:"reference"`
	Limits    service.PullLimits `json:"limits"`
}

// contentResponse is service.SkillContent with the reference and digest its
// JSON form (the contract's) leaves out.
type contentResponse struct {
	*service.SkillContent
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

type pruneRequest struct {
	References []string `json:"references"`
}

type loginRequest struct {
	Registry string `json:"registry"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type logoutRequest struct {
	Registry string `json:"registry"`
}

func (s *Server) extValidate(w http.ResponseWriter, r *http.Request) error {
	var req validateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkPath("dir", req.Dir, true); err != nil {
		return err
	}
	res, err := s.svc.Validate(r.Context(), req.Dir)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extBuild(w http.ResponseWriter, r *http.Request) error {
	var req service.BuildRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := checkPath("Dir", req.Dir, true); err != nil {
		return err
	}
	for _, t := range req.Tags {
		if _, err := ref.ParseLocal(t); err != nil {
			return err
		}
	}
	res, err := s.svc.Build(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, buildResponse{BuildResult: res, Metadata: res.Metadata})
	return nil
}

func (s *Server) extListBuilds(w http.ResponseWriter, r *http.Request) error {
	res, err := s.svc.ListBuilds(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extDeleteBuilds(w http.ResponseWriter, r *http.Request) error {
	var req deleteBuildsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.Tags) == 0 {
		return errdef.New(errdef.ErrInvalid, "tags is required: the local builds to remove")
	}
	if err := parseRefs("tags[]", ref.Parse, req.Tags...); err != nil {
		return err
	}
	res, err := s.svc.DeleteBuilds(r.Context(), req.Tags)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extTag(w http.ResponseWriter, r *http.Request) error {
	var req tagRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := parseRefs("source", ref.ParseLocal, req.Source); err != nil {
		return err
	}
	if err := parseRefs("target", ref.ParseLocal, req.Target); err != nil {
		return err
	}
	tag, err := s.svc.Tag(r.Context(), req.Source, req.Target)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tagResponse{Tag: tag})
	return nil
}

func (s *Server) extInspect(w http.ResponseWriter, r *http.Request) error {
	tag := r.URL.Query().Get("tag")
	if err := parseRefs("tag", ref.Parse, tag); err != nil {
		return err
	}
	res, err := s.svc.Inspect(r.Context(), tag)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extGC(w http.ResponseWriter, r *http.Request) error {
	res, err := s.svc.GC(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extFsck(w http.ResponseWriter, r *http.Request) error {
	res, err := s.svc.Fsck(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extPush(w http.ResponseWriter, r *http.Request) error {
	var req pushRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Source != "" {
		if err := parseRefs("source", ref.Parse, req.Source); err != nil {
			return err
		}
	}
	if err := parseRefs("target", ref.ParseRemote, req.Target); err != nil {
		return err
	}
	res, err := s.svc.Push(r.Context(), req.Source, req.Target)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extPull(w http.ResponseWriter, r *http.Request) error {
	var req pullRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := parseRefs("reference", ref.ParseRemote, req.Reference); err != nil {
		return err
	}
	res, err := s.svc.Pull(r.Context(), req.Reference, req.Limits)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extContent(w http.ResponseWriter, r *http.Request) error {
	c, err := s.content(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contentResponse{SkillContent: c, Reference: c.Reference, Digest: c.Digest})
	return nil
}

// extContentFile streams one file. The status is sent with the first byte,
// so an error found before it is still a proper error response; one found
// after it aborts the connection, which the client sees as a failed
// download rather than a short file.
func (s *Server) extContentFile(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	reference, file := q.Get("ref"), q.Get("path")
	if err := parseRefs("ref", ref.Parse, reference); err != nil {
		return err
	}
	if err := required("path", file); err != nil {
		return err
	}
	lw := &lazyWriter{w: w}
	if err := s.svc.ContentFile(r.Context(), reference, file, lw); err != nil {
		if lw.started {
			logger(r.Context()).Error("download failed after it started", "error", message(err))
			panic(http.ErrAbortHandler)
		}
		return err
	}
	lw.start()
	return nil
}

type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) start() {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", "application/octet-stream")
		l.w.WriteHeader(http.StatusOK)
	}
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.start()
	return l.w.Write(p)
}

func (s *Server) extListCache(w http.ResponseWriter, r *http.Request) error {
	res, err := s.svc.ListCache(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extPruneCache(w http.ResponseWriter, r *http.Request) error {
	var req pruneRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := parseRefs("references[]", ref.Parse, req.References...); err != nil {
		return err
	}
	res, err := s.svc.PruneCache(r.Context(), req.References)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extLogin(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"registry", req.Registry}, {"username", req.Username}, {"password", req.Password}} {
		if err := required(f.name, f.v); err != nil {
			return err
		}
	}
	if err := s.svc.Login(r.Context(), req.Registry, req.Username, req.Password); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) extLogout(w http.ResponseWriter, r *http.Request) error {
	var req logoutRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("registry", req.Registry); err != nil {
		return err
	}
	if err := s.svc.Logout(r.Context(), req.Registry); err != nil {
		return err
	}
	writeJSON(w, http.StatusNoContent, nil)
	return nil
}

func (s *Server) extInstall(w http.ResponseWriter, r *http.Request) error {
	var req service.InstallRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("Source", req.Source); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(req.Source, "/"), strings.HasPrefix(req.Source, "."), strings.HasPrefix(req.Source, "~"):
		if err := checkPath("Source", req.Source, true); err != nil {
			return err
		}
	default:
		if err := parseRefs("Source", ref.Parse, req.Source); err != nil {
			return err
		}
	}
	if err := checkInstallScope(req.Scope, req.ProjectRoot); err != nil {
		return err
	}
	res, err := s.svc.Install(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	req := service.ListRequest{Name: q.Get("name"), Scope: q.Get("scope"), Client: q.Get("client"), ProjectRoot: q.Get("project_root")}
	if err := checkScope(req.Scope, req.ProjectRoot); err != nil {
		return err
	}
	res, err := s.svc.List(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extInfo(w http.ResponseWriter, r *http.Request) error {
	name, err := pathParam(r, "name")
	if err != nil {
		return err
	}
	if err := required("name", name); err != nil {
		return err
	}
	res, err := s.svc.Info(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extUninstall(w http.ResponseWriter, r *http.Request) error {
	var req service.UninstallRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("Name", req.Name); err != nil {
		return err
	}
	if err := checkScope(req.Scope, req.ProjectRoot); err != nil {
		return err
	}
	res, err := s.svc.Uninstall(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extVerify(w http.ResponseWriter, r *http.Request) error {
	res, err := s.svc.Verify(r.Context(), r.URL.Query().Get("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) extClients(w http.ResponseWriter, r *http.Request) error {
	res, err := s.svc.Clients(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
