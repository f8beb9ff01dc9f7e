// Package testutil holds what skilldock's tests share: an isolated HOME and
// store per test binary, the real binary built once, skill folders, and the
// real components tests cross boundaries with — docker-registry processes
// (plain, htpasswd, TLS, and bearer tokens from a token server), a Docker
// credential helper program, a fault-injection proxy, a hostile-layer
// builder. It is imported by tests only and holds no product logic.
package testutil
