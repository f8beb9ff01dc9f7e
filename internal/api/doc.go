// Package api is the HTTP door onto the service façade: "skilldock serve".
// It serves the skills REST API of the ToolHive contract under
// /api/v1beta/skills, an extension API under /api/skilldock/v1 that mirrors
// every method of service.API one to one, health probes, and an OpenAPI 3.1
// document describing all of it. Client implements service.API over that
// extension API, so the CLI behaves the same in process or through a server.
//
// The package owns routing, request decoding and shape checks, the security
// checks a local HTTP service needs (Host allow-list against DNS rebinding,
// no CORS, cross-site refusal, bearer tokens off loopback, body limits) and
// the one mapping between errors and HTTP statuses in each direction. It owns
// no business logic: every handler decodes, checks, calls the façade and
// encodes.
package api
