package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// contract is the subset of an OpenAPI document these tests read.
type contract struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"paths"`
}

func successes(responses map[string]json.RawMessage) []int {
	var out []int
	for code := range responses {
		if n, err := strconv.Atoi(code); err == nil && n < 300 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// TestServerHasEveryRouteOfTheContract requests every operation of
// ToolHive's skills API and checks the router knows it (whatever the
// handler then says), and that the server documents the contract's success
// status for it.
func TestServerHasEveryRouteOfTheContract(t *testing.T) {
	path := filepath.Join(repoRoot(t), "..", "shared", "compat", "skills-api.openapi.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("the contract is not beside the repository: %v", err)
	}
	var want contract
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	var ours contract
	h.expect(200, &ours, "GET", "/api/openapi.json", nil)
	if ours.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", ours.OpenAPI)
	}
	n := 0
	for p, ops := range want.Paths {
		for method, op := range ops {
			method = strings.ToUpper(method)
			n++
			target := strings.NewReplacer("{name}", "hello", "{tag}", "hello").Replace(p)
			var body any
			if method == "POST" {
				body = map[string]any{}
			}
			r := h.do(method, target, body)
			if r.status == 405 || (r.status == 404 && strings.HasPrefix(r.errorText(t), "no endpoint")) {
				t.Errorf("%s %s: the server has no such route (%d %s)", method, p, r.status, r)
			}
			mine, ok := ours.Paths[p][strings.ToLower(method)]
			if !ok {
				t.Errorf("%s %s is not in the server's document", method, p)
				continue
			}
			if got, want := successes(mine.Responses), successes(op.Responses); !slices.Equal(got, want) && !(len(got) == 0 && r.status == 501) {
				t.Errorf("%s %s: the server documents success %v, the contract %v", method, p, got, want)
			}
		}
	}
	if n < 12 {
		t.Errorf("read only %d operations from the contract", n)
	}
}

// TestDocumentIsValidOpenAPI31 loads the served document with kin-openapi's
// loader and validator; the harness does the same for every server, but
// this states it.
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	h := newHarness(t)
	r := h.expect(200, nil, "GET", "/api/openapi.json", nil)
	doc := loadDoc(t, r.body)
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("version %s", doc.OpenAPI)
	}
	for _, p := range []string{"/healthz", "/readyz", "/api/openapi.json", "/api/v1beta/skills", "/api/skilldock/v1/content/file"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("%s is not described", p)
		}
	}
}
