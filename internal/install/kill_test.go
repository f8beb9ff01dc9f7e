package install_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/testutil"
)

// killSeedEnv replays the kill schedule of a failed run.
const killSeedEnv = "SKILLDOCK_KILL_SEED"

func TestInstallKilledAtRandomMomentsLeavesOneWholeVersionAndTrueRecords(t *testing.T) {
	m := testutil.IsolateMachine(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(killSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", killSeedEnv, s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with %s=%d)", seed, killSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	// Two versions of one skill, a few MiB in many files, so an install
	// takes long enough to be killed in every phase. Every file differs
	// between them and each has a file the other lacks, so any mix shows.
	const name = "kill-skill"
	type version struct {
		tag, digest string
		files       map[string]string
	}
	versions := make([]version, 2)
	for i := range versions {
		files := map[string]string{fmt.Sprintf("only-v%d.txt", i+1): "only here\n"}
		for j := 0; j < 48; j++ {
			files[fmt.Sprintf("references/part-%02d.md", j)] = randomText(rng, 64<<10)
		}
		dir := testutil.WriteSkill(t, t.TempDir(), name, files)
		all := testutil.Files(t, dir)
		tag := fmt.Sprintf("%s:v%d", name, i+1)
		versions[i] = version{tag: tag, digest: buildTag(t, dir, tag), files: all}
	}
	skills := filepath.Join(m.Home, ".claude", "skills")
	target := filepath.Join(skills, name)

	// One full install first: the folder then always holds some version,
	// and its duration bounds the random delays.
	start := time.Now()
	mustSD(t, "install", versions[0].tag, "--client", "claude-code")
	full := time.Since(start)
	t.Logf("a full install takes %v", full)

	// check asserts the invariants that must hold after any kill, through
	// the next successful command: list.
	check := func(i int, killed bool) {
		t.Helper()
		list := listJSON(t)
		if len(list) != 1 || list[0].Path != target {
			t.Fatalf("iteration %d: records %+v; want one at %s", i, list, target)
		}
		var want *version
		for k := range versions {
			if versions[k].digest == list[0].Digest {
				want = &versions[k]
			}
		}
		if want == nil {
			t.Fatalf("iteration %d: recorded digest %s is neither version", i, list[0].Digest)
		}
		// After list, a successful command, no staging folder is left.
		entries, err := os.ReadDir(skills)
		if err != nil || len(entries) != 1 || entries[0].Name() != name {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("iteration %d (killed %v): %s holds %v (%v); want only %s", i, killed, skills, names, err, name)
		}
		got := testutil.Files(t, target)
		if fmt.Sprint(got) != fmt.Sprint(want.files) {
			t.Fatalf("iteration %d (killed %v): the folder is not %s whole, as recorded; it has %d files: %v",
				i, killed, want.tag, len(got), describeMix(got, versions[0].files, versions[1].files))
		}
		var info struct{ Installs []records.Install }
		decode(t, mustSD(t, "info", name, "-o", "json"), &info)
		if len(info.Installs) != 1 || info.Installs[0].Digest != want.digest || len(info.Installs[0].Files) != len(want.files) {
			t.Fatalf("iteration %d: info disagrees with the disk: %+v", i, info.Installs)
		}
		if i%6 == 0 { // the same comparison from the binary's side, now and then
			if r := sd(t, "verify", name); r.Code != 0 {
				t.Fatalf("iteration %d: verify: %s", i, r)
			}
		}
	}

	bin := testutil.Binary(t)
	iterations := 50
	if testing.Short() {
		iterations = 10
	}
	kills := 0
	for i := 0; i < iterations; i++ {
		v := versions[(i+1)%2]
		cmd := exec.Command(bin, "install", v.tag, "--client", "claude-code")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		delay := time.Duration(rng.Int64N(int64(full)))
		timer := time.NewTimer(delay)
		killed := false
		select {
		case <-timer.C:
			err := cmd.Process.Kill()
			switch {
			case errors.Is(err, os.ErrProcessDone):
				// It finished between the timer and the kill.
			case err != nil:
				t.Fatal(err)
			default:
				killed = true
			}
			if werr := <-done; !killed && werr != nil {
				t.Fatalf("iteration %d: install %s failed on its own: %v", i, v.tag, werr)
			}
		case err := <-done:
			timer.Stop()
			if err != nil {
				t.Fatalf("iteration %d: install %s failed on its own: %v", i, v.tag, err)
			}
		}
		if killed {
			kills++
		}
		check(i, killed)
	}
	t.Logf("%d of %d installs killed", kills, iterations)
	if kills < iterations/4 {
		t.Errorf("only %d of %d installs were killed; the delays do not cover the install", kills, iterations)
	}

	// Whatever the kills left, the next install lands what it was asked for.
	for _, v := range versions {
		mustSD(t, "install", v.tag, "--client", "claude-code")
		if got := testutil.Files(t, target); fmt.Sprint(got) != fmt.Sprint(v.files) {
			t.Fatalf("after the kills, installing %s left %d other files", v.tag, len(got))
		}
		check(iterations, false)
	}
}

func randomText(rng *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz      \n"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// describeMix says, for a folder matching neither version, which version
// each file comes from.
func describeMix(got, v1, v2 map[string]string) string {
	var out []string
	for p, c := range got {
		switch {
		case v1[p] == c:
			out = append(out, p+"=v1")
		case v2[p] == c:
			out = append(out, p+"=v2")
		default:
			out = append(out, p+"=neither")
		}
	}
	return strings.Join(out, " ")
}
