package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// send is do for goroutines other than the test's own, where t.Fatal is not
// allowed: failures come back as errors. body is nil, a string sent as is,
// or a value sent as JSON.
func (h *harness) send(method, path string, body any) (response, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	return h.roundTrip(req)
}

// roundTrip sends a prepared request and reads the whole answer. An answer
// carrying a CORS header is an error whatever its status: the server never
// sends one (docs/api.md, "No CORS").
func (h *harness) roundTrip(req *http.Request) (response, error) {
	resp, err := h.http.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the body: %w", req.Method, req.URL.Path, err)
	}
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			return response{}, fmt.Errorf("%s %s: the answer carries the CORS header %s: %s", req.Method, req.URL.Path, k, resp.Header.Get(k))
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// TestConcurrentRequestsAndACLIProcessShareOneStore fires a storm of
// builds, listings, previews and deletes at one server while a separate
// skilldock process builds into the same store. Every request must get the
// answer it would get alone, and the store must end consistent: what was
// built is there and readable, what was deleted is gone, nothing is left
// unreachable, and fsck agrees.
//
// Half the folders are built only under tags the storm deletes, and the
// storm and the CLI build those folders again meanwhile: a delete's
// collection then races builds of the very blobs it would collect, which
// the store's session lock must arbitrate.
func TestConcurrentRequestsAndACLIProcessShareOneStore(t *testing.T) {
	h := newHarness(t)
	bin := testutil.Binary(t) // built before the storm, not during it
	const (
		folders = 6
		kept    = 3  // folders 0..2 stay tagged keep-N throughout
		doomed  = 10 // gone-N, built from folders 3..5, each deleted once
		builds  = 16 // storm-N, from folder N%folders
		lists   = 12
		reads   = 12 // content of keep-N%kept
		cliRuns = 10 // cli-N, from folder N%folders, by another process
	)
	if builds+doomed+lists+reads != 50 {
		t.Fatal("the storm is 50 requests")
	}

	names := make([]string, folders)
	dirs := make([]string, folders)
	for i := range dirs {
		names[i] = fmt.Sprintf("storm-%c", 'a'+i)
		dirs[i] = testutil.WriteSkill(t, h.env.skills, names[i], map[string]string{
			"notes.txt":      strings.Repeat(names[i]+" notes\n", 100*(i+1)),
			"scripts/run.sh": "#!/bin/sh\necho " + names[i] + "\n",
		})
	}
	const buildPath = "/api/v1beta/skills/build"
	build := func(dir, tag string) {
		t.Helper()
		var res struct{ Reference string }
		h.expect(200, &res, "POST", buildPath, map[string]string{"path": dir, "tag": tag})
		if res.Reference != tag {
			t.Fatalf("build %s: reference %q", tag, res.Reference)
		}
	}
	// folderOf says which folder each tag that may ever exist was built
	// from; a listing during the storm may show only these.
	folderOf := map[string]int{}
	for i := 0; i < kept; i++ {
		folderOf[fmt.Sprintf("keep-%d", i)] = i
	}
	for j := 0; j < doomed; j++ {
		folderOf[fmt.Sprintf("gone-%d", j)] = kept + j%(folders-kept)
	}
	for k := 0; k < builds; k++ {
		folderOf[fmt.Sprintf("storm-%d", k)] = k % folders
	}
	for n := 0; n < cliRuns; n++ {
		folderOf[fmt.Sprintf("cli-%d", n)] = n % folders
	}
	for tag, i := range folderOf {
		if strings.HasPrefix(tag, "keep-") || strings.HasPrefix(tag, "gone-") {
			build(dirs[i], tag)
		}
	}
	// The digest each folder builds to: every later tag of a folder must
	// name the same one, whichever door built it.
	digestOf := make([]string, folders)
	for _, b := range h.listBuilds(t) {
		i := folderOf[b.Tag]
		if digestOf[i] != "" && digestOf[i] != b.Digest {
			t.Fatalf("folder %d built to %s and %s", i, digestOf[i], b.Digest)
		}
		digestOf[i] = b.Digest
	}
	if slices.Contains(digestOf, "") {
		t.Fatalf("a folder has no digest: %v", digestOf)
	}

	// Each request is a closure that checks its own answer and returns
	// what was wrong with it; results land in their own slot.
	var storm []func() error
	for k := 0; k < builds; k++ {
		dir, tag := dirs[k%folders], fmt.Sprintf("storm-%d", k)
		storm = append(storm, func() error {
			r, err := h.send("POST", buildPath, map[string]string{"path": dir, "tag": tag})
			if err != nil {
				return err
			}
			var res struct{ Reference string }
			if r.status != 200 || json.Unmarshal(r.body, &res) != nil || res.Reference != tag {
				return fmt.Errorf("build %s: %d %s", tag, r.status, r)
			}
			return nil
		})
	}
	for j := 0; j < doomed; j++ {
		tag := fmt.Sprintf("gone-%d", j)
		storm = append(storm, func() error {
			r, err := h.send("DELETE", "/api/v1beta/skills/builds/"+tag, nil)
			if err != nil {
				return err
			}
			if r.status != 204 || len(r.body) != 0 {
				return fmt.Errorf("delete %s: %d %s", tag, r.status, r)
			}
			return nil
		})
	}
	for l := 0; l < lists; l++ {
		storm = append(storm, func() error {
			r, err := h.send("GET", "/api/v1beta/skills/builds", nil)
			if err != nil {
				return err
			}
			var list struct{ Builds []localBuild }
			if r.status != 200 {
				return fmt.Errorf("list builds: %d %s", r.status, r)
			}
			if err := json.Unmarshal(r.body, &list); err != nil {
				return fmt.Errorf("list builds: %v: %s", err, r.body)
			}
			seen := map[string]localBuild{}
			for _, b := range list.Builds {
				if _, ok := folderOf[b.Tag]; !ok {
					return fmt.Errorf("list builds: unknown tag %q in %s", b.Tag, r.body)
				}
				seen[b.Tag] = b
			}
			for i := 0; i < kept; i++ {
				b, ok := seen[fmt.Sprintf("keep-%d", i)]
				if !ok || b.Digest != digestOf[i] || b.Name != names[i] {
					return fmt.Errorf("list builds: keep-%d missing or wrong (%+v) in %s", i, b, r.body)
				}
			}
			return nil
		})
	}
	for c := 0; c < reads; c++ {
		i := c % kept
		storm = append(storm, func() error {
			r, err := h.send("GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(fmt.Sprintf("keep-%d", i)), nil)
			if err != nil {
				return err
			}
			var content struct{ Name, Body string }
			if r.status != 200 || json.Unmarshal(r.body, &content) != nil || content.Name != names[i] {
				return fmt.Errorf("content of keep-%d: %d %.300s", i, r.status, r)
			}
			return nil
		})
	}

	// The CLI builds in its own process, through its own service and its
	// own file locks, while the storm runs.
	cli := func() error {
		for n := 0; n < cliRuns; n++ {
			res, err := testutil.ExecErr(nil, bin, "build", dirs[n%folders], "-t", fmt.Sprintf("cli-%d", n), "--store", h.env.store)
			if err != nil {
				return fmt.Errorf("cli-%d: %w", n, err)
			}
			if res.Code != 0 {
				return fmt.Errorf("skilldock build -t cli-%d: %s", n, res)
			}
		}
		return nil
	}

	start := make(chan struct{})
	errs := make([]error, len(storm)+1)
	var wg sync.WaitGroup
	for i, f := range append(storm, cli) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f()
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Afterwards: exactly the tags that should exist, each naming its
	// folder's digest and readable, and a store fsck accepts without
	// garbage.
	var got []string
	for _, b := range h.listBuilds(t) {
		got = append(got, b.Tag)
		if strings.HasPrefix(b.Tag, "gone-") {
			t.Errorf("build %s was deleted but is still listed", b.Tag)
		} else if i := folderOf[b.Tag]; b.Digest != digestOf[i] {
			t.Errorf("build %s is %s, want %s (folder %d)", b.Tag, b.Digest, digestOf[i], i)
		}
	}
	for tag, i := range folderOf {
		if strings.HasPrefix(tag, "gone-") {
			continue
		}
		if !slices.Contains(got, tag) {
			t.Errorf("build %s is missing after the storm", tag)
			continue
		}
		var content struct{ Name string }
		h.expect(200, &content, "GET", "/api/v1beta/skills/content?ref="+url.QueryEscape(tag), nil)
		if content.Name != names[i] {
			t.Errorf("content of %s names %q, want %q", tag, content.Name, names[i])
		}
	}
	if r := testutil.Skilldock(t, h.env.store, "fsck"); r.Code != 0 {
		t.Errorf("skilldock fsck after the storm: %s", r)
	}
	testutil.RequireNoGarbage(t, h.env.store)
}

// listBuilds lists the builds through the API.
func (h *harness) listBuilds(t *testing.T) []localBuild {
	t.Helper()
	var list struct{ Builds []localBuild }
	h.expect(200, &list, "GET", "/api/v1beta/skills/builds", nil)
	return list.Builds
}
