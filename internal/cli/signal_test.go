package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/testutil"
)

// Tests that Ctrl-C (SIGINT) stops a transfer of the real binary promptly
// and leaves nothing behind. A throttling proxy keeps the big blob moving
// for seconds, and tells the test when it has started, so the signal always
// lands mid-transfer.

// throttleProxy is an HTTP reverse proxy on 127.0.0.1 in front of a
// plain-HTTP registry that slows every body of at least min bytes, request
// or response, to rate bytes per second. Slowing is how the proxy keeps a
// transfer in flight; tests synchronise on Streaming, never on time.
type throttleProxy struct {
	Addr string // 127.0.0.1:PORT; loopback, so clients use plain HTTP

	streaming chan struct{}
	once      sync.Once
}

const (
	throttleChunk = 64 << 10
	throttleRate  = 4 << 20 // bytes per second
)

func startThrottleProxy(t *testing.T, target string, min int64) *throttleProxy {
	t.Helper()
	p := &throttleProxy{streaming: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	rp.FlushInterval = -1 // every chunk reaches the client as it is read
	// Interrupted transfers are the point; their errors are not news.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	direct := rp.Director
	rp.Director = func(req *http.Request) {
		direct(req)
		if req.Body != nil && req.ContentLength >= min {
			req.Body = &throttledBody{ReadCloser: req.Body, ctx: req.Context(), started: p.started}
		}
	}
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && resp.ContentLength >= min {
			resp.Body = &throttledBody{ReadCloser: resp.Body, ctx: resp.Request.Context(), started: p.started}
		}
		return nil
	}
	p.Addr = testutil.ServeLoopback(t, rp)
	return p
}

// Streaming is closed once the first chunk of a slowed body has passed the
// proxy: a response chunk was handed to the client, or an upload chunk was
// taken from it.
func (p *throttleProxy) Streaming() <-chan struct{} { return p.streaming }

func (p *throttleProxy) started() { p.once.Do(func() { close(p.streaming) }) }

// throttledBody passes at most throttleChunk bytes per read and then waits
// long enough to hold throttleRate; the wait ends early when the request is
// gone. Its second read means the first chunk has moved on: the reverse
// proxy reads again only once it has written what it read.
type throttledBody struct {
	io.ReadCloser
	ctx     context.Context
	started func()
	reads   int
}

func (b *throttledBody) Read(p []byte) (int, error) {
	if b.reads++; b.reads == 2 {
		b.started()
	}
	if len(p) > throttleChunk {
		p = p[:throttleChunk]
	}
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		t := time.NewTimer(time.Duration(n) * time.Second / throttleRate)
		defer t.Stop()
		select {
		case <-t.C:
		case <-b.ctx.Done():
			return n, b.ctx.Err()
		}
	}
	return n, err
}

// background is the binary running while the test acts on it.
type background struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	errOut bytes.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // from Wait; read after done
}

func startSkilldock(t *testing.T, store string, args ...string) *background {
	t.Helper()
	b := &background{done: make(chan struct{})}
	b.cmd = exec.Command(testutil.Binary(t), append([]string{"--store", store}, args...)...)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.errOut
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// waitFor fails the test unless ch closes before the process exits or the
// deadline passes.
func (b *background) waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-b.done:
		t.Fatalf("skilldock exited before %s: %v\nstdout:\n%s\nstderr:\n%s", what, b.err, &b.out, &b.errOut)
	case <-time.After(20 * time.Second):
		t.Fatalf("no sign of %s within 20s", what)
	}
}

// interrupt sends SIGINT and waits for the process to exit by itself.
func (b *background) interrupt(t *testing.T) runResult {
	t.Helper()
	if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// Generous: the point is that the process exits on its own, not that it
	// is fast; the throttled transfer would have taken seconds longer.
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
		t.Fatalf("skilldock still running 15s after SIGINT\nstderr:\n%s", &b.errOut)
	}
	r := runResult{out: b.out.String(), err: b.errOut.String()}
	var exit *exec.ExitError
	switch {
	case b.err == nil:
	case errors.As(b.err, &exit) && exit.Exited():
		r.code = exit.ExitCode()
	default:
		t.Fatalf("skilldock did not exit by itself after SIGINT (%v): the signal killed it\nstderr:\n%s", b.err, r.err)
	}
	return r
}

// bigSkill builds a skill whose layer is size bytes of noise (it does not
// compress) into store, tagged ref, with the binary: gzip under the race
// detector would take most of the test's time. It returns the layer digest.
func bigSkill(t *testing.T, store, ref string, size int) string {
	t.Helper()
	noise := make([]byte, size)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	dir := testutil.WriteSkill(t, t.TempDir(), "big-skill", map[string]string{"assets/noise.bin": string(noise)})
	testutil.MustSkilldock(t, store, "build", dir, "-t", ref)
	return inspect(t, store, ref).Layer.Digest
}

// tmpFiles lists store/.skilldock/tmp.
func tmpFiles(t *testing.T, store string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(store, ".skilldock", "tmp"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// treeHashes maps every file under dir to the SHA-256 of its bytes.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requireInterrupted checks how a command ends on SIGINT: exit 130, as for
// any cancelled command, and one line on stderr.
func requireInterrupted(t *testing.T, r runResult) {
	t.Helper()
	if r.code != ExitCode(context.Canceled) {
		t.Errorf("exit %d after SIGINT; want %d\nstderr:\n%s", r.code, ExitCode(context.Canceled), r.err)
	}
	requireOneLineError(t, r)
	if r.out != "" {
		t.Errorf("stdout after SIGINT: %q; want nothing", r.out)
	}
}

// registryHas asks the registry directly whether repo has path (a
// "manifests/TAG" or "blobs/DIGEST").
func registryHas(t *testing.T, addr, repo, path string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://"+addr+"/v2/"+repo+"/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("HEAD %s: HTTP %d", req.URL, resp.StatusCode)
	return false
}

const bigLayer = 24 << 20 // about 6 s through the proxy

func TestInterruptedPullExits130AndLeavesNothingInTheStore(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := testutil.Repo(t)
	builder := t.TempDir()
	layer := bigSkill(t, builder, addr+"/"+repo+":1", bigLayer)
	testutil.MustSkilldock(t, builder, "push", addr+"/"+repo+":1")
	proxy := startThrottleProxy(t, addr, 1<<20)

	store := t.TempDir()
	pull := startSkilldock(t, store, "pull", proxy.Addr+"/"+repo+":1")
	pull.waitFor(t, proxy.Streaming(), "the layer streaming")
	// The layer is being written: the interruption has something to clean.
	tmpDir := filepath.Join(store, ".skilldock", "tmp")
	pull.waitFor(t, pollUntil(t, func() bool {
		entries, _ := os.ReadDir(tmpDir)
		return len(entries) > 0
	}), "a temporary blob in the store")
	r := pull.interrupt(t)
	requireInterrupted(t, r)

	if tmp := tmpFiles(t, store); len(tmp) != 0 {
		t.Errorf("temporary files left in the store: %v", tmp)
	}
	if exists(blobPath(store, layer)) {
		t.Errorf("the layer %s is in the store after an interrupted pull", layer)
	}
	if c := cacheList(t, store).Cache; len(c) != 0 {
		t.Errorf("an interrupted pull is cached: %+v", c)
	}
	requireStoreClean(t, store)
}

func TestInterruptedPushExits130AndChangesNeitherStoreNorTag(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := testutil.Repo(t)
	store := t.TempDir()
	proxy := startThrottleProxy(t, addr, 1<<20)
	ref := proxy.Addr + "/" + repo + ":1"
	layer := bigSkill(t, store, ref, bigLayer)
	before := treeHashes(t, store)

	push := startSkilldock(t, store, "push", ref)
	push.waitFor(t, proxy.Streaming(), "the layer uploading")
	r := push.interrupt(t)
	requireInterrupted(t, r)

	if after := treeHashes(t, store); !maps.Equal(before, after) {
		t.Errorf("an interrupted push changed the store:\nbefore %v\nafter  %v", before, after)
	}
	requireStoreClean(t, store)
	if registryHas(t, addr, repo, "manifests/1") {
		t.Errorf("the registry has tag 1 after an interrupted push")
	}
	if registryHas(t, addr, repo, "blobs/"+layer) {
		t.Errorf("the registry has the layer %s after an interrupted upload", layer)
	}
}

// pollUntil returns a channel closed once cond holds; polling stops then
// or when the test ends.
func pollUntil(t *testing.T, cond func() bool) <-chan struct{} {
	ch, stop := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if cond() {
				close(ch)
				return
			}
		}
	}()
	return ch
}
