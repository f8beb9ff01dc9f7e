package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// runResult is one in-process run of the CLI.
type runResult struct {
	code     int
	out, err string
}

func (r runResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.err)
}

// runCLI runs Main with in-memory streams, exactly as the binary would.
func runCLI(t *testing.T, args ...string) runResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return runResult{code: code, out: out.String(), err: errOut.String()}
}

// sd runs a command against store.
func sd(t *testing.T, store string, args ...string) runResult {
	t.Helper()
	return runCLI(t, append([]string{"--store", store}, args...)...)
}

// mustSD runs a command against store and fails the test unless it exits 0.
func mustSD(t *testing.T, store string, args ...string) runResult {
	t.Helper()
	r := sd(t, store, args...)
	if r.code != 0 {
		t.Fatalf("skilldock %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// requireOneLineError checks the error convention: one line on stderr that
// starts with "skilldock: ".
func requireOneLineError(t *testing.T, r runResult) {
	t.Helper()
	if !strings.HasPrefix(r.err, "skilldock: ") || strings.Count(r.err, "\n") != 1 || !strings.HasSuffix(r.err, "\n") {
		t.Errorf("stderr must be one line starting with \"skilldock: \"; got %q", r.err)
	}
}

// decodeJSON parses command output; fields it does not know are allowed.
func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON of the documented shape: %v\n%s", err, s)
	}
}

// decodeExact parses output whose fields are documented exactly.
func decodeExact(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output is not exactly the documented JSON: %v\n%s", err, s)
	}
}

type buildsJSON struct {
	Builds []struct {
		Tag         string `json:"tag"`
		Digest      string `json:"digest"`
		Name        string `json:"name"`
		Version     string `json:"version"`
		Description string `json:"description"`
		Size        int64  `json:"size"`
	} `json:"builds"`
}

func listBuilds(t *testing.T, store string) map[string]string {
	t.Helper()
	var b buildsJSON
	decodeExact(t, mustSD(t, store, "builds", "--output", "json").out, &b)
	tags := map[string]string{}
	for _, row := range b.Builds {
		tags[row.Tag] = row.Digest
	}
	return tags
}

type fsckJSON struct {
	Problems    []string `json:"problems"`
	Blobs       int      `json:"blobs"`
	Tags        int      `json:"tags"`
	Unreachable int      `json:"unreachableBlobs"`
	Temporary   int      `json:"temporaryFiles"`
}

// fsck runs fsck --output json and returns its report and exit code.
func fsck(t *testing.T, store string) (fsckJSON, runResult) {
	t.Helper()
	r := sd(t, store, "fsck", "--output", "json")
	var f fsckJSON
	decodeJSON(t, r.out, &f)
	return f, r
}

func requireFsckClean(t *testing.T, store string) {
	t.Helper()
	f, r := fsck(t, store)
	if r.code != 0 || len(f.Problems) != 0 {
		t.Fatalf("fsck: %s", r)
	}
	if f.Unreachable != 0 {
		t.Errorf("fsck: %d unreachable blob(s) left behind", f.Unreachable)
	}
}

type inspectJSON struct {
	Tag        string `json:"tag"`
	LocalBuild bool   `json:"localBuild"`
	Digest     string `json:"digest"`
	Layer      struct {
		Digest string `json:"digest"`
	} `json:"layer"`
}

func inspect(t *testing.T, store, tag string) inspectJSON {
	t.Helper()
	var in inspectJSON
	if err := json.Unmarshal([]byte(mustSD(t, store, "inspect", tag, "--output", "json").out), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

func blobPath(store, digest string) string {
	return filepath.Join(store, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// newSkill writes a small two-file skill called name.
func newSkill(t *testing.T, name string) string {
	t.Helper()
	return testutil.WriteSkill(t, t.TempDir(), name, map[string]string{"scripts/run.sh": "#!/bin/sh\necho " + name + "\n"})
}
