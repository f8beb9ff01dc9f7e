package cli

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// The layer is scanned while it downloads, and a scan that refuses the
// content is final: the bomb is fetched once, not once per retry.
func TestPullRefusesAGzipBombWhileDownloadingAndDoesNotRetryIt(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := testutil.Repo(t)
	bomb := tarGz(t, "", map[string]string{
		"SKILL.md":  testutil.SkillMD("bomb-skill", "", "Expands."),
		"zeros.bin": string(make([]byte, 16<<20)),
	})
	layer := fmt.Sprintf("sha256:%x", sha256.Sum256(bomb))
	orasPush(t, addr+"/"+repo+":1", "bomb.tgz", bomb, layerType)

	proxy := testutil.StartProxy(t, addr, "")
	store := t.TempDir()
	r := sd(t, store, "pull", proxy.Addr+"/"+repo+":1", "--max-uncompressed", "1MiB")
	if r.code != ExitFail {
		t.Fatalf("pull of a 16 MiB bomb with --max-uncompressed 1MiB: %s; want exit 1", r)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, "--max-uncompressed") {
		t.Errorf("stderr %q does not name the limit", r.err)
	}
	if n := proxy.BlobGets(layer); n != 1 {
		t.Errorf("the refused layer was fetched %d times; a refusal by the scan must not be retried", n)
	}
	requireStoreClean(t, store)
}
