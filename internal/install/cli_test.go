package install_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/testutil"
)

// The tests in this file and in hostile_test.go and kill_test.go run the real
// binary, built once, against a machine of the test's own: every folder it
// reads or writes is a temporary folder named by HOME, the XDG variables and
// SKILLDOCK_STORE, which the child processes inherit.

func TestMain(m *testing.M) {
	testutil.KeepGoEnv()
	testutil.Main(m)
}

// sd runs skilldock and returns its result whatever the exit code.
func sd(t testing.TB, args ...string) testutil.Result {
	t.Helper()
	return testutil.Exec(t, nil, testutil.Binary(t), args...)
}

// mustSD runs skilldock and fails the test unless it exits 0.
func mustSD(t testing.TB, args ...string) testutil.Result {
	t.Helper()
	r := sd(t, args...)
	if r.Code != 0 {
		t.Fatalf("skilldock %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func decode(t testing.TB, r testutil.Result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("decoding %q: %v", r.Stdout, err)
	}
}

// buildTag builds the skill folder dir as tag and returns its digest.
func buildTag(t testing.TB, dir, tag string) string {
	t.Helper()
	var b struct{ Digest string }
	decode(t, mustSD(t, "build", dir, "-t", tag, "-o", "json"), &b)
	return b.Digest
}

func listJSON(t testing.TB) []records.Install {
	t.Helper()
	var l struct{ Skills []records.Install }
	decode(t, mustSD(t, "list", "-o", "json"), &l)
	return l.Skills
}

func TestVerifyNamesEachDriftedFileAndExitsOneUntilClean(t *testing.T) {
	m := testutil.IsolateMachine(t)
	dir := testutil.WriteSkill(t, t.TempDir(), "drift-skill", map[string]string{"a.txt": "a", "b.txt": "b", "c/d.txt": "d"})
	buildTag(t, dir, "drift-skill:1")
	mustSD(t, "install", "drift-skill:1", "--client", "claude-code")
	if r := mustSD(t, "verify"); !strings.Contains(r.Stdout, "ok") {
		t.Errorf("a clean install: %s", r)
	}
	target := filepath.Join(m.Home, ".claude", "skills", "drift-skill")
	mustWrite(t, filepath.Join(target, "a.txt"), "changed by hand")
	if err := os.Remove(filepath.Join(target, "c", "d.txt")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(target, "added.txt"), "new")

	r := sd(t, "verify")
	if r.Code != 1 {
		t.Fatalf("verify of a drifted folder: %s; want exit 1", r)
	}
	for _, line := range []string{"modified  a.txt", "missing   c/d.txt", "extra     added.txt", "drifted   drift-skill"} {
		if !strings.Contains(r.Stdout, line) {
			t.Errorf("verify output lacks %q:\n%s", line, r.Stdout)
		}
	}
	if !strings.Contains(r.Stderr, "drifted") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("stderr should be one line saying what drifted: %q", r.Stderr)
	}
	r = sd(t, "verify", "drift-skill", "-o", "json")
	var v struct {
		Drifted int
		Skills  []struct{ Name, Path, Modified, Missing, Extra any }
	}
	decode(t, r, &v)
	if r.Code != 1 || v.Drifted != 1 || len(v.Skills) != 1 ||
		fmt.Sprint(v.Skills[0].Modified, v.Skills[0].Missing, v.Skills[0].Extra) != "[a.txt] [c/d.txt] [added.txt]" {
		t.Errorf("verify -o json: %s", r)
	}

	mustSD(t, "install", "drift-skill:1", "--client", "claude-code", "--force")
	if r := sd(t, "verify"); r.Code != 0 {
		t.Errorf("verify after a forced reinstall: %s", r)
	}
	if r := sd(t, "verify", "no-such-skill"); r.Code != 1 || !strings.Contains(r.Stderr, "not installed") {
		t.Errorf("verify of a skill never installed: %s", r)
	}
}

func TestConcurrentInstallsFromManyProcessesAllLandAndAreRecorded(t *testing.T) {
	m := testutil.IsolateMachine(t)
	const n = 10
	names := make([]string, n)
	digests := map[string]string{}
	for i := range names {
		names[i] = fmt.Sprintf("para-%02d", i)
		files := map[string]string{}
		for j := 0; j < 10; j++ {
			files[fmt.Sprintf("refs/f%d.md", j)] = strings.Repeat(fmt.Sprintf("%s %d\n", names[i], j), 500)
		}
		dir := testutil.WriteSkill(t, t.TempDir(), names[i], files)
		digests[names[i]] = buildTag(t, dir, names[i]+":1")
	}
	// Every process starts on a machine where nothing exists yet: not the
	// records database, not the skills folders.
	bin := testutil.Binary(t)
	type result struct {
		name string
		r    testutil.Result
		err  error
	}
	results := make(chan result, n)
	for _, name := range names {
		go func() {
			r, err := testutil.ExecErr(nil, bin, "install", name+":1", "--client", "claude-code,cursor")
			results <- result{name, r, err}
		}()
	}
	for range names {
		res := <-results
		if res.err != nil || res.r.Code != 0 {
			t.Errorf("install %s: %v %s", res.name, res.err, res.r)
		}
	}
	list := listJSON(t)
	if len(list) != 2*n {
		t.Fatalf("%d records; want %d", len(list), 2*n)
	}
	for _, rec := range list {
		if rec.Digest != digests[rec.Name] {
			t.Errorf("%s: digest %s; want %s", rec.Path, rec.Digest, digests[rec.Name])
		}
	}
	if r := sd(t, "verify"); r.Code != 0 {
		t.Errorf("verify: %s", r)
	}
	for _, agent := range []string{".claude", ".cursor"} {
		entries, err := os.ReadDir(filepath.Join(m.Home, agent, "skills"))
		if err != nil || len(entries) != n {
			t.Errorf("%s/skills holds %d entries (%v); want exactly the %d skills", agent, len(entries), err, n)
		}
	}
}
