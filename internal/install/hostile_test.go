package install_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// defaultCaps are extract.DefaultLimits with the service's total cap: the
// corpus is sized against what a real install enforces.
var defaultCaps = testutil.LayerCaps{MaxFiles: 1000, MaxFileSize: 50 << 20, MaxTotalSize: 500 << 20, RatioFloor: 8 << 20}

// refusedBeforeExtraction lists the cases the pull refuses while reading the
// layer's file list, before extraction: its message names the cap or the
// broken tar rather than an entry.
var refusedBeforeExtraction = map[string]string{
	"total-over-cap": "expands to more than 500 MiB",
	"nul":            "not a valid tar",
}

func TestHostileArtifactsFromARegistryAreRefusedAndKeepThePreviousInstall(t *testing.T) {
	m := testutil.IsolateMachine(t)
	addr, _, _ := testutil.Registry(t, false)
	const name = "hostile-skill"
	base := addr + "/" + testutil.Repo(t)
	ref := base + "/" + name
	// The folder escaping entries aim at: outside HOME, with a file a link
	// would reach.
	escape := t.TempDir()
	mustWrite(t, filepath.Join(escape, "victim"), "do not touch\n")

	good := testutil.NewLayer(t)
	good.File("SKILL.md", testutil.SkillMD(name, "1.0.0", "The good version."), 0o644)
	good.File("references/guide.md", "# Guide\n", 0o644)
	good.File("scripts/run.sh", "#!/bin/sh\necho good\n", 0o755)
	testutil.PushLayer(t, ref+":good", good.Bytes(), testutil.SkillLabels(name))
	mustSD(t, "install", ref+":good", "--client", "claude-code")
	target := filepath.Join(m.Home, ".claude", "skills", name)
	goodFiles := testutil.Files(t, target)
	if len(goodFiles) != 3 {
		t.Fatalf("the good install holds %v", keys(goodFiles))
	}

	attempt := func(t *testing.T, wantInErr string, args ...string) {
		t.Helper()
		before := testutil.Snapshot(t, m.Home, escape)
		r := sd(t, args...)
		if r.Code == 0 {
			t.Fatalf("skilldock %s succeeded; want a refusal: %s", strings.Join(args, " "), r)
		}
		if !strings.Contains(r.Stderr, wantInErr) {
			t.Errorf("stderr %q does not contain %s", r.Stderr, wantInErr)
		}
		if d := before.Diff(testutil.Snapshot(t, m.Home, escape)); len(d) > 0 {
			t.Errorf("the refused install changed something:\n%s", strings.Join(d, "\n"))
		}
		if r := sd(t, "verify"); r.Code != 0 {
			t.Errorf("verify after the refusal: %s", r)
		}
		if got := testutil.Files(t, target); fmt.Sprint(got) != fmt.Sprint(goodFiles) {
			t.Errorf("the previous install changed: %v", keys(got))
		}
	}

	for _, c := range testutil.HostileLayers(t, name, escape, defaultCaps) {
		t.Run(c.Case, func(t *testing.T) {
			testutil.PushLayer(t, ref+":"+c.Case, c.Layer, testutil.SkillLabels(name))
			want, early := refusedBeforeExtraction[c.Case]
			if !early {
				want = fmt.Sprintf("%q", c.Entry)
			}
			attempt(t, want, "install", ref+":"+c.Case, "--client", "claude-code")
		})
	}

	t.Run("name-escaping-its-folder", func(t *testing.T) {
		const evil = "../evil"
		l := testutil.NewLayer(t)
		l.File("SKILL.md", testutil.SkillMD(evil, "1.0.0", "x"), 0o644)
		evilRef := base + "/evil:1"
		testutil.PushLayer(t, evilRef, l.Bytes(), testutil.SkillLabels(evil))
		attempt(t, `"../evil"`, "install", evilRef, "--client", "claude-code")
		attempt(t, `"../evil"`, "install", evilRef, "--client", "claude-code", "--allow-name-mismatch")
		attempt(t, `"../evil"`, "install", evilRef, "--client", "claude-code", "--allow-name-mismatch", "--force")
		if _, err := os.Lstat(filepath.Join(m.Home, ".claude", "evil")); !os.IsNotExist(err) {
			t.Errorf("something was written beside the skills folder: %v", err)
		}
	})
}
