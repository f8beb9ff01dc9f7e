package service_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/remote"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// remoteService opens a service on a store of its own, as a separate machine
// would have.
func remoteService(t *testing.T, opts remote.Options) *service.Service {
	t.Helper()
	svc, err := service.New(service.Config{StorePath: t.TempDir(), Remote: opts})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// buildAndPush builds a skill whose content is unique to the test, tags it
// ref and pushes it there. It returns the digest.
func buildAndPush(t *testing.T, svc *service.Service, ref, content string) string {
	t.Helper()
	ctx := context.Background()
	dir := testutil.WriteSkill(t, t.TempDir(), "pull-skill", map[string]string{"notes.txt": t.Name() + content})
	b, err := svc.Build(ctx, service.BuildRequest{Dir: dir, Tags: []string{ref}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Push(ctx, "", ref)
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	if p.Digest != b.Digest {
		t.Fatalf("pushed %s; built %s", p.Digest, b.Digest)
	}
	return b.Digest
}

func TestPullByDigestOfAStoredGraphNeedsNoNetwork(t *testing.T) {
	testutil.Isolate(t)
	ctx := context.Background()
	// A registry of the test's own, so the test can take it away.
	reg := testutil.StartRegistry(t, false)
	ref := reg.Addr + "/" + testutil.Repo(t)
	dgst := buildAndPush(t, remoteService(t, remote.Options{}), ref+":1", "")
	byDigest := ref + "@" + dgst

	pulledByDigest := remoteService(t, remote.Options{})
	res, err := pulledByDigest.Pull(ctx, byDigest, service.PullLimits{})
	if err != nil {
		t.Fatalf("pull %s: %v", byDigest, err)
	}
	if res.Digest != dgst || res.Cached || res.Tag != byDigest {
		t.Fatalf("first pull by digest: %+v; want digest %s, tag %s, not cached", res, dgst, byDigest)
	}
	pulledByTag := remoteService(t, remote.Options{})
	if _, err := pulledByTag.Pull(ctx, ref+":1", service.PullLimits{}); err != nil {
		t.Fatalf("pull %s:1: %v", ref, err)
	}

	reg.Stop()
	if _, err := pulledByTag.Pull(ctx, ref+":1", service.PullLimits{}); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("pull by tag with the registry stopped: %v; want \"cannot reach\"", err)
	}
	// The same digest again, and a digest whose graph arrived under a tag:
	// both are answered from the store.
	for name, svc := range map[string]*service.Service{"pulled by digest": pulledByDigest, "pulled by tag": pulledByTag} {
		res, err := svc.Pull(ctx, byDigest, service.PullLimits{})
		if err != nil {
			t.Fatalf("%s: pull %s with the registry stopped: %v", name, byDigest, err)
		}
		if !res.Cached || res.Digest != dgst || res.Tag != byDigest {
			t.Errorf("%s: %+v; want cached, digest %s, tag %s", name, res, dgst, byDigest)
		}
	}
}

func TestPullOfACorruptedLayerFailsAndLeavesNothingBehind(t *testing.T) {
	testutil.Isolate(t)
	ctx := context.Background()
	addr, _, _ := testutil.Registry(t, false)
	repo := testutil.Repo(t)
	pusher := remoteService(t, remote.Options{})
	dgst := buildAndPush(t, pusher, addr+"/"+repo+":1", "")
	tag, err := pusher.Store().Resolve(addr + "/" + repo + ":1")
	if err != nil {
		t.Fatal(err)
	}
	sk, err := artifact.Describe(pusher.Store(), tag.Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	layer := sk.Layer.Digest.String()
	proxy := testutil.StartProxy(t, addr, layer)

	// Two attempts keep the retry backoff short; corrupted bytes are retried
	// because a flaky proxy may deliver them once.
	svc := remoteService(t, remote.Options{Attempts: 2})
	st := svc.Store()
	through := proxy.Addr + "/" + repo + ":1"
	_, err = svc.Pull(ctx, through, service.PullLimits{})
	if err == nil {
		t.Fatalf("pull through a corrupting proxy succeeded")
	}
	if !errors.Is(err, errdef.ErrCorrupt) || !strings.Contains(err.Error(), layer) {
		t.Errorf("error %q does not report corruption of %s", err, layer)
	}
	if n := proxy.BlobGets(layer); n != 2 {
		t.Errorf("the layer was fetched %d times; want 2 (one per attempt)", n)
	}
	if _, err := st.Resolve(through); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("%s is tagged after a failed pull (%v)", through, err)
	}
	if st.Has(digest.Digest(layer)) {
		t.Errorf("the corrupted layer %s is in the store", layer)
	}
	if left, _ := os.ReadDir(filepath.Join(st.Root(), ".skilldock", "tmp")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	fsck, err := st.Fsck()
	if err != nil || !fsck.OK() || fsck.Unreachable != 0 || fsck.Temporary != 0 {
		t.Errorf("fsck after the failed pull: %+v, %v", fsck, err)
	}

	direct := addr + "/" + repo + ":1"
	res, err := svc.Pull(ctx, direct, service.PullLimits{})
	if err != nil {
		t.Fatalf("pull %s straight from the registry: %v", direct, err)
	}
	if res.Digest != dgst {
		t.Errorf("pulled %s; pushed %s", res.Digest, dgst)
	}
}

func TestPullNeverReplacesALocalBuildOfTheSameName(t *testing.T) {
	testutil.Isolate(t)
	ctx := context.Background()
	addr, _, _ := testutil.Registry(t, false)
	ref := addr + "/" + testutil.Repo(t) + ":1"
	svc := remoteService(t, remote.Options{})
	pushed := buildAndPush(t, svc, ref, "")

	// The same name rebuilt from other files is a different local build.
	dir := testutil.WriteSkill(t, t.TempDir(), "pull-skill", map[string]string{"notes.txt": "changed"})
	rebuilt, err := svc.Build(ctx, service.BuildRequest{Dir: dir, Tags: []string{ref}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Pull(ctx, ref, service.PullLimits{})
	if !errors.Is(err, errdef.ErrAlreadyExists) || !strings.Contains(err.Error(), "builds rm") {
		t.Fatalf("pull over a local build of another digest: %v; want ErrAlreadyExists naming \"builds rm\"", err)
	}
	tag, err := svc.Store().Resolve(ref)
	if err != nil || tag.Descriptor.Digest.String() != rebuilt.Digest || !tag.LocalBuild {
		t.Fatalf("after the refused pull %s is %+v (%v); want the local build %s", ref, tag, err, rebuilt.Digest)
	}

	// Built again from the pushed files, the build is the pushed artifact;
	// pulling it keeps it a build.
	buildAndPush(t, svc, ref, "")
	res, err := svc.Pull(ctx, ref, service.PullLimits{})
	if err != nil || res.Digest != pushed {
		t.Fatalf("pull of the artifact that is the local build: %+v, %v", res, err)
	}
	builds, err := svc.ListBuilds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 1 || builds[0].Tag != ref || builds[0].Digest != pushed {
		t.Errorf("builds after pulling the build itself: %+v; want %s only", builds, ref)
	}
}
