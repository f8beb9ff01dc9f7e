package records_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/testutil"
)

// Processes started together on a machine where the records database does
// not exist yet, each opening it, reading and exiting, are what parallel
// skilldock runs look like. SQLite answers some of their lock conflicts with
// "database is locked" at once, whatever the busy timeout: creating the file
// and switching it to WAL together, or opening while the last process to
// close cleans up the write-ahead log. Every process must still succeed.
func TestProcessesCreatingTheDatabaseTogetherAllSucceed(t *testing.T) {
	bin := testutil.Binary(t)
	m := testutil.IsolateMachine(t)
	const rounds, procs = 60, 10
	for r := 0; r < rounds; r++ {
		state := filepath.Join(t.TempDir(), "state")
		env := []string{"XDG_STATE_HOME=" + state}
		var wg sync.WaitGroup
		errs := make(chan string, procs)
		for p := 0; p < procs; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := testutil.ExecErr(env, bin, "list", "-o", "json")
				if err != nil || res.Code != 0 {
					errs <- fmt.Sprintf("%v %s", err, res)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("round %d: skilldock list: %s", r, e)
		}
		if t.Failed() {
			return
		}
		// The database they created together is whole and migrated.
		db := open(t, filepath.Join(state, "skilldock", "skilldock.db"))
		if err := db.Put(context.Background(), sample(m.Home+"/.claude/skills/a", "a", "claude-code")); err != nil {
			t.Fatalf("round %d: writing to the new database: %v", r, err)
		}
		db.Close()
	}
}

// A caller that stops waiting while another connection holds the database
// gets its own cancellation back, promptly, not "database is locked", and
// nothing is written.
func TestWaitingForABusyDatabaseEndsWithTheCaller(t *testing.T) {
	path := dbPath(t)
	db := open(t, path)
	holder, err := raw(t, path).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = db.Put(ctx, sample("/h/.claude/skills/late", "late", "claude-code"))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put while the database is held: %v; want the caller's deadline", err)
	}
	if took > 5*time.Second {
		t.Errorf("Put gave up after %v; want soon after the 300 ms deadline", took)
	}
	if _, err := holder.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if list, err := db.List(context.Background(), records.Filter{}, false); err != nil || len(list) != 0 {
		t.Errorf("after the abandoned Put: %d records (%v); want none", len(list), err)
	}
}
