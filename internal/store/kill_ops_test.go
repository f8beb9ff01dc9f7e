package store_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/testutil"
)

// crashSeedEnv replays the kill schedule of a failed run; the build crash
// test in process_test.go reads the same variable.
const crashSeedEnv = "SKILLDOCK_CRASH_SEED"

const (
	// killIterations is how many times each operation is killed.
	killIterations = 50
	// killWindow stretches the measured duration of an unkilled run into the
	// range kill delays are drawn from, so most kills land inside the run
	// (from process start to exit) and some after it has finished.
	killWindow = 1.2
	// pastStartup is the share of kills drawn from after the moment a
	// read-only command has opened the store and read its index, rather
	// than from process start: starting a Go binary takes most of a short
	// command's life, and kills that all land there test nothing.
	pastStartup = 0.5
	// timingRuns is how many unkilled runs measure an operation's duration.
	timingRuns = 5
)

// killer runs the real binary and SIGKILLs it after a seeded random delay,
// a fraction of an unkilled run's median duration.
type killer struct {
	t        *testing.T
	bin      string
	rng      *mrand.Rand
	median   time.Duration // of an unkilled run of the operation
	startup  time.Duration // of "builds", which only opens the store and reads
	killed   int
	finished []time.Duration // how long the runs that beat their kill took
	phases   map[string]int  // what the kills interrupted, judged from the store
}

func newKiller(t *testing.T) *killer {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, s, err)
		}
	}
	// Delays are fractions of the measured duration, so a replay kills at
	// the same relative moments even on a faster or slower machine.
	t.Logf("kill delays seeded with %d (rerun with %s=%d)", seed, crashSeedEnv, seed)
	return &killer{t: t, bin: testutil.Binary(t), rng: mrand.New(mrand.NewPCG(seed, seed)), phases: map[string]int{}}
}

// run starts skilldock with args and lets it finish; it fails the test
// unless the command exits 0, and returns how long it took.
func (k *killer) run(args ...string) time.Duration {
	k.t.Helper()
	start := time.Now()
	killed, err := k.exec(-1, args)
	if err != nil || killed {
		k.t.Fatalf("skilldock %s: %v", strings.Join(args, " "), err)
	}
	return time.Since(start)
}

// measure records the median duration of timingRuns unkilled runs of op,
// which returns the duration of the one command it times, and of as many
// runs of "builds" on store st, which stand for the start-up every command
// goes through before it changes anything. The two alternate, so both are
// timed under the same load.
func (k *killer) measure(what, st string, op func() time.Duration) {
	k.t.Helper()
	var ops, starts []time.Duration
	for range timingRuns {
		ops = append(ops, op())
		starts = append(starts, k.run("--store", st, "builds", "--output", "json"))
	}
	slices.Sort(ops)
	slices.Sort(starts)
	k.median, k.startup = ops[len(ops)/2], starts[len(starts)/2]
	k.t.Logf("an unkilled %s takes %v (median of %v); start-up (builds) %v (median of %v)", what, k.median, ops, k.startup, starts)
}

// kill runs skilldock with args and SIGKILLs it after a random delay. It
// reports whether the kill landed before the process exited; a process
// that exits on its own with an error fails the test.
func (k *killer) kill(args ...string) (killed bool, delay time.Duration) {
	k.t.Helper()
	if k.median == 0 {
		k.t.Fatal("killer.kill before killer.measure")
	}
	lo, hi := 0.0, killWindow*float64(k.median)
	if k.rng.Float64() < pastStartup {
		lo = min(float64(k.startup), float64(k.median))
	}
	delay = time.Duration(lo + k.rng.Float64()*(hi-lo))
	start := time.Now()
	killed, err := k.exec(delay, args)
	if err != nil {
		k.t.Fatalf("skilldock %s (to be killed after %v): %v", strings.Join(args, " "), delay, err)
	}
	if killed {
		k.killed++
	} else {
		k.finished = append(k.finished, time.Since(start))
	}
	return killed, delay
}

// exec runs the binary, killing it after delay unless delay is negative.
func (k *killer) exec(delay time.Duration, args []string) (killed bool, err error) {
	cmd := exec.Command(k.bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if delay >= 0 {
		timer := time.NewTimer(delay)
		select {
		case <-timer.C: // the random kill point itself; nothing waits on it
			// The process may exit on its own just before the signal; Wait
			// then reports how it really ended.
			_ = cmd.Process.Signal(syscall.SIGKILL)
			err = <-done
		case err = <-done:
			timer.Stop()
		}
	} else {
		err = <-done
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, nil
		}
		return false, fmt.Errorf("%v\nstderr:\n%s", err, stderr.String())
	}
	return false, err
}

// requireSplit fails unless the kills landed both inside runs and after
// them, which is what shows the delays spread over the whole operation.
func (k *killer) requireSplit(what string) {
	k.t.Helper()
	slices.Sort(k.finished)
	k.t.Logf("%d %s killed, %d finished before the kill (in %v)", k.killed, what, len(k.finished), k.finished)
	phases := slices.Sorted(maps.Keys(k.phases))
	for _, p := range phases {
		k.t.Logf("  %3d %s", k.phases[p], p)
	}
	if k.killed == 0 {
		k.t.Errorf("no %s was killed before it finished, so nothing was tested", what)
	}
	if len(k.finished) == 0 {
		k.t.Errorf("every %s was killed; the delays never reached the end of the operation", what)
	}
}

// notePhase records what a killed removal had done: nothing, part of its
// index update, all of it, or that and part of its collection. temps is
// the number of temporary files before the removal started.
func (k *killer) notePhase(killed bool, gone, temps int, f fsckReport) {
	switch {
	case !killed:
		k.phases["finished"]++
	case gone == 0 && f.Temporary > temps:
		k.phases["killed writing the new index"]++
	case gone == 0:
		k.phases["killed before the index update"]++
	case f.Unreachable > 0 || f.Temporary > 0:
		k.phases["killed after the index update, before gc finished"]++
	default:
		k.phases["killed after the index update, nothing left for gc"]++
	}
}

// storeFiles counts the blobs and the temporary files in a store.
func storeFiles(t *testing.T, st string) (blobs, temps int) {
	t.Helper()
	b, err := os.ReadDir(filepath.Join(st, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := os.ReadDir(filepath.Join(st, ".skilldock", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return len(b), len(tmp)
}

// pick returns a random non-empty subset of names, in their order.
func (k *killer) pick(names []string) []string {
	for {
		var out []string
		for _, n := range names {
			if k.rng.IntN(2) == 0 {
				out = append(out, n)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
}

// inspection is the part of "inspect --output json" the tests check.
type inspection struct {
	Tag        string
	LocalBuild bool
	Digest     string
	Layer      struct {
		Digest string
		Size   int64
	}
}

func inspectTag(t *testing.T, st, tag string) inspection {
	t.Helper()
	r := testutil.MustSkilldock(t, st, "inspect", tag, "--output", "json")
	var in inspection
	if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil {
		t.Fatalf("inspect %s --output json: %v\n%s", tag, err, r.Stdout)
	}
	return in
}

// cacheTags lists "cache ls": reference → digest.
func cacheTags(t *testing.T, st string) map[string]string {
	t.Helper()
	r := testutil.MustSkilldock(t, st, "cache", "ls", "--output", "json")
	var out struct {
		Cache []struct{ Reference, Digest string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("cache ls --output json: %v\n%s", err, r.Stdout)
	}
	m := map[string]string{}
	for _, e := range out.Cache {
		m[e.Reference] = e.Digest
	}
	return m
}

// requireFsck fails unless fsck exits 0 with no problem, and returns its
// report.
func requireFsck(t *testing.T, st, when string) fsckReport {
	t.Helper()
	f, r := fsck(t, st)
	if r.Code != 0 || len(f.Problems) != 0 {
		t.Fatalf("%s: fsck: %s", when, r)
	}
	return f
}

// randomSkill writes a skill whose assets.bin holds size random bytes, so
// its layer is incompressible and about that size.
func randomSkill(t *testing.T, name string, size int) string {
	t.Helper()
	dir := testutil.WriteSkill(t, t.TempDir(), name, nil)
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "assets.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// publish builds dir in a store of its own and pushes it as ref, returning
// the pushed digest.
func publish(t *testing.T, dir, ref string, buildArgs ...string) string {
	t.Helper()
	src := t.TempDir()
	testutil.MustSkilldock(t, src, append([]string{"build", dir, "-t", ref}, buildArgs...)...)
	r := testutil.MustSkilldock(t, src, "push", ref, "--output", "json")
	var p struct{ Digest string }
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil || p.Digest == "" {
		t.Fatalf("push --output json: %v\n%s", err, r.Stdout)
	}
	return p.Digest
}

// pull pulls ref, unkilled, and returns the cache tag it was stored under.
func pull(t *testing.T, st, ref, digest string) string {
	t.Helper()
	r := testutil.MustSkilldock(t, st, "pull", ref, "--output", "json")
	var p struct{ Tag, Digest string }
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
		t.Fatalf("pull --output json: %v\n%s", err, r.Stdout)
	}
	if p.Digest != digest || p.Tag == "" {
		t.Fatalf("pull %s: got %s as %q; pushed %s", ref, p.Digest, p.Tag, digest)
	}
	return p.Tag
}

// build builds dir with tags (and any more flags) and returns the digest.
func build(t *testing.T, st, dir string, tags []string, more ...string) string {
	t.Helper()
	args := []string{"build", dir, "--output", "json"}
	for _, tag := range tags {
		args = append(args, "-t", tag)
	}
	r := testutil.MustSkilldock(t, st, append(args, more...)...)
	var b struct{ Digest string }
	if err := json.Unmarshal([]byte(r.Stdout), &b); err != nil || b.Digest == "" {
		t.Fatalf("build --output json: %v\n%s", err, r.Stdout)
	}
	return b.Digest
}

// TestKilledPullsNeverCorruptTheStore SIGKILLs pulls of a 12 MiB skill from
// a real registry at random moments. After each kill the store must pass
// fsck and the cache tag must be absent or whole, with the pushed digest;
// at the end gc must leave nothing unreachable and no temporary file, and a
// pull must still succeed.
func TestKilledPullsNeverCorruptTheStore(t *testing.T) {
	k := newKiller(t)
	addr, _, _ := testutil.Registry(t, false)
	ref := addr + "/" + testutil.Repo(t) + ":v1"
	const layerSize = 12 << 20
	want := publish(t, randomSkill(t, "pulled-skill", layerSize), ref)
	st := t.TempDir()

	// The cache tag, once whole, is pruned before most pulls so that they
	// download; the others find it whole and only re-resolve and re-tag.
	tag := ""
	k.measure("pull", st, func() time.Duration {
		d := k.run("--store", st, "pull", ref)
		tag = pull(t, st, ref, want) // a cached pull, to learn the tag's name
		testutil.MustSkilldock(t, st, "cache", "prune", tag)
		return d
	})

	var kept int
	present := false // whether the tag was whole before the pull
	for i := range killIterations {
		blobs, temps := storeFiles(t, st)
		killed, delay := k.kill("--store", st, "pull", ref)
		when := fmt.Sprintf("iteration %d (killed=%v after %v)", i, killed, delay)
		f := requireFsck(t, st, when)
		got, listed := cacheTags(t, st)[tag]
		switch {
		case !killed:
			k.phases["finished"]++
		case present:
			k.phases["killed re-pulling a whole cache tag"]++
		case listed:
			k.phases["killed after tagging"]++
		case f.Temporary > temps:
			k.phases["killed while writing a blob"]++
		case f.Blobs > blobs:
			k.phases["killed between blobs, before tagging"]++
		default:
			k.phases["killed before storing anything"]++
		}
		switch {
		case !listed && !killed:
			t.Fatalf("%s: the pull finished but %s is not cached", when, tag)
		case !listed:
			present = false
			continue
		case got != want:
			t.Fatalf("%s: %s is cached as %s; pushed %s", when, tag, got, want)
		}
		in := inspectTag(t, st, tag)
		if in.Digest != want || in.LocalBuild || in.Layer.Size < layerSize {
			t.Fatalf("%s: %s is cached but not whole: %+v", when, tag, in)
		}
		if f.Tags != 1 {
			t.Fatalf("%s: fsck counts %d tags; only %s was pulled", when, f.Tags, tag)
		}
		if present = k.rng.IntN(4) == 0; present {
			kept++
			continue
		}
		r := testutil.MustSkilldock(t, st, "cache", "prune", tag, "--output", "json")
		if _, still := cacheTags(t, st)[tag]; still {
			t.Fatalf("%s: cache prune %s left it cached: %s", when, tag, r.Stdout)
		}
	}
	k.requireSplit("pulls")
	t.Logf("%d whole cache tags kept for the next pull, the others pruned", kept)

	testutil.MustSkilldock(t, st, "gc")
	f := requireFsck(t, st, "after gc")
	if f.Unreachable != 0 || f.Temporary != 0 {
		t.Fatalf("after gc: %d unreachable blobs, %d temporary files", f.Unreachable, f.Temporary)
	}
	testutil.RequireNoGarbage(t, st)
	pull(t, st, ref, want)
	if in := inspectTag(t, st, tag); in.Digest != want {
		t.Fatalf("final pull: %s inspects as %s; pushed %s", tag, in.Digest, want)
	}
	requireFsck(t, st, "after the final pull")
}

// buildGroup is one build command: a skill folder, the tags it gets and the
// digest it makes.
type buildGroup struct {
	dir    string
	tags   []string
	flags  []string
	digest string
}

// TestKilledBuildsRmNeverCorruptTheStore SIGKILLs "builds rm" of random
// tags at random moments. Three builds share blobs: one skill built for two
// platform sets (same layer, config and amd64 manifest; different indexes)
// and one other skill. After each kill the store must pass fsck, the tags
// named must be all gone or all there (the removal is one index update),
// and every tag, named or not, that is listed must inspect as built.
func TestKilledBuildsRmNeverCorruptTheStore(t *testing.T) {
	k := newKiller(t)
	st := t.TempDir()
	alpha := randomSkill(t, "rm-alpha", 1<<20)
	beta := testutil.WriteSkill(t, t.TempDir(), "rm-beta", map[string]string{
		"references/notes.md": strings.Repeat("beta notes\n", 4000),
		"scripts/run.sh":      "#!/bin/sh\necho beta\n",
	})
	groups := []*buildGroup{
		{dir: alpha, tags: []string{"alpha", "alpha:1"}},
		{dir: alpha, tags: []string{"alpha-amd64", "alpha-amd64:1"}, flags: []string{"--platform", "linux/amd64"}},
		{dir: beta, tags: []string{"beta", "beta:1", "beta:edge"}},
	}
	digestOf := map[string]string{}
	var all []string
	for _, g := range groups {
		g.digest = build(t, st, g.dir, g.tags, g.flags...)
		for _, tag := range g.tags {
			digestOf[tag] = g.digest
			all = append(all, tag)
		}
	}
	if groups[0].digest == groups[1].digest {
		t.Fatalf("both platform sets built %s; the test needs different indexes", groups[0].digest)
	}

	// restore rebuilds every group that lost a tag, so each rm starts from
	// the full set of tags.
	restore := func() {
		t.Helper()
		listed := builds(t, st)
		for _, g := range groups {
			for _, tag := range g.tags {
				if _, ok := listed[tag]; !ok {
					if d := build(t, st, g.dir, g.tags, g.flags...); d != g.digest {
						t.Fatalf("rebuilding %v made %s; first built as %s", g.tags, d, g.digest)
					}
					break
				}
			}
		}
	}
	k.measure("builds rm", st, func() time.Duration {
		restore()
		return k.run(append([]string{"--store", st, "builds", "rm"}, k.pick(all)...)...)
	})

	for i := range killIterations {
		restore()
		rm := k.pick(all)
		_, temps := storeFiles(t, st)
		killed, delay := k.kill(append([]string{"--store", st, "builds", "rm"}, rm...)...)
		when := fmt.Sprintf("iteration %d (builds rm %v, killed=%v after %v)", i, rm, killed, delay)
		f := requireFsck(t, st, when)
		listed := builds(t, st)
		named, gone := 0, 0
		for _, tag := range all {
			b, ok := listed[tag]
			if slices.Contains(rm, tag) {
				named++
				if !ok {
					gone++
					continue
				}
			} else if !ok {
				t.Fatalf("%s: %s was not named but is gone", when, tag)
			}
			if b.Digest != digestOf[tag] {
				t.Fatalf("%s: %s is listed as %s; built as %s", when, tag, b.Digest, digestOf[tag])
			}
			if in := inspectTag(t, st, tag); in.Digest != digestOf[tag] || !in.LocalBuild {
				t.Fatalf("%s: %s inspects as %+v; built as %s", when, tag, in, digestOf[tag])
			}
		}
		k.notePhase(killed, gone, temps, f)
		switch {
		case gone != 0 && gone != named:
			t.Fatalf("%s: %d of the %d tags named are gone; a removal is all or nothing", when, gone, named)
		case !killed && gone == 0:
			t.Fatalf("%s: builds rm finished but removed nothing", when)
		case !killed && (f.Unreachable != 0 || f.Temporary != 0):
			t.Fatalf("%s: builds rm finished but left %d unreachable blobs and %d temporary files", when, f.Unreachable, f.Temporary)
		}
		if len(listed) != len(all)-gone {
			t.Fatalf("%s: %d builds listed; want %d", when, len(listed), len(all)-gone)
		}
	}
	k.requireSplit("builds rm")

	testutil.MustSkilldock(t, st, "gc")
	f := requireFsck(t, st, "after gc")
	if f.Unreachable != 0 || f.Temporary != 0 {
		t.Fatalf("after gc: %d unreachable blobs, %d temporary files", f.Unreachable, f.Temporary)
	}
	testutil.RequireNoGarbage(t, st)
}

// TestKilledCachePrunesNeverCorruptTheStore SIGKILLs "cache prune", of all
// entries or of some, at random moments in a store holding local builds and
// cache entries that share blobs with them: a pulled single-platform build
// of a locally built skill (same layer), and a pulled artifact identical to
// a local build (same graph). After each kill the store must pass fsck,
// every build tag must still inspect as built, and the entries named must be
// all gone or all there, every other entry whole.
func TestKilledCachePrunesNeverCorruptTheStore(t *testing.T) {
	k := newKiller(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := addr + "/" + testutil.Repo(t)
	st := t.TempDir()

	shared := randomSkill(t, "prune-shared", 1<<20)
	twin := testutil.WriteSkill(t, t.TempDir(), "prune-twin", map[string]string{
		"references/notes.md": strings.Repeat("twin notes\n", 4000),
	})
	big := randomSkill(t, "prune-big", 2<<20)

	buildDigest := map[string]string{}
	for _, g := range []buildGroup{
		{dir: shared, tags: []string{"prune-shared", "prune-shared:1"}},
		{dir: twin, tags: []string{"prune-twin"}},
	} {
		d := build(t, st, g.dir, g.tags)
		for _, tag := range g.tags {
			buildDigest[tag] = d
		}
	}

	// Builds are reproducible, so the twin published from another store has
	// the digest of the local build: pulling it stores nothing new.
	twinDigest := publish(t, twin, repo+":twin")
	if twinDigest != buildDigest["prune-twin"] {
		t.Fatalf("twin pushed as %s; built locally as %s", twinDigest, buildDigest["prune-twin"])
	}
	bigDigest := publish(t, big, repo+":big")
	refs := map[string]string{ // reference → pushed digest
		repo + ":amd64":         publish(t, shared, repo+":amd64", "--platform", "linux/amd64"),
		repo + ":big":           bigDigest,
		repo + "@" + bigDigest:  bigDigest,
		repo + ":twin":          twinDigest,
		repo + "@" + twinDigest: twinDigest,
	}
	pullOrder := slices.Sorted(maps.Keys(refs))
	digestOf := map[string]string{} // cache tag → digest
	tagOf := map[string]string{}    // reference → cache tag
	for _, r := range pullOrder {
		tagOf[r] = pull(t, st, r, refs[r])
		digestOf[tagOf[r]] = refs[r]
	}
	var entries []string
	for tag := range digestOf {
		entries = append(entries, tag)
	}
	slices.Sort(entries)

	// restore pulls back every entry a prune removed, so each prune starts
	// from the full cache; pulls by tag come first, so pulls by digest of
	// the same artifact often find it stored and download nothing.
	restore := func() {
		t.Helper()
		cached := cacheTags(t, st)
		for _, r := range pullOrder {
			if _, ok := cached[tagOf[r]]; !ok {
				pull(t, st, r, refs[r])
			}
		}
	}
	// pruneArgs prunes everything a third of the time, else some entries.
	pruneArgs := func() (args, named []string) {
		args = []string{"--store", st, "cache", "prune"}
		if k.rng.IntN(3) == 0 {
			return args, entries
		}
		named = k.pick(entries)
		return append(args, named...), named
	}
	k.measure("cache prune", st, func() time.Duration {
		restore()
		args, _ := pruneArgs()
		return k.run(args...)
	})

	for i := range killIterations {
		restore()
		args, named := pruneArgs()
		_, temps := storeFiles(t, st)
		killed, delay := k.kill(args...)
		when := fmt.Sprintf("iteration %d (cache prune %v, killed=%v after %v)", i, named, killed, delay)
		f := requireFsck(t, st, when)

		listed := builds(t, st)
		if len(listed) != len(buildDigest) {
			t.Fatalf("%s: %d builds listed; want %d", when, len(listed), len(buildDigest))
		}
		for tag, d := range buildDigest {
			if b, ok := listed[tag]; !ok || b.Digest != d {
				t.Fatalf("%s: build %s is listed as %+v (present %v); built as %s", when, tag, b, ok, d)
			}
			if in := inspectTag(t, st, tag); in.Digest != d || !in.LocalBuild {
				t.Fatalf("%s: build %s inspects as %+v; built as %s", when, tag, in, d)
			}
		}

		cached := cacheTags(t, st)
		gone := 0
		for _, tag := range entries {
			d, ok := cached[tag]
			if slices.Contains(named, tag) {
				if !ok {
					gone++
					continue
				}
			} else if !ok {
				t.Fatalf("%s: %s was not named but is gone", when, tag)
			}
			if d != digestOf[tag] {
				t.Fatalf("%s: %s is cached as %s; pulled as %s", when, tag, d, digestOf[tag])
			}
			if in := inspectTag(t, st, tag); in.Digest != digestOf[tag] || in.LocalBuild {
				t.Fatalf("%s: %s inspects as %+v; pulled as %s", when, tag, in, digestOf[tag])
			}
		}
		k.notePhase(killed, gone, temps, f)
		switch {
		case gone != 0 && gone != len(named):
			t.Fatalf("%s: %d of the %d entries named are gone; a prune is all or nothing", when, gone, len(named))
		case !killed && gone == 0:
			t.Fatalf("%s: cache prune finished but removed nothing", when)
		case !killed && (f.Unreachable != 0 || f.Temporary != 0):
			t.Fatalf("%s: cache prune finished but left %d unreachable blobs and %d temporary files", when, f.Unreachable, f.Temporary)
		}
		if len(cached) != len(entries)-gone {
			t.Fatalf("%s: %d entries cached; want %d", when, len(cached), len(entries)-gone)
		}
	}
	k.requireSplit("cache prunes")

	testutil.MustSkilldock(t, st, "gc")
	f := requireFsck(t, st, "after gc")
	if f.Unreachable != 0 || f.Temporary != 0 {
		t.Fatalf("after gc: %d unreachable blobs, %d temporary files", f.Unreachable, f.Temporary)
	}
	testutil.RequireNoGarbage(t, st)
}
