package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
)

// DB is the install records database.
type DB struct {
	db   *sql.DB
	path string
}

// DefaultPath is $XDG_STATE_HOME/skilldock/skilldock.db, or
// ~/.local/state/skilldock/skilldock.db.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "skilldock", "skilldock.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the home folder for the records database: %w", err)
	}
	return filepath.Join(home, ".local", "state", "skilldock", "skilldock.db"), nil
}

// Open opens (creating and migrating as needed) the database at path.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	// busy_timeout makes a writer wait for another process's transaction
	// instead of failing; WAL lets readers proceed while one writes.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	d := &DB{db: db, path: path}
	if err := retryBusy(ctx, func() error { return d.migrate(ctx) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("records database %s: %w", path, err)
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Path is the database file.
func (d *DB) Path() string { return d.path }

// migrations are applied in order, each once, each in its own transaction.
// Never edit one that has shipped; append a new one.
var migrations = []string{
	// 1: installs, the agents that read each, and the files written.
	`CREATE TABLE installs (
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
	);`,
	// 2: the skills each install declares it requires, a JSON array of
	// references; installs recorded before declared none that anyone knew.
	`ALTER TABLE installs ADD COLUMN requires TEXT NOT NULL DEFAULT '[]';`,
}

func (d *DB) migrate(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	for i, stmt := range migrations {
		version := i + 1
		// Not retried on its own: Open retries the whole migration.
		err := d.runOnce(ctx, nil, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d: %w", version, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, time.Now().UTC().Format(time.RFC3339))
			return err
		})
		if err != nil {
			return err
		}
	}
	var newest int
	if err := d.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return err
	}
	if newest > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this skilldock understands (%d); upgrade skilldock", newest, len(migrations))
	}
	return nil
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE), retried as a whole
// while SQLite reports the database busy.
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return d.run(ctx, nil, fn)
}

// read runs fn in a read transaction, so the statements in it see one
// snapshot, retried as a whole while SQLite reports the database busy.
func (d *DB) read(ctx context.Context, fn func(*sql.Tx) error) error {
	return d.run(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

func (d *DB) run(ctx context.Context, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	return retryBusy(ctx, func() error { return d.runOnce(ctx, opts, fn) })
}

// runOnce runs fn in one transaction, committed when fn succeeds.
func (d *DB) runOnce(ctx context.Context, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// busyFor bounds how long an operation is retried while the database is
// busy; it matches the busy timeout. An attempt started just before the
// bound may itself wait up to the busy timeout.
const busyFor = 15 * time.Second

// retryBusy runs fn again while it fails with SQLITE_BUSY. The busy timeout
// already makes most lock waits block, but SQLite answers some at once
// without consulting it: a connection opening while the last one to close
// cleans up the write-ahead log, two processes creating the database and
// switching it to WAL together, a transaction whose snapshot went stale.
// Each attempt is a whole transaction, so running it again is safe.
func retryBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(busyFor)
	wait := 2 * time.Millisecond
	for {
		err := fn()
		if err != nil && ctx.Err() != nil {
			// SQLite was interrupted, or gave up, because the caller did.
			return fmt.Errorf("gave up waiting for the records database (%v): %w", err, ctx.Err())
		}
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		// Jitter keeps processes that collided from colliding again.
		t := time.NewTimer(wait/2 + rand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gave up waiting for the records database (%v): %w", err, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// isBusy reports SQLITE_BUSY and its extended codes (recovery, snapshot,
// timeout), whose low byte is 5.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == 5
}
