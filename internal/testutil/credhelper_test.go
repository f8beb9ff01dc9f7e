package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The credential helper must answer as docker-credential-helpers' programs
// do, or tests built on it would prove nothing about real helpers.
func TestCredentialHelperSpeaksTheDockerHelperProtocol(t *testing.T) {
	h := InstallCredentialHelper(t, "protocoltest")
	bin := "docker-credential-protocoltest" // found on PATH, as clients find it
	const server, user, secret = "registry.example:5000", "me", "s3cr<e>t&"
	in, err := json.Marshal(HelperCredential{ServerURL: server, Username: user, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	run := func(action, stdin string) Result {
		t.Helper()
		r, err := execIn(stdin, bin, action)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", bin, action, err, r)
		}
		return r
	}

	if r := run("get", server); r.Code != 1 || r.Stdout != "credentials not found in native keychain\n" {
		t.Errorf("get before store: %s; want exit 1 and the not-found line", r)
	}
	if r := run("store", string(in)); r.Code != 0 {
		t.Fatalf("store: %s", r)
	}
	var got HelperCredential
	r := run("get", server+"\n")
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &got) != nil {
		t.Fatalf("get: %s", r)
	}
	if want := (HelperCredential{server, user, secret}); got != want {
		t.Errorf("get answered %+v; want %+v", got, want)
	}
	var list map[string]string
	if r := run("list", ""); r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &list) != nil || !reflect.DeepEqual(list, map[string]string{server: user}) {
		t.Errorf("list: %s; want {%q: %q}", r, server, user)
	}
	if r := run("erase", server); r.Code != 0 {
		t.Errorf("erase: %s", r)
	}
	if len(h.Entries(t)) != 0 {
		t.Errorf("entries after erase: %+v", h.Entries(t))
	}
	if r := run("get", server); r.Code != 1 || !strings.Contains(r.Stdout, "credentials not found") {
		t.Errorf("get after erase: %s; want not found", r)
	}

	want := []HelperCall{{"get", server}, {"store", server}, {"get", server}, {"list", ""}, {"erase", server}, {"get", server}}
	if got := h.Calls(t); !reflect.DeepEqual(got, want) {
		t.Errorf("log: %+v; want %+v", got, want)
	}
	if log, err := os.ReadFile(filepath.Join(h.Dir, "log")); err != nil || strings.Contains(string(log), secret) {
		t.Errorf("the log holds the secret (or cannot be read: %v):\n%s", err, log)
	}
	h.Fail(t, "keychain is locked", false)
	if r := run("get", server); r.Code != 1 || r.Stdout != "keychain is locked\n" {
		t.Errorf("get while failing: %s; want exit 1 and the message on stdout", r)
	}
}

// execIn is ExecErr with stdin.
func execIn(stdin, name string, args ...string) (Result, error) {
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errOut.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.Exited() {
		r.Code, err = exit.ExitCode(), nil
	}
	return r, err
}
