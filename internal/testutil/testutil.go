package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// RequireToolsEnv, when "1", turns a missing external tool from a skip into
// a failure; "make test" sets it so CI cannot pass by skipping.
const RequireToolsEnv = "SKILLDOCK_REQUIRE_TOOLS"

// RequireTool returns the path of an external program, skipping the test
// when it is missing unless SKILLDOCK_REQUIRE_TOOLS=1, in which case the test
// fails.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv(RequireToolsEnv) == "1" {
		t.Fatalf("%s is required (%s=1) but not found: %v; run scripts/test-deps.sh", name, RequireToolsEnv, err)
	}
	t.Skipf("%s not found; skipping (set %s=1 to make this a failure)", name, RequireToolsEnv)
	return ""
}

var (
	tmpRoot     string // removed by Main
	tmpRootOnce sync.Once
	tmpRootErr  error

	binOnce sync.Once
	binPath string
	binErr  error

	// origEnv holds HOME and XDG_DATA_HOME as they were before Main
	// isolated the tests, so "go build" keeps using the developer's module
	// and build caches (which default to folders under HOME).
	origEnv []string
)

func sharedTemp() (string, error) {
	tmpRootOnce.Do(func() { tmpRoot, tmpRootErr = os.MkdirTemp("", "skilldock-test-") })
	return tmpRoot, tmpRootErr
}

// Main isolates a test binary from the developer's machine and runs it: HOME
// and XDG_DATA_HOME point at a temporary folder (so nothing can reach the
// default store), SKILLDOCK_STORE and SOURCE_DATE_EPOCH are unset (so neither
// leaks into digests or store choice), and everything is removed afterwards.
// Call it from TestMain. Environment changes apply to child processes too.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	KeepGoEnv()
	root, err := sharedTemp()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testutil:", err)
		return 1
	}
	defer os.RemoveAll(root)
	home := filepath.Join(root, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "testutil:", err)
		return 1
	}
	for _, k := range []string{"HOME", "XDG_DATA_HOME"} {
		if v, ok := os.LookupEnv(k); ok {
			origEnv = append(origEnv, k+"="+v)
		}
	}
	os.Setenv("HOME", home)
	os.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	os.Unsetenv("SKILLDOCK_STORE")
	os.Unsetenv("SOURCE_DATE_EPOCH")
	return m.Run()
}

// Binary builds cmd/skilldock once per test binary and returns its path.
// It is built without the race detector so process-heavy tests stay fast;
// the race detector covers the in-process tests.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		root, err := sharedTemp()
		if err != nil {
			binErr = err
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			if gr := os.Getenv("GOROOT"); gr != "" {
				goTool = filepath.Join(gr, "bin", "go")
			} else {
				binErr = fmt.Errorf("go tool not found: %w", err)
				return
			}
		}
		out := filepath.Join(root, "bin", "skilldock")
		// The package path works from any folder inside the module, which is
		// where "go test" runs each package's tests.
		cmd := exec.Command(goTool, "build", "-o", out, "github.com/skilldock/skilldock/cmd/skilldock")
		cmd.Env = append(os.Environ(), origEnv...)
		if b, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/skilldock: %v\n%s", err, b)
			return
		}
		binPath = out
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// Result is a finished run of the binary.
type Result struct {
	Code           int
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// Exec runs a program to completion and reports its exit code; it fails the
// test only when the program cannot be started or dies by a signal.
func Exec(t testing.TB, env []string, name string, args ...string) Result {
	t.Helper()
	r, err := ExecErr(env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, r)
	}
	return r
}

// ExecErr is Exec for goroutines other than the test's own, where t.Fatal
// is not allowed.
func ExecErr(env []string, name string, args ...string) (Result, error) {
	return ExecInput(env, "", name, args...)
}

// ExecInput is ExecErr with stdin given; empty stdin is /dev/null.
func ExecInput(env []string, stdin, name string, args ...string) (Result, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.Code = exit.ExitCode()
	default:
		return r, err
	}
	return r, nil
}

// Skilldock runs the real binary against store with args.
func Skilldock(t testing.TB, store string, args ...string) Result {
	t.Helper()
	return Exec(t, nil, Binary(t), append([]string{"--store", store}, args...)...)
}

// MustSkilldock runs the binary and fails the test unless it exits 0.
func MustSkilldock(t testing.TB, store string, args ...string) Result {
	t.Helper()
	r := Skilldock(t, store, args...)
	if r.Code != 0 {
		t.Fatalf("skilldock %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// SkillMD is a minimal valid SKILL.md for a skill called name.
func SkillMD(name, version, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\nname: %s\ndescription: Test skill %s. Use it in tests only.\n", name, name)
	if version != "" {
		fmt.Fprintf(&b, "metadata:\n  version: %q\n", version)
	}
	b.WriteString("license: Apache-2.0\n---\n\n# " + name + "\n\n" + body + "\n")
	return b.String()
}

// WriteSkill creates parent/name holding a SKILL.md for name (unless files
// provides one) and the given files (slash paths; a path ending in ".sh" is
// made executable). It returns the skill folder.
func WriteSkill(t testing.TB, parent, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	all := map[string]string{"SKILL.md": SkillMD(name, "1.0.0", "Says hello.")}
	for p, c := range files {
		all[p] = c
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(all[p]), mode); err != nil {
			t.Fatal(err)
		}
		// WriteFile's mode is filtered by the umask; set it exactly.
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// BlobFiles lists the digests ("sha256:<hex>") of every file under
// store/blobs/sha256.
func BlobFiles(t testing.TB, store string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(store, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, "sha256:"+e.Name())
	}
	return out
}

// Reachable walks an OCI layout the way the spec defines it, independently
// of the store package: every descriptor in index.json, and for manifests
// and indexes everything they list (config, layers, manifests, blobs). It
// returns the set of reachable digests.
func Reachable(t testing.TB, store string) map[string]bool {
	t.Helper()
	type node struct {
		MediaType string `json:"mediaType"`
		Config    *desc  `json:"config"`
		Layers    []desc `json:"layers"`
		Manifests []desc `json:"manifests"`
		Blobs     []desc `json:"blobs"`
	}
	read := func(p string) node {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		var n node
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("parsing %s: %v", p, err)
		}
		return n
	}
	live := map[string]bool{}
	var visit func(d desc)
	visit = func(d desc) {
		if live[d.Digest] {
			return
		}
		live[d.Digest] = true
		if !strings.HasSuffix(d.MediaType, "manifest.v1+json") && !strings.HasSuffix(d.MediaType, "index.v1+json") &&
			!strings.HasSuffix(d.MediaType, "manifest.v2+json") && !strings.HasSuffix(d.MediaType, "list.v2+json") {
			return
		}
		n := read(filepath.Join(store, "blobs", "sha256", strings.TrimPrefix(d.Digest, "sha256:")))
		if n.Config != nil {
			visit(*n.Config)
		}
		for _, l := range [][]desc{n.Layers, n.Manifests, n.Blobs} {
			for _, k := range l {
				visit(k)
			}
		}
	}
	for _, d := range read(filepath.Join(store, "index.json")).Manifests {
		visit(d)
	}
	return live
}

type desc struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
}

// RequireNoGarbage fails unless every file under blobs/sha256 is reachable
// from index.json and every reachable blob is present.
func RequireNoGarbage(t testing.TB, store string) {
	t.Helper()
	live := Reachable(t, store)
	present := map[string]bool{}
	for _, d := range BlobFiles(t, store) {
		present[d] = true
		if !live[d] {
			t.Errorf("blob %s is in the store but no tag reaches it", d)
		}
	}
	for d := range live {
		if !present[d] {
			t.Errorf("blob %s is reachable but missing", d)
		}
	}
}
