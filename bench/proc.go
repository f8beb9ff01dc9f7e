package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// tools are the programs the benchmark runs as child processes, and the
// home they all run in.
type tools struct {
	bin      string // skilldock, built from this module as "make build" does
	oras     string // the oras CLI, or "" when it is not installed
	orasVer  string
	registry string // host:port of the local registry ($SKILLDOCK_TEST_REGISTRY), or ""
	// home is HOME for every child: an empty folder, so neither skilldock
	// nor oras reads the caller's credentials, agents or configuration.
	home string
}

// procResult is one run of a child process.
type procResult struct {
	Elapsed timing // wall clock from fork to exit (includes process start); the child's CPU time
	MaxRSS  int64  // peak resident set, bytes
	Stdout  []byte
}

// proc is one command to run.
type proc struct {
	path string
	args []string
	dir  string // working directory; "" is the benchmark's
	home string // HOME (and the XDG folders under it); "" is tools.home
}

// run runs the command and reports its wall time, CPU time and peak RSS.
// ru_maxrss comes from wait4 for exactly this child (and the children it
// waited for, such as tar's gzip), in KiB on Linux.
func (t *tools) run(ctx context.Context, p proc) (procResult, error) {
	cmd := exec.CommandContext(ctx, p.path, p.args...)
	cmd.Dir = p.dir
	home := p.home
	if home == "" {
		home = t.home
	}
	cmd.Env = childEnv(home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	name := filepath.Base(p.path) + " " + strings.Join(p.args, " ")
	if err != nil {
		return procResult{}, fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return procResult{}, fmt.Errorf("no rusage for the child process on %s", runtime.GOOS)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return procResult{Elapsed: timing{Wall: elapsed, CPU: cpu}, MaxRSS: ru.Maxrss << 10, Stdout: stdout.Bytes()}, nil
}

// skilldock runs the skilldock binary with HOME at tools.home.
func (t *tools) skilldock(ctx context.Context, args ...string) (procResult, error) {
	return t.run(ctx, proc{path: t.bin, args: args})
}

// childEnv is the caller's environment with everything that points a tool
// at the caller's own state replaced: HOME, the XDG folders, Docker's
// config, skilldock's store and server. SOURCE_DATE_EPOCH=0 makes the
// binary's builds give the layer the in-process builds and the floor give.
func childEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", k == "DOCKER_CONFIG", k == "SOURCE_DATE_EPOCH",
			strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "SKILLDOCK_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "SOURCE_DATE_EPOCH=0")
}

// findOras finds the oras CLI on PATH or where "go install" puts it
// (scripts/test-deps.sh installs it there).
func findOras(ctx context.Context) (path, version string) {
	path, err := exec.LookPath("oras")
	if err != nil {
		out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output()
		if err != nil {
			return "", ""
		}
		gopath, _, _ := strings.Cut(strings.TrimSpace(string(out)), string(os.PathListSeparator))
		path = filepath.Join(gopath, "bin", "oras")
		if _, err := os.Stat(path); err != nil {
			return "", ""
		}
	}
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return "", ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Version" {
			return path, strings.TrimSpace(v)
		}
	}
	return path, "unknown version"
}

// toolVersion is the first line of "NAME --version", for the report.
func toolVersion(ctx context.Context, name string) string {
	out, err := exec.CommandContext(ctx, name, "--version").CombinedOutput()
	if err != nil {
		return "unknown"
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}
