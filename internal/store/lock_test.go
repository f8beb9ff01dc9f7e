package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/store"
	"github.com/skilldock/skilldock/internal/testutil"
)

// TestUpdateIndexContextGivesUpWhileTheLockIsHeldElsewhere: an update
// whose context ends while another process holds the index lock returns
// the context's error and writes nothing; once the lock is free it runs.
func TestUpdateIndexContextGivesUpWhileTheLockIsHeldElsewhere(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(st.Root(), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	note := func(idx *ocispec.Index) error {
		ran = true
		idx.Annotations = map[string]string{"org.opencontainers.image.description": "updated"}
		return nil
	}
	release := testutil.LockStoreIndex(t, st.Root())

	deadline, cancelDeadline := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelDeadline()
	if err := st.UpdateIndexContext(deadline, note); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("update past its deadline: %v, want context.DeadlineExceeded", err)
	}
	gone, leave := context.WithCancel(context.Background())
	go leave()
	if err := st.UpdateIndexContext(gone, note); !errors.Is(err, context.Canceled) {
		t.Errorf("update whose caller left: %v, want context.Canceled", err)
	}
	after, err := os.ReadFile(filepath.Join(st.Root(), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ran || string(after) != string(before) {
		t.Fatalf("an update that gave up changed the index (ran %v): %s", ran, after)
	}

	release()
	live, cancelLive := context.WithTimeout(context.Background(), time.Minute)
	defer cancelLive()
	if err := st.UpdateIndexContext(live, note); err != nil {
		t.Fatalf("update once the lock is free: %v", err)
	}
	idx, err := st.Index()
	if err != nil {
		t.Fatal(err)
	}
	if !ran || idx.Annotations["org.opencontainers.image.description"] != "updated" {
		t.Errorf("the update did not land: %+v", idx.Annotations)
	}
}
