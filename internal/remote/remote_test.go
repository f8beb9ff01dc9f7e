package remote_test

import (
	"context"
	"net"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/remote"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// transfer is what a recorder saw of one blob.
type transfer struct {
	action  string
	desc    ocispec.Descriptor
	bytes   int64
	done    bool
	skipped bool
	err     error
}

// recorder is a remote.Progress that remembers every transfer. It observes
// the client; the registry it talks to is real.
type recorder struct {
	mu        sync.Mutex
	transfers []*transfer
}

func (r *recorder) Start(action string, desc ocispec.Descriptor) remote.Tracker {
	r.mu.Lock()
	defer r.mu.Unlock()
	tr := &transfer{action: action, desc: desc}
	r.transfers = append(r.transfers, tr)
	return &recTracker{r: r, t: tr}
}

// take returns what was recorded since the last take.
func (r *recorder) take() []transfer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]transfer, len(r.transfers))
	for i, t := range r.transfers {
		out[i] = *t
	}
	r.transfers = nil
	return out
}

type recTracker struct {
	r *recorder
	t *transfer
}

func (rt *recTracker) Add(n int64) {
	rt.r.mu.Lock()
	defer rt.r.mu.Unlock()
	rt.t.bytes += n
}

func (rt *recTracker) Done(skipped bool, err error) {
	rt.r.mu.Lock()
	defer rt.r.mu.Unlock()
	rt.t.done, rt.t.skipped, rt.t.err = true, skipped, err
}

func newService(t *testing.T, opts remote.Options) (*service.Service, string) {
	t.Helper()
	store := t.TempDir()
	svc, err := service.New(service.Config{StorePath: store, Remote: opts})
	if err != nil {
		t.Fatal(err)
	}
	return svc, store
}

func build(t *testing.T, svc *service.Service, tag string) *service.BuildResult {
	t.Helper()
	// The test's name in a file makes the content, and so every blob, unique
	// to the test: a shared registry cannot already hold it.
	dir := testutil.WriteSkill(t, t.TempDir(), "remote-skill", map[string]string{"notes.txt": t.Name() + "\n"})
	res, err := svc.Build(context.Background(), service.BuildRequest{Dir: dir, Tags: []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPushSkipsBlobsTheRegistryAlreadyHas(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	ctx := context.Background()
	rec := &recorder{}
	svc, store := newService(t, remote.Options{Progress: rec})
	ref := addr + "/" + testutil.Repo(t) + ":1"
	b := build(t, svc, ref)
	// Every blob of the graph: index, two platform manifests, two configs and
	// the shared layer.
	graph := testutil.Reachable(t, store)
	if len(graph) != 6 {
		t.Fatalf("the build has %d blobs; want 6 (index, 2 manifests, 2 configs, 1 layer)", len(graph))
	}

	for round := 1; round <= 2; round++ {
		if _, err := svc.Push(ctx, "", ref); err != nil {
			t.Fatalf("push %d: %v", round, err)
		}
		seen := map[string]bool{}
		for _, tr := range rec.take() {
			d := tr.desc.Digest.String()
			seen[d] = true
			if tr.action != "push" || !tr.done || tr.err != nil {
				t.Errorf("push %d: %s: action %q, done %v, err %v", round, d, tr.action, tr.done, tr.err)
			}
			wantSkip := round == 2 && d != b.Digest
			if tr.skipped != wantSkip {
				t.Errorf("push %d: %s (%s) skipped=%v; want %v", round, d, tr.desc.MediaType, tr.skipped, wantSkip)
			}
			if want := map[bool]int64{true: 0, false: tr.desc.Size}[wantSkip]; tr.bytes != want {
				t.Errorf("push %d: %s sent %d bytes; want %d", round, d, tr.bytes, want)
			}
		}
		for d := range graph {
			if !seen[d] {
				t.Errorf("push %d: blob %s was never reported", round, d)
			}
		}
		if len(seen) != len(graph) {
			t.Errorf("push %d: %d blobs reported; want %d", round, len(seen), len(graph))
		}
	}
}

func TestIsLoopbackMatchesOnlyThisMachine(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1:5000":        true,
		"127.0.0.1":             true,
		"127.8.9.10:443":        true,
		"localhost:5000":        true,
		"LocalHost":             true,
		"[::1]:5000":            true,
		"::1":                   true,
		"10.0.0.1:5000":         false,
		"192.168.1.1":           false,
		"localhost.example.com": false,
		"mylocalhost:5000":      false,
		"ghcr.io":               false,
		"registry.local:5000":   false,
	}
	for host, want := range cases {
		if got := remote.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v; want %v", host, got, want)
		}
	}
}

func TestLoopbackReferencesUsePlainHTTPWithoutAFlag(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			// PlainHTTP is false: the loopback rule alone must pick http://.
			svc, _ := newService(t, remote.Options{})
			ref := net.JoinHostPort(host, port) + "/" + testutil.Repo(t) + ":1"
			b := build(t, svc, ref)
			pushed, err := svc.Push(ctx, "", ref)
			if err != nil {
				t.Fatalf("push %s: %v", ref, err)
			}
			if pushed.Digest != b.Digest {
				t.Errorf("pushed %s; built %s", pushed.Digest, b.Digest)
			}
			other, _ := newService(t, remote.Options{})
			pulled, err := other.Pull(ctx, ref, service.PullLimits{})
			if err != nil {
				t.Fatalf("pull %s: %v", ref, err)
			}
			if pulled.Digest != b.Digest || pulled.Cached {
				t.Errorf("pulled %s (cached %v); want %s, not cached", pulled.Digest, pulled.Cached, b.Digest)
			}
		})
	}
}
