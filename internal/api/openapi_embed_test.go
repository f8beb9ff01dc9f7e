package api

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite openapi.json from the route table (go generate ./internal/api)")

// TestEmbeddedOpenAPIDocumentIsUpToDate regenerates the OpenAPI document
// from the route table and requires the embedded openapi.json to be it;
// with -update-openapi (go generate ./internal/api) it rewrites the file.
func TestEmbeddedOpenAPIDocumentIsUpToDate(t *testing.T) {
	want, err := (&Server{}).openAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	if *updateOpenAPI {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatalf("%v; run `go generate ./internal/api`", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/api/openapi.json is not the document the route table describes; run `go generate ./internal/api`")
	}
	if !bytes.Equal(openAPIJSON, got) {
		t.Fatal("the embedded document is not openapi.json")
	}
}
