package service

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/records"
)

// The note on dependencies not installed is looked up after the skill is in
// place and recorded; these are the ways that look-up can go wrong then, and
// none may cost the install its success or its note when the records can
// still be read.
func TestTheNoteOnDependenciesOutlivesItsCallerAndNeverFailsTheInstall(t *testing.T) {
	ctx := context.Background()
	db, err := records.Open(ctx, filepath.Join(t.TempDir(), "records.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base, pdf := "example.com/skills/base:1", "example.com/skills/pdf:2"
	if err := db.Put(ctx, records.Install{
		Name: "base", Scope: "user", Path: filepath.Join(t.TempDir(), "base"), Clients: []string{"claude-code"},
		Source: base, Digest: "sha256:" + strings.Repeat("ab", 32), InstalledAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	res := &InstallResult{
		Name: "needs", Scope: "user", Requires: []string{base, pdf},
		Installs: []install.Outcome{{Path: filepath.Join(t.TempDir(), "needs"), Clients: []string{"claude-code"}, Action: "installed"}},
	}
	want := []string{pdf}
	if got := notInstalledNote(ctx, db, res, ""); !slices.Equal(got, want) {
		t.Fatalf("NotInstalled = %q, want %q", got, want)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	for name, ctx := range map[string]context.Context{"cancelled": cancelled, "past its deadline": expired} {
		if got := notInstalledNote(ctx, db, res, ""); !slices.Equal(got, want) {
			t.Errorf("with a caller's context %s: NotInstalled = %q, want %q", name, got, want)
		}
	}

	// Records that cannot be read give no note, and no error to give.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got := notInstalledNote(ctx, db, res, ""); got != nil {
		t.Errorf("with the records closed: NotInstalled = %q, want none", got)
	}
}
