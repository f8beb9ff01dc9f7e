package testutil

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CredHelper is a Docker credential helper (docker-credential-NAME) on PATH
// for the length of a test: a real program that speaks the helper protocol,
// so credentials go through the same exec path as with pass, osxkeychain or
// docker-credential-ecr-login. It keeps each credential as the JSON it was
// given, in a file under Dir, and logs every call's action and server URL —
// never the secret — so a test can tell that the helper was used.
type CredHelper struct {
	Name string // the suffix config.json names: "credsStore": Name
	Dir  string
}

// The protocol, as docker-credential-helpers implements it: the action is
// the only argument; get and erase read a server URL on stdin, store reads
// {"ServerURL","Username","Secret"}; get prints that JSON; a missing
// credential is the exact line below on stdout with exit 1, which clients
// treat as "nothing saved" rather than a failure. Anything else on stdout
// with a non-zero exit is the helper's error message.
//
// A credential's file is named after the hex of its server URL, so any URL
// is a safe file name and the shell need not parse JSON to find it. When a
// file "fail" exists, every call prints it on stdout and exits 1; "fail-stderr"
// does the same on stderr, the way a helper that crashes reports.
const credHelperScript = `#!/bin/sh
dir=%DIR%
action=${1:-}
url=
case "$action" in
get|erase)
	IFS= read -r url || [ -n "$url" ] || url=
	;;
store)
	input=$(cat)
	url=$(printf '%s\n' "$input" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')
	;;
esac
printf '%s %s\n' "$action" "$url" >>"$dir/log"
if [ -f "$dir/fail" ]; then
	cat "$dir/fail"
	exit 1
fi
if [ -f "$dir/fail-stderr" ]; then
	cat "$dir/fail-stderr" >&2
	exit 1
fi
key=$(printf '%s' "$url" | od -An -v -tx1 | tr -d ' \n')
case "$action" in
get)
	if [ -f "$dir/creds/$key" ]; then
		cat "$dir/creds/$key"
		exit 0
	fi
	echo "credentials not found in native keychain"
	exit 1
	;;
store)
	if [ -z "$url" ]; then
		echo "no credentials server URL"
		exit 1
	fi
	umask 077
	printf '%s' "$input" >"$dir/creds/$key"
	;;
erase)
	if [ ! -f "$dir/creds/$key" ]; then
		echo "credentials not found in native keychain"
		exit 1
	fi
	rm -f "$dir/creds/$key"
	;;
list)
	sep=
	printf '{'
	for f in "$dir"/creds/*; do
		[ -f "$f" ] || continue
		u=$(sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p' "$f")
		n=$(sed -n 's/.*"Username":"\([^"]*\)".*/\1/p' "$f")
		printf '%s"%s":"%s"' "$sep" "$u" "$n"
		sep=,
	done
	printf '}\n'
	;;
*)
	echo "unknown action: $action"
	exit 1
	;;
esac
`

// InstallCredentialHelper writes docker-credential-NAME into a folder of the
// test's own and puts that folder first on PATH until the test ends (child
// processes inherit it; tests that call it cannot run in parallel). The
// helper starts with no credentials. config.json is the test's to write.
func InstallCredentialHelper(t testing.TB, name string) *CredHelper {
	t.Helper()
	RequireTool(t, "sh")
	root := t.TempDir()
	h := &CredHelper{Name: name, Dir: filepath.Join(root, "state")}
	bin := filepath.Join(root, "bin")
	for _, d := range []string{bin, filepath.Join(h.Dir, "creds")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The folder is written into the script rather than passed in the
	// environment, so two helpers on PATH keep separate credentials.
	script := strings.Replace(credHelperScript, "%DIR%", shellQuote(h.Dir), 1)
	path := filepath.Join(bin, "docker-credential-"+name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o755); err != nil { // the umask filters WriteFile's mode
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return h
}

// HelperCall is one call of a credential helper as its log recorded it.
type HelperCall struct {
	Action    string // get, store, erase or list
	ServerURL string // empty for list
}

// Calls returns every call made so far, oldest first.
func (h *CredHelper) Calls(t testing.TB) []HelperCall {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.Dir, "log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var calls []HelperCall
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		action, url, _ := strings.Cut(line, " ")
		calls = append(calls, HelperCall{Action: action, ServerURL: url})
	}
	return calls
}

// Called reports whether the helper was asked to do action for serverURL.
func (h *CredHelper) Called(t testing.TB, action, serverURL string) bool {
	t.Helper()
	for _, c := range h.Calls(t) {
		if c.Action == action && c.ServerURL == serverURL {
			return true
		}
	}
	return false
}

// ResetLog forgets the calls made so far.
func (h *CredHelper) ResetLog(t testing.TB) {
	t.Helper()
	if err := os.Remove(filepath.Join(h.Dir, "log")); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// HelperCredential is what a credential helper holds for one server.
type HelperCredential struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// Entries returns the credentials the helper holds, by server URL.
func (h *CredHelper) Entries(t testing.TB) map[string]HelperCredential {
	t.Helper()
	files, err := os.ReadDir(filepath.Join(h.Dir, "creds"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]HelperCredential{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(h.Dir, "creds", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var c HelperCredential
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("credential helper file %s: %v\n%s", f.Name(), err, data)
		}
		out[c.ServerURL] = c
	}
	return out
}

// Put saves a credential in the helper directly, the way "docker login" or a
// cloud CLI would have, without going through skilldock.
func (h *CredHelper) Put(t testing.TB, serverURL, username, secret string) {
	t.Helper()
	data, err := json.Marshal(HelperCredential{ServerURL: serverURL, Username: username, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	name := hex.EncodeToString([]byte(serverURL))
	if err := os.WriteFile(filepath.Join(h.Dir, "creds", name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Fail makes every later call print msg and exit 1: on stdout, where the
// protocol puts a helper's error message, or on stderr when toStderr is set.
// An empty msg makes the helper work again.
func (h *CredHelper) Fail(t testing.TB, msg string, toStderr bool) {
	t.Helper()
	for _, name := range []string{"fail", "fail-stderr"} {
		if err := os.Remove(filepath.Join(h.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if msg == "" {
		return
	}
	name := "fail"
	if toStderr {
		name = "fail-stderr"
	}
	if err := os.WriteFile(filepath.Join(h.Dir, name), []byte(msg+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
