// Package records remembers what skilldock installed: one row per installed
// folder with the agents that read it, the source and digest it came from, and
// a digest of every file written. It is a SQLite database (pure Go, no cgo)
// with versioned migrations, WAL and a busy timeout, so concurrent CLI runs
// and a server share it safely; every statement runs in a transaction that
// is retried whole when SQLite reports the database busy without waiting. It also keeps intents: what an install or
// uninstall was about to do, so a run killed half-way can be reconciled. It
// never touches the installed folders themselves.
package records
