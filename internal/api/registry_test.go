package api_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// TestRegistryRoundTripThroughTheAPI pushes a build with the contract's push,
// then on a second server with an empty store previews, pulls and installs
// it from the registry, through both APIs.
func TestRegistryRoundTripThroughTheAPI(t *testing.T) {
	addr, _, _ := testutil.Registry(t, false)
	registryRan = true
	repo := addr + "/" + testutil.Repo(t) + "/hello"
	ctx := context.Background()

	pusher := newHarness(t)
	t.Setenv("DOCKER_CONFIG", filepath.Join(pusher.env.home, ".docker"))
	dir := pusher.env.skill(t, "hello")
	pusher.expect(200, nil, "POST", "/api/v1beta/skills/build", map[string]string{"path": dir, "tag": repo + ":1.0"})
	pusher.expect(204, nil, "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1.0", "no_sign": true})
	pushed, err := pusher.client().Push(ctx, repo+":1.0", repo+":latest")
	if err != nil || !strings.HasPrefix(pushed.Digest, "sha256:") {
		t.Fatalf("Push over the extension API: %+v %v", pushed, err)
	}
	// A pulled copy is not a build: the contract's push refuses it below.

	puller := startHarness(t, newEnv(t, t.TempDir()))
	var content struct {
		Name, Version, Body string
		Files               []struct{ Path string }
	}
	puller.expect(200, &content, "GET", "/api/v1beta/skills/content?ref="+repo+":1.0", nil)
	if content.Name != "hello" || content.Version != "1.0.0" || len(content.Files) != 2 {
		t.Errorf("content from the registry: %+v", content)
	}
	puller.expect(404, nil, "GET", "/api/v1beta/skills/content?ref="+repo+":nope", nil)
	puller.expect(400, nil, "POST", "/api/v1beta/skills/push", map[string]any{"reference": repo + ":1.0"})

	c := puller.client()
	pulled, err := c.Pull(ctx, repo, service.PullLimits{})
	if err != nil || pulled.Tag != repo+":latest" || pulled.Digest != pushed.Digest || pulled.Name != "hello" {
		t.Fatalf("Pull: %+v %v", pulled, err)
	}
	cache, err := c.ListCache(ctx)
	if err != nil || len(cache) != 2 {
		t.Errorf("ListCache after a preview and a pull: %+v %v", cache, err)
	}
	var file bytes.Buffer
	if err := c.ContentFile(ctx, repo+":1.0", "SKILL.md", &file); err != nil || !strings.Contains(file.String(), "name: hello") {
		t.Errorf("ContentFile from the cache: %q %v", file.String(), err)
	}
	if _, err := c.Pull(ctx, repo+":missing", service.PullLimits{}); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Pull of a missing tag: %v", err)
	}

	var created struct{ Skill installedSkill }
	puller.expect(201, &created, "POST", "/api/v1beta/skills", map[string]any{"name": repo, "version": "1.0", "clients": []string{"claude-code"}})
	if created.Skill.Reference != repo+":1.0" || created.Skill.Tag != "1.0" || created.Skill.Digest != pushed.Digest {
		t.Errorf("install from the registry: %+v", created.Skill)
	}
	puller.expect(404, nil, "POST", "/api/v1beta/skills", map[string]any{"name": repo, "version": "9.9", "clients": []string{"claude-code"}})
}

func TestLoginThroughTheAPI(t *testing.T) {
	addr, user, pass := testutil.Registry(t, true)
	registryRan = true
	h := newHarness(t)
	t.Setenv("DOCKER_CONFIG", filepath.Join(h.env.home, ".docker"))
	ctx := context.Background()
	c := h.client()
	if err := c.Login(ctx, addr, user, pass+"x"); !errors.Is(err, errdef.ErrUnauthorized) {
		t.Errorf("Login with a wrong password: %v", err)
	}
	r := h.do("POST", "/api/skilldock/v1/login", map[string]string{"registry": addr, "username": user, "password": pass + "x"})
	if r.status != 401 || strings.Contains(string(r.body), pass) {
		t.Errorf("wrong password: %d %s", r.status, r)
	}
	if err := c.Login(ctx, addr, user, pass); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if err := c.Logout(ctx, addr); err != nil {
		t.Errorf("Logout: %v", err)
	}
}
