// Package testutil holds what skilldock's tests share: an isolated HOME and
// store per test binary, the real binary built once, skill folders, and the
// real components tests cross boundaries with — docker-registry processes
// (plain, htpasswd and TLS), a fault-injection proxy, a hostile-layer
// builder. It is imported by tests only and holds no product logic.
package testutil
