package service_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// The listing reads hints stamped in index.json and one config blob per
// build; tags without hints (older stores, other tools) take the full path
// through the index and manifests. Both must give the same rows.
func TestBuildsListingFromHintsMatchesTheFullDescription(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	parent := t.TempDir()
	for _, name := range []string{"alpha", "beta"} {
		dir := testutil.WriteSkill(t, parent, name, map[string]string{"scripts/run.sh": "echo " + name})
		if _, err := svc.Build(ctx, service.BuildRequest{Dir: dir}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Tag(ctx, "alpha", "alpha:stable"); err != nil {
		t.Fatal(err)
	}
	withHints, err := svc.ListBuilds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	indexPath := filepath.Join(svc.Store().Root(), "index.json")
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), `"dev.skilldock.hint.config"`); n != len(withHints) {
		t.Fatalf("%d of %d build tags carry the listing hint (tag must carry it along)", n, len(withHints))
	}
	var idx map[string]any
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	for _, m := range idx["manifests"].([]any) {
		ann := m.(map[string]any)["annotations"].(map[string]any)
		for k := range ann {
			if strings.HasPrefix(k, "dev.skilldock.hint.") {
				delete(ann, k)
			}
		}
	}
	stripped, _ := json.Marshal(idx)
	if err := os.WriteFile(indexPath, stripped, 0o644); err != nil {
		t.Fatal(err)
	}
	without, err := svc.ListBuilds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(withHints) != 5 || !reflect.DeepEqual(withHints, without) {
		t.Fatalf("listing differs with and without hints:\nhints %+v\nfull  %+v", withHints, without)
	}
	for _, b := range withHints {
		if b.Name == "" || b.Version != "1.0.0" || b.Description == "" || b.Size <= 0 {
			t.Errorf("incomplete row %+v", b)
		}
	}
}
