package api_test

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// This file's name sorts last so that its test runs after every other test
// of the package has sent its requests.

// registryRan is set by the tests that reached a real registry.
var registryRan bool

// needsRegistry are operations only a registry lets succeed.
var needsRegistry = map[string]bool{
	"POST /api/v1beta/skills/push": true,
	"POST /api/skilldock/v1/push":  true,
	"POST /api/skilldock/v1/pull":  true,
	"POST /api/skilldock/v1/login": true,
}

// TestEveryOperationWasSeenToSucceed checks, after the other tests, that
// each operation of the document answered its success status at least once
// and that this answer was validated against the document.
func TestEveryOperationWasSeenToSucceed(t *testing.T) {
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		t.Skip("only meaningful when every test ran")
	}
	if f := flag.Lookup("test.shuffle"); f != nil && f.Value.String() != "off" {
		t.Skip("only meaningful when this test runs last")
	}
	h := newHarness(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	h.expect(200, &doc, "GET", "/api/openapi.json", nil)
	validatedMu.Lock()
	defer validatedMu.Unlock()
	var missing []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			if needsRegistry[key] && !registryRan {
				continue
			}
			seen := false
			for code := range op.Responses {
				if code < "300" || code == "501" {
					seen = seen || validated[fmt.Sprintf("%s %s", key, code)]
				}
			}
			if !seen {
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no test saw %s succeed", m)
	}
}
