package records_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/testutil"
)

func dbPath(t *testing.T) string {
	t.Helper()
	return testutil.IsolateMachine(t).RecordsPath()
}

func open(t *testing.T, path string) *records.DB {
	t.Helper()
	db, err := records.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// raw opens the file with the SQL driver alone, as another tool (or a newer
// skilldock) would.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func versions(t *testing.T, path string) []int {
	t.Helper()
	rows, err := raw(t, path).Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// applied is what schema_migrations holds once every migration ran.
const applied = "[1 2]"

func sample(path, name string, clients ...string) records.Install {
	return records.Install{
		Name: name, Version: "1.0.0", Scope: "user", Path: path, Clients: clients,
		Source: "example.com/skills/" + name + ":1", Digest: "sha256:" + strings.Repeat("a", 64),
		InstalledAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Files:       []records.File{{Path: "SKILL.md", Size: 10, SHA256: strings.Repeat("b", 64)}, {Path: "run.sh", Size: 3, SHA256: strings.Repeat("c", 64), Executable: true}},
		Requires:    []string{"example.com/skills/base:2", "example.com/skills/pdf@sha256:" + strings.Repeat("f", 64)},
	}
}

func TestOpeningTwiceAppliesEachMigrationOnce(t *testing.T) {
	path := dbPath(t)
	for i := 0; i < 2; i++ {
		db, err := records.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i+1, err)
		}
		db.Close()
	}
	if v := versions(t, path); fmt.Sprint(v) != applied {
		t.Fatalf("schema_migrations holds %v; want %s", v, applied)
	}
}

func TestOpenRefusesADatabaseFromANewerSkilldock(t *testing.T) {
	path := dbPath(t)
	db := open(t, path)
	if err := db.Put(context.Background(), sample("/h/.claude/skills/a", "a", "claude-code")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := raw(t, path).Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (3, 'later')`); err != nil {
		t.Fatal(err)
	}
	_, err := records.Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), "upgrade skilldock") {
		t.Fatalf("error %v; want a refusal saying the database is newer", err)
	}
	if v := versions(t, path); fmt.Sprint(v) != "[1 2 3]" {
		t.Errorf("the refused database was changed: versions %v", v)
	}
}

func TestConcurrentFirstOpensMigrateOnce(t *testing.T) {
	path := dbPath(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := records.Open(context.Background(), path)
			if err != nil {
				errs <- err
				return
			}
			errs <- db.Put(context.Background(), sample(fmt.Sprintf("/h/s/%p", db), "a", "x"))
			db.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if v := versions(t, path); fmt.Sprint(v) != applied {
		t.Errorf("schema_migrations holds %v; want %s", v, applied)
	}
}

func TestConcurrentWritersOnSeveralHandlesAllSucceed(t *testing.T) {
	// Several handles stand for several processes: each has its own
	// connection, so only the busy timeout keeps their writes from failing.
	path := dbPath(t)
	const handles, writers, each = 4, 2, 5
	dbs := make([]*records.DB, handles)
	for i := range dbs {
		dbs[i] = open(t, path)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, handles*writers*each)
	for h := range dbs {
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(db *records.DB, id string) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					p := fmt.Sprintf("/h/.claude/skills/s-%s-%d", id, i)
					rec := sample(p, "s-"+id, "claude-code")
					for _, err := range []error{
						db.BeginIntent(ctx, records.Intent{Path: p, Action: "install", Record: rec}),
						db.CommitInstall(ctx, rec),
						db.Put(ctx, rec),
					} {
						if err != nil {
							errs <- err
						}
					}
					if _, err := db.List(ctx, records.Filter{}, true); err != nil {
						errs <- err
					}
				}
			}(dbs[h], fmt.Sprintf("%d-%d", h, w))
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := dbs[0].List(ctx, records.Filter{}, true)
	if err != nil || len(list) != handles*writers*each {
		t.Fatalf("%d records (%v); want %d", len(list), err, handles*writers*each)
	}
	if its, _ := dbs[0].Intents(ctx); len(its) != 0 {
		t.Errorf("%d intents left", len(its))
	}
}

func TestPutReplacesTheRecordWithItsClientsAndFiles(t *testing.T) {
	db := open(t, dbPath(t))
	ctx := context.Background()
	first := sample("/h/.claude/skills/a", "a", "claude-code", "cursor")
	if err := db.Put(ctx, first); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(ctx, first.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(&first) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, &first)
	}
	second := first
	second.Clients = []string{"codex"}
	second.Digest = "sha256:" + strings.Repeat("d", 64)
	second.Files = []records.File{{Path: "SKILL.md", Size: 1, SHA256: strings.Repeat("e", 64)}}
	second.Requires = nil
	if err := db.Put(ctx, second); err != nil {
		t.Fatal(err)
	}
	got, err = db.Get(ctx, first.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(&second) {
		t.Errorf("after replacing:\n%+v\nwant\n%+v", got, &second)
	}
	// The old clients and files went with the old row.
	var n int
	if err := raw(t, db.Path()).QueryRow(`SELECT (SELECT COUNT(*) FROM install_files) + (SELECT COUNT(*) FROM install_clients)`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d child rows (%v); want 2", n, err)
	}
}

func TestIntentsAreClearedByTheirCommit(t *testing.T) {
	db := open(t, dbPath(t))
	ctx := context.Background()
	a, b := sample("/h/s/a", "a", "x"), sample("/h/s/b", "b", "x")
	if err := db.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, it := range []records.Intent{{Path: a.Path, Action: "install", Record: a}, {Path: b.Path, Action: "uninstall", Record: b}} {
		if err := db.BeginIntent(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	its, err := db.Intents(ctx)
	if err != nil || len(its) != 2 || its[0].Record.Name != "a" || its[1].Action != "uninstall" {
		t.Fatalf("intents %+v %v", its, err)
	}
	if err := db.CommitInstall(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.CommitUninstall(ctx, b.Path); err != nil {
		t.Fatal(err)
	}
	if its, _ := db.Intents(ctx); len(its) != 0 {
		t.Errorf("intents left: %+v", its)
	}
	if _, err := db.Get(ctx, b.Path); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("uninstalled record: %v; want not found", err)
	}
	if _, err := db.Get(ctx, a.Path); err != nil {
		t.Errorf("installed record: %v", err)
	}
}

func TestAnUnreadableIntentIsReportedAsCorrupt(t *testing.T) {
	db := open(t, dbPath(t))
	if _, err := raw(t, db.Path()).Exec(`INSERT INTO intents (path, action, record, created_at) VALUES ('/x', 'install', '{not json', 'now')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Intents(context.Background()); !errors.Is(err, errdef.ErrCorrupt) {
		t.Fatalf("error %v; want corrupt", err)
	}
}

func TestListFiltersByNameScopeProjectAndClient(t *testing.T) {
	db := open(t, dbPath(t))
	ctx := context.Background()
	u := sample("/h/.claude/skills/a", "a", "claude-code")
	p := sample("/p/.agents/skills/a", "a", "amp", "codex")
	p.Scope, p.ProjectRoot = "project", "/p"
	o := sample("/h/.claude/skills/b", "b", "claude-code")
	for _, r := range []records.Install{u, p, o} {
		if err := db.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]struct {
		f    records.Filter
		want string
	}{
		"all":     {records.Filter{}, "[/p/.agents/skills/a /h/.claude/skills/a /h/.claude/skills/b]"},
		"name":    {records.Filter{Name: "a"}, "[/p/.agents/skills/a /h/.claude/skills/a]"},
		"scope":   {records.Filter{Scope: "user"}, "[/h/.claude/skills/a /h/.claude/skills/b]"},
		"project": {records.Filter{ProjectRoot: "/p"}, "[/p/.agents/skills/a]"},
		"client":  {records.Filter{Client: "codex"}, "[/p/.agents/skills/a]"},
		"none":    {records.Filter{Client: "cursor"}, "[]"},
	} {
		list, err := db.List(ctx, c.f, false)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, r := range list {
			paths = append(paths, r.Path)
			if r.Files != nil {
				t.Errorf("%s: files loaded without asking", name)
			}
		}
		if fmt.Sprint(paths) != c.want {
			t.Errorf("%s: %v; want %s", name, paths, c.want)
		}
	}
}

func TestDefaultPathFollowsXDGStateHome(t *testing.T) {
	m := testutil.IsolateMachine(t)
	if p, err := records.DefaultPath(); err != nil || p != m.RecordsPath() {
		t.Errorf("DefaultPath() = %s, %v; want %s", p, err, m.RecordsPath())
	}
	t.Setenv("XDG_STATE_HOME", "relative/ignored")
	if p, _ := records.DefaultPath(); p != filepath.Join(m.Home, ".local", "state", "skilldock", "skilldock.db") {
		t.Errorf("with a relative XDG_STATE_HOME: %s", p)
	}
}
