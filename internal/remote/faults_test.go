package remote_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/remote"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// The client under fault: few attempts and a short timeout, so a fault that
// never clears costs seconds, not minutes.
const (
	faultAttempts = 4
	faultTimeout  = 2 * time.Second
	// faultOpDeadline bounds one push or pull, so a client that hangs fails
	// the test with a message instead of running into go test's timeout.
	faultOpDeadline = 45 * time.Second
	// faultLayerSize of random bytes makes a layer gzip cannot shrink.
	faultLayerSize = 2 << 20
	// faultOffset is where body faults act: well inside the layer, after
	// the client has committed to streaming it.
	faultOffset = 512 << 10
)

func faultOptions() remote.Options {
	return remote.Options{Attempts: faultAttempts, Timeout: faultTimeout, Credentials: credentials.NewMemoryStore()}
}

// faultSkill is a built skill whose layer is about 2 MiB of random bytes.
type faultSkill struct {
	svc    *service.Service
	store  string
	ref    string
	digest string // the root the build tagged
	layer  string // the layer's digest
}

func buildFaultSkill(t *testing.T, ref string) faultSkill {
	t.Helper()
	svc, store := newFaultService(t)
	data := make([]byte, faultLayerSize)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	dir := testutil.WriteSkill(t, t.TempDir(), "fault-skill", map[string]string{"data.bin": string(data)})
	res, err := svc.Build(context.Background(), service.BuildRequest{Dir: dir, Tags: []string{ref}})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := svc.Store().Resolve(ref)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := artifact.Describe(svc.Store(), tag.Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	if sk.Layer.Size < faultLayerSize {
		t.Fatalf("the layer is %d bytes; want at least %d", sk.Layer.Size, faultLayerSize)
	}
	return faultSkill{svc: svc, store: store, ref: ref, digest: res.Digest, layer: sk.Layer.Digest.String()}
}

func newFaultService(t *testing.T) (*service.Service, string) {
	t.Helper()
	store := t.TempDir()
	svc, err := service.New(service.Config{StorePath: store, Remote: faultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	return svc, store
}

func opContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), faultOpDeadline)
	t.Cleanup(cancel)
	return ctx
}

// requireCleanStore checks what every operation must leave behind, failed
// or not: fsck finds no problem and no temporary file is left.
func requireCleanStore(t *testing.T, svc *service.Service, store string) {
	t.Helper()
	res, err := svc.Store().Fsck()
	if err != nil {
		t.Fatalf("fsck: %v", err)
	}
	if !res.OK() {
		t.Errorf("fsck found problems: %q", res.Problems)
	}
	tmp, err := os.ReadDir(filepath.Join(store, ".skilldock", "tmp"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range tmp {
		t.Errorf("temporary file %s left in the store", e.Name())
	}
}

// requireOneLineNaming checks that a failure reads as one line for a person
// and names the digest that failed or the registry.
func requireOneLineNaming(t *testing.T, err error, names ...string) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("the error spans several lines: %q", msg)
	}
	for _, n := range names {
		if strings.Contains(msg, n) {
			return
		}
	}
	t.Errorf("the error names none of %q: %q", names, msg)
}

// requireAttempts checks that a fault that never clears cost exactly
// Attempts requests for the blob: retried, but by the HTTP transport or by
// the blob transfer, not by both multiplied.
func requireAttempts(t *testing.T, requests int) {
	t.Helper()
	if requests != faultAttempts {
		t.Errorf("the faulted blob was requested %d times; Attempts is %d", requests, faultAttempts)
	}
}

// requirePullable pulls ref into a fresh store and checks the digest.
func requirePullable(t *testing.T, ref, digest string) {
	t.Helper()
	svc, store := newFaultService(t)
	got, err := svc.Pull(opContext(t), ref, service.PullLimits{})
	if err != nil {
		t.Fatalf("pulling %s back: %v", ref, err)
	}
	if got.Digest != digest {
		t.Errorf("pulled %s; pushed %s", got.Digest, digest)
	}
	requireCleanStore(t, svc, store)
}

// faultCase is one fault, aimed by the test at the layer's upload or
// download.
type faultCase struct {
	name  string
	fault testutil.Fault
	// transient is how many requests the fault hits when it is to clear:
	// two where a retry is cheap, one where each costs a full Timeout.
	transient int
}

// faultCases are the faults of the matrix. Body faults act on the request
// body for a push (the upload) and on the response body for a pull. A stall
// outlasts the client's Timeout, so only the client's own deadline can end
// it in time.
func faultCases() []faultCase {
	return []faultCase{
		{"stall", testutil.Fault{Kind: testutil.FaultStall, After: faultOffset, Stall: 3 * faultTimeout}, 1},
		{"reset", testutil.Fault{Kind: testutil.FaultReset, After: faultOffset}, 2},
		{"truncate", testutil.Fault{Kind: testutil.FaultTruncate, After: faultOffset}, 2},
		{"flip", testutil.Fault{Kind: testutil.FaultFlip, After: faultOffset}, 2},
		{"http-500", testutil.Fault{Kind: testutil.Fault500}, 2},
		{"http-429", testutil.Fault{Kind: testutil.Fault429}, 2},
	}
}

// faultMode says whether the fault clears, in which case retries must ride
// it out, or never does, in which case the operation must fail cleanly.
type faultMode struct {
	name    string
	succeed bool
}

var faultModes = []faultMode{{"transient", true}, {"persistent", false}}

// times is how many matching requests the fault hits; 0 is all of them.
func (m faultMode) times(fc faultCase) int {
	if m.succeed {
		return fc.transient
	}
	return 0
}

// eachFault runs fn as a subtest for every fault and mode, all at once.
// t.Parallel would hold them to -parallel (GOMAXPROCS by default) at a time,
// but they spend their time in the client's timeouts and backoff, not on a
// CPU: run together, a matrix takes about as long as its slowest case
// instead of the sum of them over the CPUs.
func eachFault(t *testing.T, fn func(t *testing.T, fc faultCase, mode faultMode)) {
	var wg sync.WaitGroup
	for _, fc := range faultCases() {
		for _, mode := range faultModes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(fc.name+"/"+mode.name, func(t *testing.T) { fn(t, fc, mode) })
			}()
		}
	}
	wg.Wait()
}

func TestFaultDuringPushIsRetriedOrFailsCleanly(t *testing.T) {
	t.Parallel()
	addr, _, _ := testutil.Registry(t, false)
	eachFault(t, func(t *testing.T, fc faultCase, mode faultMode) {
		proxy := testutil.StartFaultProxy(t, addr)
		sk := buildFaultSkill(t, proxy.Addr+"/"+testutil.Repo(t)+":1")
		f := fc.fault
		f.Method, f.Match, f.Times = http.MethodPut, sk.layer, mode.times(fc)
		f.Request = f.Kind != testutil.Fault500 && f.Kind != testutil.Fault429
		proxy.Set(f)

		res, err := sk.svc.Push(opContext(t), "", sk.ref)
		fired, matched := proxy.Fired(), proxy.Matched()
		proxy.Clear()
		switch {
		case fired == 0:
			t.Fatalf("the %s fault never fired (%d requests matched); push: %v", fc.name, matched, err)
		case mode.succeed && err != nil:
			t.Fatalf("push with the fault on the first %d uploads of the layer: %v", f.Times, err)
		case mode.succeed && fired != f.Times:
			t.Errorf("the fault fired %d times; want %d", fired, f.Times)
		case mode.succeed && res.Digest != sk.digest:
			t.Errorf("pushed %s; built %s", res.Digest, sk.digest)
		case !mode.succeed && err == nil:
			t.Fatalf("push succeeded although every upload of the layer failed (%d faults fired)", fired)
		case !mode.succeed:
			t.Logf("push failed as it should: %v", err)
			requireAttempts(t, matched)
			requireOneLineNaming(t, err, sk.layer)
			// The root is tagged last, so a failed push leaves no tag.
			other, _ := newFaultService(t)
			if _, perr := other.Pull(opContext(t), sk.ref, service.PullLimits{}); !errors.Is(perr, errdef.ErrNotFound) {
				t.Errorf("after a failed push, pulling the tag gave %v; want not found", perr)
			}
		}
		requireCleanStore(t, sk.svc, sk.store)

		// The fault cleared, the same push goes through.
		again, err := sk.svc.Push(opContext(t), "", sk.ref)
		if err != nil {
			t.Fatalf("clean push after the fault: %v", err)
		}
		if again.Digest != sk.digest {
			t.Errorf("clean push gave %s; built %s", again.Digest, sk.digest)
		}
		requireCleanStore(t, sk.svc, sk.store)
		requirePullable(t, sk.ref, sk.digest)
	})
}

func TestFaultDuringPullIsRetriedOrFailsCleanly(t *testing.T) {
	t.Parallel()
	addr, _, _ := testutil.Registry(t, false)
	eachFault(t, func(t *testing.T, fc faultCase, mode faultMode) {
		proxy := testutil.StartFaultProxy(t, addr)
		sk := buildFaultSkill(t, proxy.Addr+"/"+testutil.Repo(t)+":1")
		if _, err := sk.svc.Push(opContext(t), "", sk.ref); err != nil {
			t.Fatalf("push without faults: %v", err)
		}
		f := fc.fault
		f.Method, f.Match, f.Times = http.MethodGet, "/blobs/"+sk.layer, mode.times(fc)
		proxy.Set(f)

		svc, store := newFaultService(t)
		res, err := svc.Pull(opContext(t), sk.ref, service.PullLimits{})
		fired, matched := proxy.Fired(), proxy.Matched()
		proxy.Clear()
		switch {
		case fired == 0:
			t.Fatalf("the %s fault never fired (%d requests matched); pull: %v", fc.name, matched, err)
		case mode.succeed && err != nil:
			t.Fatalf("pull with the fault on the first %d downloads of the layer: %v", f.Times, err)
		case mode.succeed && fired != f.Times:
			t.Errorf("the fault fired %d times; want %d", fired, f.Times)
		case mode.succeed && res.Digest != sk.digest:
			t.Errorf("pulled %s; pushed %s", res.Digest, sk.digest)
		case !mode.succeed && err == nil:
			t.Fatalf("pull succeeded although every download of the layer failed (%d faults fired)", fired)
		case !mode.succeed:
			t.Logf("pull failed as it should: %v", err)
			requireAttempts(t, matched)
			requireOneLineNaming(t, err, sk.layer)
			if svc.Store().Has(digest.Digest(sk.layer)) {
				t.Errorf("the layer %s is in the store after a failed pull", sk.layer)
			}
			tags, terr := svc.Store().Tags()
			if terr != nil {
				t.Fatal(terr)
			}
			if len(tags) != 0 {
				t.Errorf("a failed pull left tags %v", tags)
			}
		}
		requireCleanStore(t, svc, store)

		// The fault cleared, the same pull goes through.
		again, err := svc.Pull(opContext(t), sk.ref, service.PullLimits{})
		if err != nil {
			t.Fatalf("clean pull after the fault: %v", err)
		}
		if again.Digest != sk.digest {
			t.Errorf("clean pull gave %s; pushed %s", again.Digest, sk.digest)
		}
		if !svc.Store().Has(digest.Digest(sk.layer)) {
			t.Errorf("the layer %s is missing after a clean pull", sk.layer)
		}
		requireCleanStore(t, svc, store)
	})
}

// TestFaultTooManyRequestsWaitsRetryAfter checks that a 429's Retry-After is
// honoured on the layer's upload and download: the operation cannot finish
// sooner than the registry asked. Only a lower bound is asserted.
func TestFaultTooManyRequestsWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	addr, _, _ := testutil.Registry(t, false)
	for _, dir := range []string{"push", "pull"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			proxy := testutil.StartFaultProxy(t, addr)
			sk := buildFaultSkill(t, proxy.Addr+"/"+testutil.Repo(t)+":1")
			f := testutil.Fault{Kind: testutil.Fault429, Times: 1, Method: http.MethodPut, Match: sk.layer}
			op := func(ctx context.Context) error {
				_, err := sk.svc.Push(ctx, "", sk.ref)
				return err
			}
			if dir == "pull" {
				if err := op(opContext(t)); err != nil {
					t.Fatalf("push without faults: %v", err)
				}
				f.Method, f.Match = http.MethodGet, "/blobs/"+sk.layer
				svc, _ := newFaultService(t)
				op = func(ctx context.Context) error {
					_, err := svc.Pull(ctx, sk.ref, service.PullLimits{})
					return err
				}
			}
			proxy.Set(f)
			start := time.Now()
			err := op(opContext(t))
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("%s after one 429: %v", dir, err)
			}
			if proxy.Fired() != 1 {
				t.Fatalf("the 429 fired %d times; want 1", proxy.Fired())
			}
			if elapsed < time.Second {
				t.Errorf("%s finished %v after a 429 with Retry-After: 1; it must wait at least 1s", dir, elapsed)
			}
		})
	}
}

// TestFaultRegistryRestartDuringPushRecovers kills the registry as the first
// blob upload begins and starts it again on the same port and storage. The
// push either completes through retries or fails with a clean message; the
// next push succeeds and what is pulled back is what was built.
func TestFaultRegistryRestartDuringPushRecovers(t *testing.T) {
	t.Parallel()
	reg := testutil.StartRegistry(t, false)
	proxy := testutil.StartFaultProxy(t, reg.Addr)
	sk := buildFaultSkill(t, proxy.Addr+"/"+testutil.Repo(t)+":1")

	stopped := make(chan struct{})
	proxy.Set(testutil.Fault{
		Kind: testutil.FaultCall, Method: http.MethodPost, Match: "/blobs/uploads/", Times: 1,
		Call: func() {
			reg.Stop()
			close(stopped)
		},
	})
	type result struct {
		res *service.PushResult
		err error
	}
	done := make(chan result, 1)
	ctx := opContext(t)
	go func() {
		res, err := sk.svc.Push(ctx, "", sk.ref)
		done <- result{res, err}
	}()
	select {
	case <-stopped:
	case r := <-done:
		t.Fatalf("push ended (%v) before any blob upload began", r.err)
	case <-time.After(faultOpDeadline):
		t.Fatal("no blob upload began")
	}
	reg.Restart(t)
	r := <-done
	proxy.Clear()
	if r.err != nil {
		t.Logf("push across the restart failed cleanly: %v", r.err)
		requireOneLineNaming(t, r.err, proxy.Addr)
	} else if r.res.Digest != sk.digest {
		t.Errorf("push across the restart gave %s; built %s", r.res.Digest, sk.digest)
	} else {
		t.Logf("push across the restart completed through retries")
	}
	requireCleanStore(t, sk.svc, sk.store)

	again, err := sk.svc.Push(opContext(t), "", sk.ref)
	if err != nil {
		t.Fatalf("push after the restart: %v", err)
	}
	if again.Digest != sk.digest {
		t.Errorf("push after the restart gave %s; built %s", again.Digest, sk.digest)
	}
	requirePullable(t, sk.ref, sk.digest)
}
