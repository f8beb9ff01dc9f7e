package records_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/records"
)

// schemaV1 is the schema migration 1 created, as skilldock shipped it: a
// database written by that skilldock must open in this one.
const schemaV1 = `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
	CREATE TABLE installs (
		id           INTEGER PRIMARY KEY,
		name         TEXT NOT NULL,
		version      TEXT NOT NULL DEFAULT '',
		description  TEXT NOT NULL DEFAULT '',
		scope        TEXT NOT NULL CHECK (scope IN ('user', 'project')),
		project_root TEXT NOT NULL DEFAULT '',
		path         TEXT NOT NULL UNIQUE,
		source       TEXT NOT NULL,
		digest       TEXT NOT NULL,
		installed_at TEXT NOT NULL
	);
	CREATE INDEX installs_name ON installs(name);
	CREATE TABLE install_clients (
		install_id INTEGER NOT NULL REFERENCES installs(id) ON DELETE CASCADE,
		client     TEXT NOT NULL,
		PRIMARY KEY (install_id, client)
	);
	CREATE TABLE install_files (
		install_id INTEGER NOT NULL REFERENCES installs(id) ON DELETE CASCADE,
		path       TEXT NOT NULL,
		size       INTEGER NOT NULL,
		sha256     TEXT NOT NULL,
		executable INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (install_id, path)
	);
	CREATE TABLE intents (
		path       TEXT PRIMARY KEY,
		action     TEXT NOT NULL CHECK (action IN ('install', 'uninstall')),
		record     TEXT NOT NULL,
		created_at TEXT NOT NULL
	);
	INSERT INTO schema_migrations (version, applied_at) VALUES (1, '2025-01-01T00:00:00Z');`

func TestMigrationAddsRequiresToADatabaseOfMigrationOneKeepingItsRows(t *testing.T) {
	path := dbPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	old := raw(t, path)
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, stmt := range []string{
		schemaV1,
		`INSERT INTO installs (id, name, version, description, scope, project_root, path, source, digest, installed_at)
			VALUES (7, 'old', '1.0.0', 'Installed before dependencies.', 'user', '', '/h/.claude/skills/old', 'example.com/skills/old:1', '` + digest + `', '2025-01-02T03:04:05.000000006Z')`,
		`INSERT INTO install_clients (install_id, client) VALUES (7, 'claude-code'), (7, 'cursor')`,
		`INSERT INTO install_files (install_id, path, size, sha256, executable) VALUES (7, 'SKILL.md', 10, '` + strings.Repeat("b", 64) + `', 0)`,
	} {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := open(t, path)
	if v := versions(t, path); fmt.Sprint(v) != applied {
		t.Fatalf("schema_migrations holds %v; want %s", v, applied)
	}
	ctx := context.Background()
	got, err := db.Get(ctx, "/h/.claude/skills/old")
	if err != nil {
		t.Fatalf("the row written before the migration: %v", err)
	}
	if got.Name != "old" || got.Version != "1.0.0" || got.Digest != digest || got.Source != "example.com/skills/old:1" ||
		!slices.Equal(got.Clients, []string{"claude-code", "cursor"}) || len(got.Files) != 1 || got.InstalledAt.Nanosecond() != 6 {
		t.Errorf("the row changed in the migration: %+v", got)
	}
	if got.Requires != nil {
		t.Errorf("Requires = %q; an install recorded before the migration declares none", got.Requires)
	}
	var column string
	if err := raw(t, path).QueryRow(`SELECT requires FROM installs WHERE id = 7`).Scan(&column); err != nil || column != "[]" {
		t.Errorf("requires column of the old row = %q (%v); want []", column, err)
	}

	// The new column takes what new installs declare.
	rec := sample("/h/.claude/skills/new", "new", "claude-code")
	if err := db.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	back, err := db.Get(ctx, rec.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Requires, rec.Requires) {
		t.Errorf("Requires read back %q; want %q", back.Requires, rec.Requires)
	}
	if err := raw(t, path).QueryRow(`SELECT requires FROM installs WHERE path = ?`, rec.Path).Scan(&column); err != nil ||
		column != `["example.com/skills/base:2","example.com/skills/pdf@sha256:`+strings.Repeat("f", 64)+`"]` {
		t.Errorf("requires column = %q (%v); want a JSON array in declared order", column, err)
	}
}

func TestAMangledRequiresColumnStillListsTheInstall(t *testing.T) {
	db := open(t, dbPath(t))
	ctx := context.Background()
	rec := sample("/h/.claude/skills/a", "a", "claude-code")
	if err := db.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := raw(t, db.Path()).Exec(`UPDATE installs SET requires = '{not json'`); err != nil {
		t.Fatal(err)
	}
	list, err := db.List(ctx, records.Filter{}, false)
	if err != nil || len(list) != 1 || list[0].Requires != nil {
		t.Fatalf("List = %+v, %v; want the install without dependencies", list, err)
	}
}
