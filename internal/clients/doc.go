// Package clients knows the AI agents skilldock installs into: where each
// reads skills in user scope and in project scope, and how to tell whether it
// is present on this machine. The table is data (clients.yaml, embedded), and
// a user file can add agents or override paths. It computes paths; it never
// writes to them.
package clients
