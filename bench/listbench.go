package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/ref"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
)

// listSample is the listing measured at one store size.
type listSample struct {
	Builds    int
	Populate  populateInfo
	Binary    []timing // skilldock builds --output json: wall clock and the child's CPU time
	BinaryRSS []int64
	InProc    []time.Duration // service.ListBuilds
	// OneBuild is service.Build of one more tiny skill into a store of this
	// size: the cost of the whole-index rewrite every build ends with.
	OneBuild []time.Duration
}

// populateInfo says how the builds added for this size got into the store.
type populateInfo struct {
	Added int
	// Service builds went through service.Build, one after another, as a
	// user makes them, until the populate budget ran out.
	Service        int
	ServiceElapsed time.Duration
	ServiceLast    time.Duration // mean per build over the last 100 of them
	// Fast builds, the rest, went through pack.Build into one session and
	// were tagged in one index update.
	Fast        int
	FastElapsed time.Duration
	// Hinted is how many of the store's builds carry the listing hints
	// service.Build stamps in index.json: all of them, or the listing would
	// time the slow path for some.
	Hinted int
}

// benchList grows one store through each size in turn and times the listing
// at each. Builds are distinct skills (their own name and description), as
// in a real store, so nothing is shared between them.
//
// service.Build fills each size until the populate budget runs out, or
// until the run's own budget is nearly spent (listReserve before it),
// whichever is sooner.
func benchList(ctx context.Context, cfg config, t *tools, scratch string, runDeadline time.Time) ([]listSample, error) {
	storeDir := filepath.Join(scratch, "list-store")
	svc, err := service.New(service.Config{StorePath: storeDir})
	if err != nil {
		return nil, err
	}
	var out []listSample
	have := 0
	for _, target := range cfg.listSizes {
		if target < have {
			return nil, fmt.Errorf("-builds sizes must increase by more than -runs+1 (%d after %d builds)", target, have)
		}
		ls := listSample{Builds: target}
		p := &ls.Populate
		p.Added = target - have
		// service.Build gets the budget; whatever it has not built by then is
		// written the fast way, so a slow store cannot stall the benchmark.
		start := time.Now()
		deadline := start.Add(cfg.populateBudget)
		if d := runDeadline.Add(-listReserve); d.Before(deadline) {
			deadline = d
		}
		progress("list: adding %d builds with service.Build (budget %s)", target-have, time.Until(deadline).Round(time.Second))
		n, last, err := populateService(ctx, svc, scratch, have, target, cfg.seed, deadline)
		if err != nil {
			return nil, err
		}
		p.Service, p.ServiceElapsed, p.ServiceLast = n, time.Since(start), last
		have += n
		if have < target {
			progress("list: budget spent after %d builds (last ones %s each); writing the other %d with pack.Build into one session and one index update",
				n, last.Round(time.Millisecond), target-have)
			start = time.Now()
			hints, err := hintKeys(svc.Store())
			if err != nil {
				return nil, err
			}
			if err := populateFast(ctx, svc.Store(), scratch, have, target, cfg.seed, hints); err != nil {
				return nil, err
			}
			p.Fast, p.FastElapsed = target-have, time.Since(start)
			have = target
		}
		if p.Hinted, err = countHinted(svc.Store()); err != nil {
			return nil, err
		}
		progress("list: %d builds in the store, %d with listing hints", have, p.Hinted)

		for round := 0; round <= cfg.runs; round++ {
			pr, err := t.skilldock(ctx, "builds", "--output", "json", "--store", storeDir)
			if err != nil {
				return nil, err
			}
			if err := checkListing(pr.Stdout, have); err != nil {
				return nil, err
			}
			runtime.GC()
			t0 := time.Now()
			rows, err := svc.ListBuilds(ctx)
			d := time.Since(t0)
			if err != nil {
				return nil, err
			}
			if len(rows) != have {
				return nil, fmt.Errorf("service.ListBuilds listed %d builds; the store holds %d", len(rows), have)
			}
			if round == 0 {
				continue // warm-up: page cache and the bench's heap
			}
			ls.Binary = append(ls.Binary, pr.Elapsed)
			ls.BinaryRSS = append(ls.BinaryRSS, pr.MaxRSS)
			ls.InProc = append(ls.InProc, d)
		}
		// Then what one more build costs at this size. These builds stay in
		// the store; the next size is filled up to its count regardless.
		epoch := epoch0
		for round := 0; round <= cfg.runs; round++ {
			dir, err := writeTinySkill(scratch, have, cfg.seed)
			if err != nil {
				return nil, err
			}
			t0 := time.Now()
			if _, err := svc.Build(ctx, service.BuildRequest{Dir: dir, Epoch: &epoch}); err != nil {
				return nil, err
			}
			d := time.Since(t0)
			have++
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
			if round > 0 {
				ls.OneBuild = append(ls.OneBuild, d)
			}
		}
		out = append(out, ls)
	}
	return out, nil
}

// checkListing makes sure the process listed every build with its metadata,
// so a fast wrong answer cannot pass for a fast listing.
func checkListing(stdout []byte, want int) error {
	var got struct {
		Builds []service.LocalBuild `json:"builds"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		return fmt.Errorf("skilldock builds --output json: %v", err)
	}
	if len(got.Builds) != want {
		return fmt.Errorf("skilldock builds listed %d builds; the store holds %d", len(got.Builds), want)
	}
	for _, b := range got.Builds {
		if b.Name == "" || b.Size == 0 {
			return fmt.Errorf("skilldock builds could not describe %s", b.Tag)
		}
	}
	return nil
}

// populateService adds builds the way a user does: one service.Build each,
// sequentially, each ending with its own index update. It stops at the
// deadline and says how many it built, and their mean cost over the last 100.
func populateService(ctx context.Context, svc *service.Service, scratch string, from, to int, seed uint64, deadline time.Time) (int, time.Duration, error) {
	epoch := epoch0
	var recent []time.Duration
	i := from
	// At least one build goes this way even past the deadline: the fast way
	// copies the listing hints off it.
	for ; i < to && (i == from || time.Now().Before(deadline)); i++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		dir, err := writeTinySkill(scratch, i, seed)
		if err != nil {
			return 0, 0, err
		}
		if _, err := svc.Build(ctx, service.BuildRequest{Dir: dir, Epoch: &epoch}); err != nil {
			return 0, 0, fmt.Errorf("building %s: %w", dir, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return 0, 0, err
		}
		if recent = append(recent, time.Since(t0)); len(recent) > 100 {
			recent = recent[1:]
		}
		if (i-from+1)%500 == 0 {
			progress("list: %d builds in the store", i+1)
		}
	}
	var sum time.Duration
	for _, d := range recent {
		sum += d
	}
	mean := time.Duration(0)
	if len(recent) > 0 {
		mean = sum / time.Duration(len(recent))
	}
	return i - from, mean, nil
}

// populateFast writes the same artifacts service.Build would (pack.Build is
// what service.Build calls) through one session, several builds at once, and
// then tags them all in ONE index update. service.Build's cost per build
// grows with the store because each one rewrites index.json; this does that
// once.
//
// The tags carry the listing hints service.Build would stamp (hints names
// them, taken from a build service.Build made), so the listing reads them
// the same way whichever path a build took.
func populateFast(ctx context.Context, st *store.Store, scratch string, from, to int, seed uint64, hints listHints) error {
	ss, err := st.Begin()
	if err != nil {
		return err
	}
	defer ss.Close()
	n := to - from
	tags := make([]string, n)
	descs := make([]ocispec.Descriptor, n)
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	// Each build fsyncs five blobs; more builds in flight than cores lets the
	// filesystem batch those flushes.
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range jobs {
				tag, desc, err := packTiny(ss, scratch, from+i, seed, hints)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				tags[i], descs[i] = tag, desc
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return err
	}
	return st.UpdateIndex(func(idx *ocispec.Index) error {
		for i := range tags {
			store.SetTag(idx, tags[i], descs[i], true)
		}
		return nil
	})
}

func packTiny(ss *store.Session, scratch string, i int, seed uint64, hints listHints) (string, ocispec.Descriptor, error) {
	dir, err := writeTinySkill(scratch, i, seed)
	if err != nil {
		return "", ocispec.Descriptor{}, err
	}
	defer os.RemoveAll(dir)
	c, err := skill.Check(dir)
	if err != nil {
		return "", ocispec.Descriptor{}, err
	}
	res, err := pack.Build(ss, c, pack.Options{Epoch: epoch0, Limits: pack.DefaultLimits()})
	if err != nil {
		return "", ocispec.Descriptor{}, fmt.Errorf("building %s: %w", dir, err)
	}
	// The tag service.Build would give it by default: the canonical NAME.
	r, err := ref.ParseLocal(c.Metadata.Name)
	if err != nil {
		return "", ocispec.Descriptor{}, err
	}
	desc := res.Index
	desc.Annotations = map[string]string{
		hints.config:     res.Config.Digest.String(),
		hints.configSize: strconv.FormatInt(res.Config.Size, 10),
		hints.size:       strconv.FormatInt(res.Size, 10),
	}
	return r.String(), desc, nil
}

// listReserve is what the listing section keeps of the run's budget for
// writing the rest of a store size the fast way and timing its listing.
const listReserve = 2 * time.Minute

// listHints are the annotation keys of the listing hints service.Build
// stamps on a build's tag: the first platform's config (digest and size)
// and the artifact's size. The benchmark cannot call the service's own
// code for the fast path, so it reads the keys off a tag service.Build
// wrote and refuses to go on if they are not the three it knows how to
// fill: a stale copy would silently time the slow listing path.
type listHints struct{ config, configSize, size string }

func hintKeys(st *store.Store) (listHints, error) {
	h := listHints{config: store.HintPrefix + "config", configSize: store.HintPrefix + "config-size", size: store.HintPrefix + "size"}
	tags, err := st.Tags()
	if err != nil {
		return h, err
	}
	for _, t := range tags {
		if !t.LocalBuild {
			continue
		}
		var got []string
		for k := range t.Descriptor.Annotations {
			if strings.HasPrefix(k, store.HintPrefix) {
				got = append(got, k)
			}
		}
		slices.Sort(got)
		want := []string{h.config, h.configSize, h.size}
		if !slices.Equal(got, want) {
			return h, fmt.Errorf("service.Build stamped the listing hints %q on %s; the benchmark's fast populate writes %q: update packTiny", got, t.Name, want)
		}
		return h, nil
	}
	return h, errors.New("no build made by service.Build to read the listing hints from; raise -populate-budget")
}

// countHinted counts the builds whose tag carries the listing hint.
func countHinted(st *store.Store) (int, error) {
	tags, err := st.Tags()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range tags {
		if t.LocalBuild && t.Descriptor.Annotations[store.HintPrefix+"config"] != "" {
			n++
		}
	}
	return n, nil
}

// writeTinySkill writes skill number i: a SKILL.md and one script, with a
// description of its own, so every build has distinct blobs.
func writeTinySkill(scratch string, i int, seed uint64) (string, error) {
	name := fmt.Sprintf("list-skill-%05d", i)
	dir := filepath.Join(scratch, "tiny", name)
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		return "", err
	}
	w := newWordSource(rand.New(rand.NewPCG(seed, uint64(i))))
	desc := w.words(nil, 12, " ")
	md := fmt.Sprintf("---\nname: %s\ndescription: Listing benchmark skill %d; %s.\n---\n\n# %s\n\nRun scripts/run.sh.\n", name, i, desc, name)
	if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o644); err != nil {
		return "", err
	}
	script := "#!/bin/sh\n" + string(w.shellLine(nil)) + string(w.shellLine(nil))
	if err := os.WriteFile(filepath.Join(dir, "scripts", "run.sh"), []byte(script), 0o755); err != nil {
		return "", err
	}
	return dir, nil
}
