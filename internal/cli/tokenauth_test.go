package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// Tests of registries that take bearer tokens from a token server, as GHCR,
// Docker Hub and Harbor do (testutil.StartTokenRegistry). They run the real
// binary, so everything the process writes to stdout and stderr is checked
// for the password.

// tokenAuth is one test's token registry, Docker config and store, and every
// run of the binary against them.
type tokenAuth struct {
	t          *testing.T
	reg        *testutil.TokenRegistry
	configFile string
	store      string
	runs       []runResult
}

// startTokenAuth isolates the test, starts a token registry of its own and,
// when the test ends, fails it if any run printed the password.
func startTokenAuth(t *testing.T) *tokenAuth {
	t.Helper()
	dockerConfig := testutil.Isolate(t)
	a := &tokenAuth{
		t:          t,
		reg:        testutil.StartTokenRegistry(t),
		configFile: filepath.Join(dockerConfig, "config.json"),
		store:      t.TempDir(),
	}
	t.Cleanup(func() {
		for _, r := range a.runs {
			if strings.Contains(r.out, a.reg.Password) || strings.Contains(r.err, a.reg.Password) {
				t.Errorf("the password reached the output:\n%s", r)
			}
		}
	})
	return a
}

// run runs the binary against the store with stdin and records the result.
func (a *tokenAuth) run(stdin string, args ...string) runResult {
	a.t.Helper()
	r := sdBin(a.t, stdin, a.store, args...)
	a.runs = append(a.runs, r)
	return r
}

// must runs the binary and fails the test unless it exits 0.
func (a *tokenAuth) must(args ...string) runResult {
	a.t.Helper()
	r := a.run("", args...)
	if r.code != 0 {
		a.t.Fatalf("skilldock %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func (a *tokenAuth) login(password string) runResult {
	a.t.Helper()
	return a.run(password+"\n", "login", a.reg.Addr, "-u", a.reg.User, "--password-stdin")
}

// build builds a new skill as ref and returns its folder and digest.
func (a *tokenAuth) build(name, ref string) (dir, digest string) {
	a.t.Helper()
	dir = newSkill(a.t, name)
	var b struct {
		Digest string `json:"digest"`
	}
	decodeJSON(a.t, a.must("build", dir, "-t", ref, "--output", "json").out, &b)
	return dir, b.Digest
}

// saved reports whether the Docker config holds credentials for the registry.
func (a *tokenAuth) saved() bool {
	a.t.Helper()
	data, err := os.ReadFile(a.configFile)
	if os.IsNotExist(err) {
		return false
	}
	var cfg struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err != nil || json.Unmarshal(data, &cfg) != nil {
		a.t.Fatalf("reading %s: %v\n%s", a.configFile, err, data)
	}
	_, ok := cfg.Auths[a.reg.Addr]
	return ok
}

func TestBearerTokenRegistryRoundTripsASkillAfterLogin(t *testing.T) {
	a := startTokenAuth(t)
	ref := a.reg.Addr + "/" + testutil.Repo(t) + ":1"
	dir, built := a.build("token-skill", ref)

	if r := a.login(a.reg.Password); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	if !a.saved() {
		t.Fatalf("login saved no credentials for %s in %s", a.reg.Addr, a.configFile)
	}
	afterLogin := a.reg.TokenRequests()
	if afterLogin == 0 {
		t.Fatal("login succeeded without asking the token server for a token")
	}

	var pushed pushJSON
	decodeJSON(t, a.must("push", ref, "--output", "json").out, &pushed)
	if pushed.Digest != built {
		t.Errorf("push printed digest %s; built %s", pushed.Digest, built)
	}
	afterPush := a.reg.TokenRequests()
	if afterPush == afterLogin {
		t.Error("push succeeded without asking the token server for a token")
	}

	a.must("builds", "rm", ref)
	var pulled pullJSON
	decodeJSON(t, a.must("pull", ref, "--output", "json").out, &pulled)
	if pulled.Digest != built || pulled.Name != "token-skill" {
		t.Errorf("pull: %+v; want digest %s of token-skill", pulled, built)
	}
	if a.reg.TokenRequests() == afterPush {
		t.Error("pull succeeded without asking the token server for a token")
	}
	var c contentJSON
	decodeJSON(t, a.must("content", ref, "--output", "json").out, &c)
	if got, want := sortedFiles(c.Files), dirFiles(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("content after the round trip lists %+v; want %+v", got, want)
	}
}

func TestLoginToABearerTokenRegistryWithAWrongPasswordFailsAndSavesNothing(t *testing.T) {
	a := startTokenAuth(t)
	// It holds the password, so the cleanup's check catches a leak of either.
	r := a.login("not-" + a.reg.Password)
	if r.code != ExitFail {
		t.Fatalf("login with a wrong password: %s; want exit %d", r, ExitFail)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, "username or password") {
		t.Errorf("stderr %q does not say the username or password was refused", r.err)
	}
	if a.reg.TokenRequests() == 0 {
		t.Error("the login failed before asking the token server")
	}
	if a.saved() {
		t.Errorf("%s holds credentials for %s after a failed login", a.configFile, a.reg.Addr)
	}
}

func TestBearerTokenRegistryWithoutCredentialsSaysToLogIn(t *testing.T) {
	a := startTokenAuth(t)
	ref := a.reg.Addr + "/" + testutil.Repo(t) + ":1"
	a.build("anonymous-skill", ref)
	for _, args := range [][]string{{"push", ref}, {"pull", ref}} {
		r := a.run("", args...)
		if r.code != ExitFail {
			t.Fatalf("%v without credentials: %s; want exit %d", args, r, ExitFail)
		}
		requireOneLineError(t, r)
		if want := "skilldock login " + a.reg.Addr; !strings.Contains(r.err, want) {
			t.Errorf("%v: stderr %q does not mention %q", args, r.err, want)
		}
		if !strings.Contains(r.err, "none are saved") {
			t.Errorf("%v: stderr %q does not say that no credentials are saved", args, r.err)
		}
	}
	// The token server gave an anonymous token; the registry refused it.
	if a.reg.TokenRequests() == 0 {
		t.Error("no anonymous token was asked for")
	}
}

func TestBearerTokenWithoutTheRepositoryScopeIsReportedAsDenied(t *testing.T) {
	a := startTokenAuth(t)
	if r := a.login(a.reg.Password); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	allowed := a.reg.Addr + "/" + testutil.Repo(t) + ":1"
	denied := a.reg.Addr + "/" + testutil.TokenDeniedPrefix + "skill:1"
	a.build("scoped-skill", allowed)
	a.must("tag", allowed, denied)
	// The same credentials push elsewhere, so a refusal is about the scope.
	a.must("push", allowed)

	for _, args := range [][]string{{"push", denied}, {"pull", denied}} {
		r := a.run("", args...)
		if r.code != ExitFail {
			t.Fatalf("%v: %s; want exit %d", args, r, ExitFail)
		}
		requireOneLineError(t, r)
		if !strings.Contains(r.err, "denied") {
			t.Errorf("%v: stderr %q does not say access was denied", args, r.err)
		}
		// The password is right: asking for it again would not help.
		for _, wrong := range []string{"password", "credentials", "skilldock login"} {
			if strings.Contains(r.err, wrong) {
				t.Errorf("%v: stderr %q blames the credentials (%q)", args, r.err, wrong)
			}
		}
	}
}

func TestBearerTokenRegistryWithAWrongSavedPasswordSaysToLogIn(t *testing.T) {
	a := startTokenAuth(t)
	ref := a.reg.Addr + "/" + testutil.Repo(t) + ":1"
	a.build("stale-login-skill", ref)
	if r := a.login(a.reg.Password); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	a.must("push", ref)
	// The password changed since the login, as after a token is revoked:
	// the token server now refuses what is saved. It holds the password, so
	// the cleanup's check catches a leak of either.
	auth := base64.StdEncoding.EncodeToString([]byte(a.reg.User + ":not-" + a.reg.Password))
	if err := os.WriteFile(a.configFile, []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, a.reg.Addr, auth)), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"push", ref}, {"pull", ref}} {
		before := a.reg.TokenRequests()
		r := a.run("", args...)
		if r.code != ExitFail {
			t.Fatalf("%v with a wrong saved password: %s; want exit %d", args, r, ExitFail)
		}
		requireOneLineError(t, r)
		if want := "skilldock login " + a.reg.Addr; !strings.Contains(r.err, want) {
			t.Errorf("%v: stderr %q does not mention %q", args, r.err, want)
		}
		// Saved credentials that are wrong are neither missing nor denied.
		for _, wrong := range []string{"denied", "none are saved"} {
			if strings.Contains(r.err, wrong) {
				t.Errorf("%v: stderr %q says %q", args, r.err, wrong)
			}
		}
		if a.reg.TokenRequests() == before {
			t.Errorf("%v failed before asking the token server", args)
		}
	}
}

// A 401 after a token was issued means "log in" or "denied" according to
// whether credentials were saved. The lookup behind the token already knows;
// asking the helper again would run it once more per failed request (and
// prompt twice, for a helper that prompts).
func TestBearerTokenRegistryAsksTheCredentialHelperOncePerToken(t *testing.T) {
	a := startTokenAuth(t)
	helper := testutil.InstallCredentialHelper(t, helperName)
	if err := os.WriteFile(a.configFile, []byte(fmt.Sprintf(`{"credsStore":%q}`, helperName)), 0o600); err != nil {
		t.Fatal(err)
	}
	allowed := a.reg.Addr + "/" + testutil.Repo(t) + ":1"
	denied := a.reg.Addr + "/" + testutil.TokenDeniedPrefix + "skill:1"
	a.build("helper-token-skill", allowed)
	a.must("tag", allowed, denied)

	gets := func() int {
		n := 0
		for _, c := range helper.Calls(t) {
			if c.Action == "get" {
				n++
			}
		}
		return n
	}
	check := func(args []string, want string) {
		t.Helper()
		helper.ResetLog(t)
		before := a.reg.TokenRequests()
		r := a.run("", args...)
		if r.code != ExitFail {
			t.Fatalf("%v: %s; want exit %d", args, r, ExitFail)
		}
		requireOneLineError(t, r)
		if !strings.Contains(r.err, want) {
			t.Errorf("%v: stderr %q does not say %q", args, r.err, want)
		}
		tokens := a.reg.TokenRequests() - before
		if n := gets(); n != tokens || n == 0 {
			t.Errorf("%v asked the helper for credentials %d times for %d token requests; want once per token request", args, n, tokens)
		}
	}

	// Nothing saved: the helper answers "not found", the token is anonymous.
	for _, args := range [][]string{{"push", allowed}, {"pull", allowed}} {
		check(args, "none are saved")
	}
	if r := a.login(a.reg.Password); r.code != 0 {
		t.Fatalf("login: %s", r)
	}
	if got := helper.Entries(t)[a.reg.Addr]; got.Username != a.reg.User {
		t.Fatalf("login saved user %q in the helper for %s; want %q", got.Username, a.reg.Addr, a.reg.User)
	}
	// Saved and right, but the token grants nothing on the repository.
	for _, args := range [][]string{{"push", denied}, {"pull", denied}} {
		check(args, "denied")
	}
}
