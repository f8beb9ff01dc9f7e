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
	paths := documentedResponses(t)
	validatedMu.Lock()
	defer validatedMu.Unlock()
	var missing []string
	for path, ops := range paths {
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

// TestEveryDocumentedContractErrorWasSeen checks, after the other tests,
// that each error status the document lists for a route of the ToolHive
// contract was answered by the running server at least once and validated
// against the document: the document promises no status the server cannot
// be made to answer.
func TestEveryDocumentedContractErrorWasSeen(t *testing.T) {
	paths := documentedResponses(t)
	validatedMu.Lock()
	defer validatedMu.Unlock()
	var missing []string
	for path, ops := range paths {
		if path != compatPrefix && !strings.HasPrefix(path, compatPrefix+"/") {
			continue
		}
		for method, op := range ops {
			for code := range op.Responses {
				key := fmt.Sprintf("%s %s %s", strings.ToUpper(method), path, code)
				if code < "400" || errorNeedsRegistry[key] && !registryRan {
					continue
				}
				if !validated[key] {
					missing = append(missing, key)
				}
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no test saw %s", m)
	}
}

const compatPrefix = "/api/v1beta/skills"

// errorNeedsRegistry are the contract's error answers only a registry lets
// a test cause: it throttles (429) or stalls (504), holds the artifact a
// preview would cache over a build (409), or is being talked to when the
// caller goes away (503).
var errorNeedsRegistry = map[string]bool{
	"POST /api/v1beta/skills 429":        true,
	"POST /api/v1beta/skills 503":        true,
	"POST /api/v1beta/skills 504":        true,
	"POST /api/v1beta/skills/push 429":   true,
	"POST /api/v1beta/skills/push 503":   true,
	"POST /api/v1beta/skills/push 504":   true,
	"GET /api/v1beta/skills/content 409": true,
	"GET /api/v1beta/skills/content 429": true,
	"GET /api/v1beta/skills/content 503": true,
	"GET /api/v1beta/skills/content 504": true,
}

// documentedResponses skips the test unless every test of the package ran
// before it, in order, and returns the responses the server's document
// lists: path → method → status → response.
func documentedResponses(t *testing.T) map[string]map[string]struct {
	Responses map[string]any `json:"responses"`
} {
	t.Helper()
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		t.Skip("only meaningful when every test ran")
	}
	if f := flag.Lookup("test.shuffle"); f != nil && f.Value.String() != "off" {
		t.Skip("only meaningful when this test runs last")
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	newHarness(t).expect(200, &doc, "GET", "/api/openapi.json", nil)
	return doc.Paths
}
