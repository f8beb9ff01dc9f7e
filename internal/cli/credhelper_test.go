package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// Tests of credentials kept by a Docker credential helper, named by
// "credsStore" or "credHelpers" in config.json. The helper is a real program
// on PATH (testutil.InstallCredentialHelper) and skilldock is the real
// binary, so the helper runs as a child process just as
// docker-credential-pass would, sharing skilldock's stderr.

const helperName = "skilldocktest"

// sdBin runs the binary against store with stdin; PATH and DOCKER_CONFIG
// come from the test's environment.
func sdBin(t *testing.T, stdin, store string, args ...string) runResult {
	t.Helper()
	res, err := testutil.ExecInput(nil, stdin, testutil.Binary(t), append([]string{"--store", store}, args...)...)
	r := runResult{out: res.Stdout, err: res.Stderr, code: res.Code}
	if err != nil {
		t.Fatalf("skilldock %s: %v\n%s", strings.Join(args, " "), err, r)
	}
	return r
}

// writeDockerConfig replaces config.json in the Docker config folder.
func writeDockerConfig(t *testing.T, dockerConfig, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// requireNoSecret fails if secret appears in any run's output.
func requireNoSecret(t *testing.T, secret string, runs []runResult) {
	t.Helper()
	for _, r := range runs {
		if strings.Contains(r.out, secret) || strings.Contains(r.err, secret) {
			t.Errorf("a password reached the output:\n%s", r)
		}
	}
}

func TestCredsStoreHelperKeepsLoginCredentialsOutOfConfigJSON(t *testing.T) {
	dockerConfig := testutil.Isolate(t)
	helper := testutil.InstallCredentialHelper(t, helperName)
	addr, user, pass := testutil.Registry(t, true)
	configFile := filepath.Join(dockerConfig, "config.json")
	writeDockerConfig(t, dockerConfig, fmt.Sprintf(`{"credsStore":%q}`, helperName))
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1"
	built := buildJSON(t, store, newSkill(t, "helper-skill"), ref)

	var runs []runResult
	run := func(stdin, store string, args ...string) runResult {
		t.Helper()
		r := sdBin(t, stdin, store, args...)
		runs = append(runs, r)
		return r
	}
	defer func() { requireNoSecret(t, pass, runs) }()

	if r := run(pass+"\n", store, "login", addr, "-u", user, "--password-stdin"); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	if !helper.Called(t, "store", addr) {
		t.Errorf("login did not ask the helper to store credentials for %s; calls: %+v", addr, helper.Calls(t))
	}
	got := helper.Entries(t)[addr]
	if got.Username != user || got.Secret != pass {
		t.Errorf("the helper holds user %q (password saved: %v) for %s; want the login's user and password", got.Username, got.Secret == pass, addr)
	}
	data, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(pass)) {
		t.Errorf("config.json holds the password:\n%s", data)
	}
	var cfg struct {
		CredsStore string                     `json:"credsStore"`
		Auths      map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("config.json after login: %v\n%s", err, data)
	}
	if cfg.CredsStore != helperName {
		t.Errorf("config.json names credsStore %q after login; want %q kept", cfg.CredsStore, helperName)
	}
	if a, ok := cfg.Auths[addr]; ok && strings.Contains(string(a), "auth") {
		t.Errorf("config.json holds an auths entry with credentials for %s: %s", addr, a)
	}

	for _, c := range []struct {
		store string
		args  []string
	}{
		{store, []string{"push", ref, "--output", "json"}},
		{t.TempDir(), []string{"pull", ref, "--output", "json"}},
	} {
		helper.ResetLog(t)
		if r := run("", c.store, c.args...); r.code != 0 || !strings.Contains(r.out, built) {
			t.Fatalf("%s with the helper's credentials: %s", c.args[0], r)
		}
		if !helper.Called(t, "get", addr) {
			t.Errorf("%s did not ask the helper for %s; calls: %+v", c.args[0], addr, helper.Calls(t))
		}
	}

	if r := run("", store, "logout", addr); r.code != 0 {
		t.Fatalf("logout: %s", r)
	}
	if !helper.Called(t, "erase", addr) {
		t.Errorf("logout did not ask the helper to erase %s; calls: %+v", addr, helper.Calls(t))
	}
	if e := helper.Entries(t); len(e) != 0 {
		t.Errorf("the helper still holds credentials after logout: %v", len(e))
	}
	r := run("", store, "push", ref)
	if r.code != ExitFail {
		t.Fatalf("push after logout: %s; want exit %d", r, ExitFail)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, "skilldock login "+addr) {
		t.Errorf("push after logout: stderr %q does not say to run \"skilldock login %s\"", r.err, addr)
	}
}

func TestCredHelpersEntryServesOneRegistrysCredentials(t *testing.T) {
	dockerConfig := testutil.Isolate(t)
	helper := testutil.InstallCredentialHelper(t, helperName)
	addr, user, pass := testutil.Registry(t, true)
	// Saved by something other than skilldock, the way a cloud CLI fills
	// its own helper.
	helper.Put(t, addr, user, pass)
	writeDockerConfig(t, dockerConfig, fmt.Sprintf(`{"credHelpers":{%q:%q}}`, addr, helperName))
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1"
	built := buildJSON(t, store, newSkill(t, "cred-helpers-skill"), ref)

	push := sdBin(t, "", store, "push", ref, "--output", "json")
	if push.code != 0 || !strings.Contains(push.out, built) {
		t.Fatalf("push with the credHelpers entry: %s", push)
	}
	pull := sdBin(t, "", t.TempDir(), "pull", ref, "--output", "json")
	if pull.code != 0 || !strings.Contains(pull.out, built) {
		t.Fatalf("pull with the credHelpers entry: %s", pull)
	}
	requireNoSecret(t, pass, []runResult{push, pull})
	calls := helper.Calls(t)
	if !helper.Called(t, "get", addr) {
		t.Errorf("push and pull did not ask the helper for %s; calls: %+v", addr, calls)
	}
	for _, c := range calls {
		if c.Action != "get" {
			t.Errorf("push or pull asked the helper to %s %s; want gets only", c.Action, c.ServerURL)
		}
	}
}

// requireHelperError checks a failure put down to the credential helper:
// exit 1, one line of skilldock's own naming the helper and the reason, and
// nothing that sends the user to "skilldock login" as if no credentials
// were saved. Lines before it may only be the helper's own stderr, which it
// shares with skilldock (as with docker).
func requireHelperError(t *testing.T, what string, r runResult, helperOut string, want ...string) {
	t.Helper()
	if r.code != ExitFail {
		t.Errorf("%s: %s; want exit %d", what, r, ExitFail)
		return
	}
	own := r
	if helperOut != "" {
		lines := strings.SplitAfter(r.err, "\n")
		for len(lines) > 0 && lines[0] == helperOut+"\n" {
			lines = lines[1:]
		}
		own.err = strings.Join(lines, "")
	}
	requireOneLineError(t, own)
	for _, w := range append([]string{"credential helper docker-credential-"}, want...) {
		if !strings.Contains(own.err, w) {
			t.Errorf("%s: stderr %q does not mention %q", what, own.err, w)
		}
	}
	for _, w := range []string{"none are saved", "skilldock login"} {
		if strings.Contains(own.err, w) {
			t.Errorf("%s: stderr %q says %q, as if no credentials were saved", what, own.err, w)
		}
	}
}

func TestFailingCredentialHelperIsNamedInOneLineError(t *testing.T) {
	dockerConfig := testutil.Isolate(t)
	helper := testutil.InstallCredentialHelper(t, helperName)
	addr, user, pass := testutil.Registry(t, true)
	helper.Put(t, addr, user, pass)
	config := fmt.Sprintf(`{"credsStore":%q}`, helperName)
	writeDockerConfig(t, dockerConfig, config)
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1"
	buildJSON(t, store, newSkill(t, "failing-helper-skill"), ref)
	const reason = "keychain is locked"

	for _, tc := range []struct {
		name     string
		toStderr bool
		want     string // what skilldock's line gives as the reason
	}{
		{"message on stdout", false, reason},
		{"message on stderr", true, "exited with status 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			helper.Fail(t, reason, tc.toStderr)
			helperOut := ""
			if tc.toStderr {
				helperOut = reason
			}
			var runs []runResult
			for _, c := range []struct {
				args []string
				verb string
			}{
				{[]string{"push", ref}, "could not get"},
				{[]string{"pull", ref}, "could not get"},
				{[]string{"login", addr, "-u", user, "--password-stdin"}, "could not save"},
			} {
				helper.ResetLog(t)
				r := sdBin(t, pass+"\n", store, c.args...)
				runs = append(runs, r)
				requireHelperError(t, c.args[0], r, helperOut, helperName, c.verb, addr, tc.want, "config.json")
				if len(helper.Calls(t)) == 0 {
					t.Errorf("%s did not run the helper", c.args[0])
				}
			}
			// A helper that cannot save is not a reason to save in the clear.
			if data, err := os.ReadFile(filepath.Join(dockerConfig, "config.json")); err != nil || string(data) != config {
				t.Errorf("config.json after a failed login: %v\n%s\nwant it unchanged", err, data)
			}
			// Logout fails too, naming the helper and what it could not do.
			r := sdBin(t, "", store, "logout", addr)
			runs = append(runs, r)
			if r.code != ExitFail || !strings.Contains(r.err, "credential helper docker-credential-skilldocktest could not remove the credentials for "+addr) {
				t.Errorf("logout with a failing helper: %s; want exit %d", r, ExitFail)
			}
			requireNoSecret(t, pass, runs)
		})
	}

	// The same helper, working again, serves the same credentials.
	helper.Fail(t, "", false)
	if r := sdBin(t, "", store, "push", ref); r.code != 0 {
		t.Errorf("push once the helper works again: %s", r)
	}
}

func TestMissingCredentialHelperIsNamedInOneLineError(t *testing.T) {
	dockerConfig := testutil.Isolate(t)
	addr, user, pass := testutil.Registry(t, true)
	const config = `{"credsStore":"skilldock-absent"}`
	writeDockerConfig(t, dockerConfig, config)
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1"
	buildJSON(t, store, newSkill(t, "missing-helper-skill"), ref)

	var runs []runResult
	for _, args := range [][]string{{"push", ref}, {"pull", ref}, {"login", addr, "-u", user, "--password-stdin"}} {
		r := sdBin(t, pass+"\n", store, args...)
		runs = append(runs, r)
		requireHelperError(t, args[0], r, "", "docker-credential-skilldock-absent is not on PATH", filepath.Join(dockerConfig, "config.json"))
	}
	if data, err := os.ReadFile(filepath.Join(dockerConfig, "config.json")); err != nil || string(data) != config {
		t.Errorf("config.json after a failed login: %v\n%s\nwant it unchanged", err, data)
	}
	requireNoSecret(t, pass, runs)
}

func TestLogoutWithNothingSavedInACredentialHelperSucceedsAsWithoutOne(t *testing.T) {
	dockerConfig := testutil.Isolate(t)
	helper := testutil.InstallCredentialHelper(t, helperName)
	// No registry is asked: logout only forgets.
	const server = "registry.skilldock.test:5000"
	store := t.TempDir()

	// What logout does when config.json holds nothing for the server.
	want := sdBin(t, "", store, "logout", server)
	if want.code != 0 {
		t.Fatalf("logout with nothing saved and no helper: %s", want)
	}

	writeDockerConfig(t, dockerConfig, fmt.Sprintf(`{"credsStore":%q}`, helperName))
	helper.Put(t, server, "me", "s3cret")
	if r := sdBin(t, "", store, "logout", server); r.code != 0 || len(helper.Entries(t)) != 0 {
		t.Fatalf("logout with saved credentials: %s; helper holds %d entries", r, len(helper.Entries(t)))
	}
	helper.ResetLog(t)
	// The helper answers "credentials not found in native keychain" with
	// exit 1: the protocol's "nothing saved", not a failure.
	got := sdBin(t, "", store, "logout", server)
	if got != want {
		t.Errorf("logout with nothing saved in the helper:\n%s\nwant as without a helper:\n%s", got, want)
	}
	if !helper.Called(t, "erase", server) {
		t.Errorf("the second logout did not ask the helper to erase %s; calls: %+v", server, helper.Calls(t))
	}

	// A helper that does fail is still named.
	helper.Fail(t, "keychain is locked", false)
	r := sdBin(t, "", store, "logout", server)
	requireHelperError(t, "logout with a failing helper", r, "", "could not remove", server, "keychain is locked")
}

func TestFailingCredentialHelperNeverRepeatsWhatMayBeASecret(t *testing.T) {
	dockerConfig := testutil.Isolate(t)
	helper := testutil.InstallCredentialHelper(t, helperName)
	addr, user, pass := testutil.Registry(t, true)
	writeDockerConfig(t, dockerConfig, fmt.Sprintf(`{"credsStore":%q}`, helperName))
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1"
	buildJSON(t, store, newSkill(t, "leaky-helper-skill"), ref)
	// What a helper that answers every call as it would a get prints.
	credJSON := fmt.Sprintf(`{"ServerURL":%q,"Username":%q,"Secret":%q}`, addr, user, pass)
	long := strings.Repeat("x", 5000)
	const exited = "it exited with status 1"

	for _, tc := range []struct {
		name   string
		stdout string // the helper's whole stdout, exit 1
		secret string // what must never be printed; empty for none
		want   string // the reason skilldock's line gives
	}{
		{"credentials JSON", credJSON, pass, exited},
		{"JSON over several lines", "{\n  \"Secret\": \"" + pass + "\"\n}", pass, exited},
		{"JSON fields without braces", fmt.Sprintf(`"Username":%q,"Password":%q`, user, pass), pass, exited},
		{"a bare JSON string", fmt.Sprintf("%q", pass), pass, exited},
		{"the word secret", "wrong secret " + pass, pass, exited},
		{"the word Secret in capitals", "SECRET=" + pass, pass, exited},
		{"a very long line", long, long[:maxReasonShown+1], long[:maxReasonShown] + "…"},
		{"plain words", "keychain is locked", "", "keychain is locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			helper.Fail(t, tc.stdout, false)
			for _, c := range []struct {
				args []string
				verb string
			}{
				{[]string{"push", ref}, "could not get"},
				{[]string{"login", addr, "-u", user, "--password-stdin"}, "could not save"},
				{[]string{"logout", addr}, "could not remove"},
			} {
				r := sdBin(t, pass+"\n", store, c.args...)
				requireHelperError(t, c.args[0], r, "", helperName, c.verb, addr, tc.want)
				if tc.secret != "" && (strings.Contains(r.out, tc.secret) || strings.Contains(r.err, tc.secret)) {
					t.Errorf("%s repeated what the helper printed:\n%s", c.args[0], r)
				}
			}
		})
	}
}

// maxReasonShown is how much of a helper's message skilldock repeats.
const maxReasonShown = 200
