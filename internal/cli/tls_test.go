package cli

import (
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// Tests of registries served over HTTPS with a certificate from a private
// CA. They run the real binary: the system certificate pool, which honours
// SSL_CERT_FILE, and the proxy settings are read once per process.

// sdEnv runs the binary against store with extra environment.
func sdEnv(t *testing.T, env []string, store string, args ...string) runResult {
	t.Helper()
	r := testutil.Exec(t, env, testutil.Binary(t), append([]string{"--store", store}, args...)...)
	return runResult{code: r.Code, out: r.Stdout, err: r.Stderr}
}

func TestTLSRegistryIsTrustedThroughSSLCertFileOrInsecureOnly(t *testing.T) {
	testutil.Isolate(t)
	reg := testutil.StartTLSRegistry(t)
	t.Logf("TLS registry at %s (listening on %s)", reg.Addr, reg.LocalRegistry.Addr)
	// No CA of the machine's and none of the developer's: the system pool
	// alone, which cannot know a CA made a moment ago.
	base := append(append([]string(nil), reg.Env...), "SSL_CERT_FILE=", "SSL_CERT_DIR=")
	withCA := append(append([]string(nil), reg.Env...), "SSL_CERT_FILE="+reg.CAFile)
	builder := t.TempDir()
	dir := newSkill(t, "tls-skill")

	t.Run("unknown CA fails naming the certificate and both fixes", func(t *testing.T) {
		ref := reg.Addr + "/" + testutil.Repo(t) + ":1"
		buildJSON(t, builder, dir, ref)
		r := sdEnv(t, base, builder, "push", ref)
		if r.code != ExitFail {
			t.Fatalf("push to a registry whose CA is unknown: %s; want exit %d", r, ExitFail)
		}
		requireOneLineError(t, r)
		for _, want := range []string{"certificate", "SSL_CERT_FILE", "--insecure"} {
			if !strings.Contains(r.err, want) {
				t.Errorf("stderr %q does not mention %q", r.err, want)
			}
		}
		if !strings.Contains(r.err, "unknown authority") {
			t.Errorf("stderr %q does not say that the authority is unknown", r.err)
		}
		pull := sdEnv(t, base, t.TempDir(), "pull", ref)
		if pull.code != ExitFail || !strings.Contains(pull.err, "SSL_CERT_FILE") {
			t.Errorf("pull from a registry whose CA is unknown: %s; want exit %d naming SSL_CERT_FILE", pull, ExitFail)
		}
	})

	roundTrip := func(t *testing.T, env []string, flags ...string) {
		t.Helper()
		ref := reg.Addr + "/" + testutil.Repo(t) + ":1"
		want := buildJSON(t, builder, dir, ref)
		var p pushJSON
		r := sdEnv(t, env, builder, append(append([]string{"push", "--output", "json"}, flags...), ref)...)
		if r.code != 0 {
			t.Fatalf("push: %s", r)
		}
		decodeJSON(t, r.out, &p)
		if p.Digest != want {
			t.Errorf("pushed digest %s, built %s", p.Digest, want)
		}
		store := t.TempDir()
		r = sdEnv(t, env, store, append(append([]string{"pull", "--output", "json"}, flags...), ref)...)
		if r.code != 0 {
			t.Fatalf("pull: %s", r)
		}
		var got pullJSON
		decodeJSON(t, r.out, &got)
		if got.Digest != want || got.Name != "tls-skill" {
			t.Errorf("pulled %+v; want digest %s of tls-skill", got, want)
		}
		requireStoreClean(t, store)
	}
	t.Run("SSL_CERT_FILE naming the CA lets push and pull verify the registry", func(t *testing.T) {
		roundTrip(t, withCA)
	})
	t.Run("insecure pushes and pulls without the CA", func(t *testing.T) {
		roundTrip(t, base, "--insecure")
	})
}
