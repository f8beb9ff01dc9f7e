// Package errdef defines, once, the error values that callers across skilldock
// test with errors.Is. The CLI maps them to exit codes and the HTTP API to
// statuses, each in a single function; no other package decides either.
package errdef
