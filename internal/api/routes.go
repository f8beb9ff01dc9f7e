package api

import (
	"net/http"
	"strings"

	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
)

// Path prefixes of the two APIs.
const (
	compatPrefix = "/api/v1beta/skills"
	extPrefix    = "/api/skilldock/v1"
	openAPIPath  = "/api/openapi.json"
)

// handlerFunc is a handler that reports failure by returning an error, which
// the router turns into a status with statusFor.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one endpoint: how it is routed, how long it may run, and what
// the OpenAPI document says about it. The router and the document are both
// built from this table, so neither can describe a route the other lacks.
type route struct {
	method string
	path   string // OpenAPI form: /api/v1beta/skills/{name}
	// rest names the last path parameter when it may hold slashes (a tag
	// such as ghcr.io/acme/x:1); the router matches the remainder of the path.
	rest    string
	id      string // operationId
	summary string
	tag     string // OpenAPI tag: skills, skilldock or operations
	long    bool   // may run for minutes: builds, registry traffic, installs
	public  bool   // answered without a token (health probes)
	params  []param
	body    any // the request body's type, nil for none
	status  int // success status; 0 when the route only fails (501)
	result  any // the success body's type, nil for none
	raw     bool
	errors  []int // statuses beyond the common ones
	// never lists common statuses the route cannot answer; the table says
	// why at each route, so that the document promises only what happens.
	never  []int
	handle handlerFunc
}

// param is a query parameter, or a path parameter when its name appears in
// the path.
type param struct {
	name     string
	desc     string
	required bool
	enum     []string
}

var (
	scopeParam       = param{name: "scope", desc: "user or project", enum: []string{"user", "project"}}
	projectRootParam = param{name: "project_root", desc: "absolute path of the project, for the project scope"}
)

// healthStatus is the body of the health probes.
type healthStatus struct {
	Status string `json:"status"`
}

// routes is every endpoint the server has.
func (s *Server) routes() []route {
	c := compatPrefix
	x := extPrefix
	notFound := []int{http.StatusNotFound}
	registry := []int{http.StatusNotFound, http.StatusConflict, http.StatusTooManyRequests, http.StatusBadGateway}
	// A push replaces nothing local, and a registry's refusal of the tag is
	// a registry failure (502), so a push is never a 409.
	push := []int{http.StatusNotFound, http.StatusTooManyRequests, http.StatusBadGateway}
	// Routes that answer 501 before doing anything have nothing to fail on
	// the server's side and consult neither the deadline nor the caller.
	unimplemented := []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	// A façade method that takes no notice of its context cannot be cut
	// short by the caller leaving or the deadline passing.
	ignoresContext := []int{http.StatusServiceUnavailable, http.StatusGatewayTimeout}
	// Validating only reads the caller's folder, and a folder that cannot
	// be read is the caller's 400, so the server has nothing of its own to
	// fail on.
	readsOnlyTheFolder := []int{http.StatusInternalServerError}
	return []route{
		// Operations.
		{method: "GET", path: "/healthz", id: "healthz", summary: "Liveness: the process answers", tag: "operations", public: true,
			status: 200, result: healthStatus{}, handle: s.healthz},
		{method: "GET", path: "/readyz", id: "readyz", summary: "Readiness: the store can be read", tag: "operations", public: true,
			status: 200, result: healthStatus{}, handle: s.readyz},
		{method: "GET", path: openAPIPath, id: "openapi", summary: "This OpenAPI 3.1 document", tag: "operations",
			status: 200, result: map[string]any{}, handle: s.openapi},

		// The ToolHive skills API.
		{method: "GET", path: c, id: "listSkills", summary: "List installed skills", tag: "skills",
			params: []param{scopeParam, {name: "client", desc: "only skills installed for this client"}, projectRootParam,
				{name: "group", desc: "unsupported: must be empty"}},
			status: 200, result: skillListResponse{}, handle: s.listSkills},
		{method: "POST", path: c, id: "installSkill", summary: "Install a skill", tag: "skills", long: true,
			body: installSkillRequest{}, status: 201, result: installSkillResponse{}, errors: registry, handle: s.installSkill},
		{method: "GET", path: c + "/{name}", id: "getSkillInfo", summary: "Get an installed skill", tag: "skills",
			params: []param{{name: "name", desc: "skill name", required: true}, scopeParam, projectRootParam},
			status: 200, result: skillInfo{}, errors: notFound, handle: s.getSkill},
		{method: "DELETE", path: c + "/{name}", id: "uninstallSkill", summary: "Uninstall a skill", tag: "skills",
			params: []param{{name: "name", desc: "skill name", required: true}, scopeParam, projectRootParam},
			status: 204, errors: notFound, handle: s.uninstallSkill},
		{method: "POST", path: c + "/validate", id: "validateSkill", summary: "Validate a skill folder", tag: "skills",
			body: validateSkillRequest{}, status: 200, result: validationResult{}, never: readsOnlyTheFolder, handle: s.validateSkill},
		{method: "POST", path: c + "/build", id: "buildSkill", summary: "Build a skill folder into the local store", tag: "skills", long: true,
			body: buildSkillRequest{}, status: 200, result: buildResult{}, handle: s.buildSkill},
		{method: "GET", path: c + "/builds", id: "listBuilds", summary: "List local builds", tag: "skills",
			status: 200, result: buildListResponse{}, handle: s.listBuilds},
		{method: "DELETE", path: c + "/builds/{tag}", rest: "tag", id: "deleteBuild", summary: "Delete a local build and its unused blobs", tag: "skills",
			params: []param{{name: "tag", desc: "the build's tag; a full reference may be sent with its slashes", required: true}},
			status: 204, errors: notFound, handle: s.deleteBuild},
		{method: "POST", path: c + "/push", id: "pushSkill", summary: "Push a local build to its registry", tag: "skills", long: true,
			body: pushSkillRequest{}, status: 204, errors: push, handle: s.pushSkill},
		{method: "GET", path: c + "/content", id: "getSkillContent", summary: "Preview a skill without installing it", tag: "skills", long: true,
			params: []param{{name: "ref", desc: "a local tag or a registry reference", required: true}},
			status: 200, result: service.SkillContent{}, errors: registry, handle: s.skillContent},
		{method: "POST", path: c + "/sync", id: "syncSkills", summary: "Not implemented: answers 501", tag: "skills",
			errors: []int{http.StatusNotImplemented}, never: unimplemented, handle: s.notImplemented("sync from a lock file")},
		{method: "POST", path: c + "/upgrade", id: "upgradeSkills", summary: "Not implemented: answers 501", tag: "skills",
			errors: []int{http.StatusNotImplemented}, never: unimplemented, handle: s.notImplemented("upgrade from a lock file")},

		// The extension API: service.API, one route per method.
		{method: "POST", path: x + "/validate", id: "validate", summary: "service.Validate", tag: "skilldock",
			body: validateRequest{}, status: 200, result: skill.Checked{}, never: readsOnlyTheFolder, handle: s.extValidate},
		{method: "POST", path: x + "/build", id: "build", summary: "service.Build", tag: "skilldock", long: true,
			body: service.BuildRequest{}, status: 200, result: buildResponse{}, handle: s.extBuild},
		{method: "GET", path: x + "/builds", id: "listBuildsExt", summary: "service.ListBuilds", tag: "skilldock",
			status: 200, result: []service.LocalBuild{}, handle: s.extListBuilds},
		{method: "POST", path: x + "/builds/delete", id: "deleteBuilds", summary: "service.DeleteBuilds", tag: "skilldock",
			body: deleteBuildsRequest{}, status: 200, result: service.DeleteResult{}, errors: notFound, handle: s.extDeleteBuilds},
		{method: "POST", path: x + "/tag", id: "tag", summary: "service.Tag", tag: "skilldock",
			body: tagRequest{}, status: 200, result: tagResponse{}, errors: notFound, never: ignoresContext, handle: s.extTag},
		{method: "GET", path: x + "/inspect", id: "inspect", summary: "service.Inspect", tag: "skilldock",
			params: []param{{name: "tag", desc: "a tag of the store", required: true}},
			status: 200, result: service.Inspection{}, errors: notFound, never: ignoresContext, handle: s.extInspect},
		{method: "POST", path: x + "/gc", id: "gc", summary: "service.GC", tag: "skilldock",
			status: 200, result: store.GCResult{}, never: ignoresContext, handle: s.extGC},
		{method: "GET", path: x + "/fsck", id: "fsck", summary: "service.Fsck", tag: "skilldock",
			status: 200, result: service.FsckReport{}, never: ignoresContext, handle: s.extFsck},
		{method: "POST", path: x + "/push", id: "push", summary: "service.Push", tag: "skilldock", long: true,
			body: pushRequest{}, status: 200, result: service.PushResult{}, errors: push, handle: s.extPush},
		{method: "POST", path: x + "/pull", id: "pull", summary: "service.Pull", tag: "skilldock", long: true,
			body: pullRequest{}, status: 200, result: service.PullResult{}, errors: registry, handle: s.extPull},
		{method: "GET", path: x + "/content", id: "content", summary: "service.Content", tag: "skilldock", long: true,
			params: []param{{name: "ref", desc: "a local tag or a registry reference", required: true}},
			status: 200, result: contentResponse{}, errors: registry, handle: s.extContent},
		{method: "GET", path: x + "/content/file", id: "contentFile", summary: "service.ContentFile: one file's bytes", tag: "skilldock", long: true,
			params: []param{{name: "ref", desc: "a local tag or a registry reference", required: true},
				{name: "path", desc: "the file's path inside the skill", required: true}},
			status: 200, raw: true, errors: registry, handle: s.extContentFile},
		{method: "GET", path: x + "/cache", id: "listCache", summary: "service.ListCache", tag: "skilldock",
			status: 200, result: []service.CacheEntry{}, never: ignoresContext, handle: s.extListCache},
		{method: "POST", path: x + "/cache/prune", id: "pruneCache", summary: "service.PruneCache", tag: "skilldock",
			body: pruneRequest{}, status: 200, result: service.PruneResult{}, errors: notFound, never: ignoresContext, handle: s.extPruneCache},
		{method: "POST", path: x + "/login", id: "login", summary: "service.Login", tag: "skilldock",
			body: loginRequest{}, status: 204, errors: []int{http.StatusBadGateway}, handle: s.extLogin},
		{method: "POST", path: x + "/logout", id: "logout", summary: "service.Logout", tag: "skilldock",
			body: logoutRequest{}, status: 204, errors: notFound, handle: s.extLogout},
		{method: "POST", path: x + "/install", id: "install", summary: "service.Install", tag: "skilldock", long: true,
			body: service.InstallRequest{}, status: 200, result: service.InstallResult{}, errors: registry, handle: s.extInstall},
		{method: "GET", path: x + "/installs", id: "list", summary: "service.List", tag: "skilldock",
			params: []param{{name: "name", desc: "only this skill"}, scopeParam, {name: "client", desc: "only installs for this client"}, projectRootParam},
			status: 200, result: []records.Install{}, handle: s.extList},
		{method: "GET", path: x + "/installs/{name}", id: "info", summary: "service.Info", tag: "skilldock",
			params: []param{{name: "name", desc: "skill name", required: true}},
			status: 200, result: []records.Install{}, errors: notFound, handle: s.extInfo},
		{method: "POST", path: x + "/uninstall", id: "uninstall", summary: "service.Uninstall", tag: "skilldock",
			body: service.UninstallRequest{}, status: 200, result: []install.RemoveOutcome{}, errors: notFound, handle: s.extUninstall},
		{method: "GET", path: x + "/verify", id: "verify", summary: "service.Verify", tag: "skilldock",
			params: []param{{name: "name", desc: "only this skill"}},
			status: 200, result: []service.VerifyResult{}, errors: notFound, handle: s.extVerify},
		{method: "GET", path: x + "/clients", id: "clients", summary: "service.Clients", tag: "skilldock",
			status: 200, result: []service.ClientInfo{}, handle: s.extClients},
	}
}

// chiPattern is the router's form of the route's path.
func (rt route) chiPattern() string {
	if rt.rest == "" {
		return rt.path
	}
	return strings.TrimSuffix(rt.path, "{"+rt.rest+"}") + "*"
}
