// Package cli is the command-line door onto the service façade: one file per
// command, each with an Options struct and a runX function that tests call
// directly with in-memory streams. It parses flags, calls the service and
// prints through one shared printer; it holds no business logic. Exit codes
// are decided in one place, exitcode.go.
package cli
