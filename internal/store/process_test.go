package store_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

type buildRow struct {
	Tag, Digest, Name string
	Size              int64
}

func builds(t *testing.T, st string) map[string]buildRow {
	t.Helper()
	r := testutil.MustSkilldock(t, st, "builds", "--output", "json")
	var out struct{ Builds []buildRow }
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("builds --output json: %v\n%s", err, r.Stdout)
	}
	m := map[string]buildRow{}
	for _, b := range out.Builds {
		m[b.Tag] = b
	}
	return m
}

type fsckReport struct {
	Problems    []string
	Blobs, Tags int
	Unreachable int `json:"unreachableBlobs"`
	Temporary   int `json:"temporaryFiles"`
}

func fsck(t *testing.T, st string) (fsckReport, testutil.Result) {
	t.Helper()
	r := testutil.Skilldock(t, st, "fsck", "--output", "json")
	var f fsckReport
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
		t.Fatalf("fsck --output json: %v\n%s", err, r)
	}
	return f, r
}

// TestConcurrentProcessesLoseNoTagAndLeaveAConsistentStore runs eight
// processes of the real binary at a time against one store, each building,
// tagging and removing its own builds in a loop, while a reader lists the
// builds. Every tag that should exist must exist, every removed tag must be
// gone, and fsck must pass.
func TestConcurrentProcessesLoseNoTagAndLeaveAConsistentStore(t *testing.T) {
	bin := testutil.Binary(t)
	st := t.TempDir()
	const workers, iterations = 8, 15

	// One folder per build, so each build is a distinct skill with its own
	// blobs. Every worker also builds one common folder now and then, so
	// identical blobs are written, shared and collected by several processes
	// at once.
	src := t.TempDir()
	common := testutil.WriteSkill(t, src, "common-skill", map[string]string{"data.txt": strings.Repeat("common\n", 500)})
	dirs := make([][]string, workers)
	for w := range workers {
		for i := range iterations {
			name := fmt.Sprintf("skill-w%d-i%d", w, i)
			dirs[w] = append(dirs[w], testutil.WriteSkill(t, filepath.Join(src, name), name, map[string]string{
				"scripts/run.sh": "#!/bin/sh\necho shared\n",
				"data.txt":       strings.Repeat(name+"\n", 200),
			}))
		}
	}

	type outcome struct {
		want, gone []string
		digests    map[string]string
		err        error
	}
	results := make([]outcome, workers)
	run := func(args ...string) (testutil.Result, error) {
		r, err := testutil.ExecErr(nil, bin, append([]string{"--store", st}, args...)...)
		if err == nil && r.Code != 0 {
			err = fmt.Errorf("skilldock %s: %s", strings.Join(args, " "), r)
		}
		return r, err
	}

	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := outcome{digests: map[string]string{}}
			defer func() { results[w] = res }()
			tag := func(i int) string { return fmt.Sprintf("w%d-i%d", w, i) }
			alias := func(i int) string { return fmt.Sprintf("w%d-i%d-alias", w, i) }
			shared := func(i int) string { return fmt.Sprintf("w%d-common-%d", w, i) }
			removed := map[string]bool{}
			var created []string
			for i := range iterations {
				r, err := run("build", dirs[w][i], "-t", tag(i), "--output", "json")
				if err != nil {
					res.err = err
					return
				}
				var b struct{ Digest string }
				if err := json.Unmarshal([]byte(r.Stdout), &b); err != nil {
					res.err = fmt.Errorf("build output: %v: %q", err, r.Stdout)
					return
				}
				res.digests[tag(i)], res.digests[alias(i)] = b.Digest, b.Digest
				created = append(created, tag(i), alias(i))
				if _, err := run("tag", tag(i), alias(i)); err != nil {
					res.err = err
					return
				}
				if i%3 == 1 {
					r, err := run("build", common, "-t", shared(i), "--output", "json")
					if err != nil {
						res.err = err
						return
					}
					if err := json.Unmarshal([]byte(r.Stdout), &b); err != nil {
						res.err = fmt.Errorf("build output: %v: %q", err, r.Stdout)
						return
					}
					res.digests[shared(i)] = b.Digest
					created = append(created, shared(i))
				}
				// Remove the previous build's first tag (its alias keeps the
				// blobs alive) and, every third time, the build before that
				// whole and the previous common build (their blobs become
				// garbage while others are writing, some of them the same
				// blobs).
				if i >= 1 {
					rm := []string{tag(i - 1)}
					if i >= 2 && i%3 == 0 {
						rm = append(rm, alias(i-2))
					}
					if (i-1)%3 == 1 {
						rm = append(rm, shared(i-1))
					}
					if _, err := run(append([]string{"builds", "rm"}, rm...)...); err != nil {
						res.err = err
						return
					}
					for _, x := range rm {
						removed[x] = true
					}
				}
			}
			for _, x := range created {
				if removed[x] {
					res.gone = append(res.gone, x)
				} else {
					res.want = append(res.want, x)
				}
			}
		}()
	}

	// A reader lists builds the whole time: index.json must never be seen
	// torn or empty, so every listing must parse.
	done := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		var err error
		defer func() { readerErr <- err }()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			default:
			}
			var r testutil.Result
			if r, err = run("builds", "--output", "json"); err != nil {
				return
			}
			var out struct{ Builds []buildRow }
			if err = json.Unmarshal([]byte(r.Stdout), &out); err != nil {
				err = fmt.Errorf("listing %d: %v: %q", n, err, r.Stdout)
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	if err := <-readerErr; err != nil {
		t.Errorf("concurrent reader: %v", err)
	}
	t.Logf("%d workers x %d iterations finished in %v", workers, iterations, time.Since(start).Round(time.Millisecond))

	got := builds(t, st)
	var want, gone []string
	for w, res := range results {
		if res.err != nil {
			t.Fatalf("worker %d: %v", w, res.err)
		}
		for _, x := range res.want {
			want = append(want, x)
			switch b, ok := got[x]; {
			case !ok:
				t.Errorf("tag %s was lost", x)
			case b.Digest != res.digests[x]:
				t.Errorf("tag %s points at %s; it was built as %s", x, b.Digest, res.digests[x])
			case b.Name == "" || b.Size == 0:
				t.Errorf("tag %s is listed without its metadata: %+v", x, b)
			}
		}
		for _, x := range res.gone {
			gone = append(gone, x)
			if _, ok := got[x]; ok {
				t.Errorf("tag %s was removed but is still listed", x)
			}
		}
	}
	if len(got) != len(want) {
		var extra []string
		wanted := map[string]bool{}
		for _, x := range want {
			wanted[x] = true
		}
		for x := range got {
			if !wanted[x] {
				extra = append(extra, x)
			}
		}
		sort.Strings(extra)
		t.Errorf("%d builds listed, %d expected; unexpected: %v", len(got), len(want), extra)
	}
	t.Logf("%d tags kept, %d removed", len(want), len(gone))

	f, r := fsck(t, st)
	if r.Code != 0 || len(f.Problems) != 0 {
		t.Fatalf("fsck after the concurrent run: %s", r)
	}
	// Every builds rm collected: nothing unreachable may remain.
	if f.Unreachable != 0 || f.Temporary != 0 {
		t.Errorf("fsck: %d unreachable blobs, %d temporary files after every writer finished", f.Unreachable, f.Temporary)
	}
	testutil.RequireNoGarbage(t, st)
}

// TestKilledBuildsNeverCorruptTheStore SIGKILLs builds of a large skill at
// random moments. After each kill the store must pass fsck and the build's
// tag must be listed whole or not at all; at the end gc must leave nothing
// unreachable and no temporary file.
func TestKilledBuildsNeverCorruptTheStore(t *testing.T) {
	bin := testutil.Binary(t)
	st := t.TempDir()
	const iterations = 50

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SKILLDOCK_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SKILLDOCK_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("kill delays seeded with %d (rerun with SKILLDOCK_CRASH_SEED=%d)", seed, seed)
	rng := mrand.New(mrand.NewPCG(seed, seed))

	// ~20 MiB of random bytes: incompressible, so a build takes long enough
	// to be killed in every phase (packing, committing blobs, tagging).
	dir := testutil.WriteSkill(t, t.TempDir(), "big-skill", nil)
	big := make([]byte, 20<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "assets.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}

	kept := "" // the one surviving build, removed when the next one lands
	var killed, finished int
	for i := range iterations {
		// A different SKILL.md each time gives a different layer, so every
		// attempt writes a new 20 MiB blob rather than finding it present.
		md := testutil.SkillMD("big-skill", "1.0.0", fmt.Sprintf("Attempt %d.", i))
		if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprintf("crash-%d", i)
		delay := time.Duration(rng.IntN(301)) * time.Millisecond

		cmd := exec.Command(bin, "--store", st, "build", dir, "-t", tag)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay) // the random kill point itself; nothing waits on it
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		wasKilled := false
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				wasKilled = true
			} else {
				t.Fatalf("iteration %d: build failed on its own: %v", i, err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
		if wasKilled {
			killed++
		} else {
			finished++
		}

		f, r := fsck(t, st)
		if r.Code != 0 || len(f.Problems) != 0 {
			t.Fatalf("iteration %d (killed after %v): fsck: %s", i, delay, r)
		}
		list := builds(t, st)
		b, listed := list[tag]
		switch {
		case !wasKilled && !listed:
			t.Fatalf("iteration %d: the build finished but %s is not listed", i, tag)
		case listed:
			if b.Name != "big-skill" || b.Size < 20<<20 || !strings.HasPrefix(b.Digest, "sha256:") {
				t.Fatalf("iteration %d (killed=%v after %v): %s is listed but not whole: %+v", i, wasKilled, delay, tag, b)
			}
			testutil.MustSkilldock(t, st, "inspect", tag)
			if kept != "" {
				testutil.MustSkilldock(t, st, "builds", "rm", kept)
			}
			kept = tag
		}
		if len(list) > 2 {
			t.Fatalf("iteration %d: %d builds listed; at most one kept build and this one", i, len(list))
		}
	}
	t.Logf("%d builds killed, %d finished before the kill", killed, finished)
	if killed == 0 {
		t.Errorf("no build was killed before it finished, so nothing was tested; make the skill bigger")
	}

	testutil.MustSkilldock(t, st, "gc")
	f, r := fsck(t, st)
	if r.Code != 0 || f.Unreachable != 0 || f.Temporary != 0 {
		t.Fatalf("after gc: %s", r)
	}
	testutil.RequireNoGarbage(t, st)
	if entries, _ := os.ReadDir(filepath.Join(st, ".skilldock", "tmp")); len(entries) != 0 {
		t.Errorf("gc left %d temporary files", len(entries))
	}
}
