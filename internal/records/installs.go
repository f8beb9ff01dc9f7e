package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/skilldock/skilldock/internal/errdef"
)

// File is one installed file and its digest.
type File struct {
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	Executable bool   `json:"executable,omitempty"`
}

// Install is one installed folder.
type Install struct {
	Name        string    `json:"name"`
	Version     string    `json:"version,omitempty"`
	Description string    `json:"description,omitempty"`
	Scope       string    `json:"scope"`
	ProjectRoot string    `json:"projectRoot,omitempty"`
	Path        string    `json:"path"`
	Clients     []string  `json:"clients"`
	Source      string    `json:"source"`
	Digest      string    `json:"digest"`
	InstalledAt time.Time `json:"installedAt"`
	Files       []File    `json:"files,omitempty"`
	// Requires are the references of the skills this one declares it
	// depends on, as declared; installing never fetches them.
	Requires []string `json:"requires,omitempty"`
}

// Filter narrows a listing; empty fields match everything.
type Filter struct {
	Name        string
	Scope       string
	ProjectRoot string
	Client      string
}

// Put records an install, replacing any record of the same path.
func (d *DB) Put(ctx context.Context, in Install) error {
	return d.tx(ctx, func(tx *sql.Tx) error { return put(ctx, tx, in) })
}

func put(ctx context.Context, tx *sql.Tx, in Install) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM installs WHERE path = ?`, in.Path); err != nil {
		return err
	}
	requires := in.Requires
	if requires == nil {
		requires = []string{}
	}
	reqJSON, err := json.Marshal(requires)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO installs (name, version, description, scope, project_root, path, source, digest, installed_at, requires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.Name, in.Version, in.Description, in.Scope, in.ProjectRoot, in.Path, in.Source, in.Digest, in.InstalledAt.UTC().Format(time.RFC3339Nano), string(reqJSON))
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, c := range in.Clients {
		if _, err := tx.ExecContext(ctx, `INSERT INTO install_clients (install_id, client) VALUES (?, ?)`, id, c); err != nil {
			return err
		}
	}
	for _, f := range in.Files {
		if _, err := tx.ExecContext(ctx, `INSERT INTO install_files (install_id, path, size, sha256, executable) VALUES (?, ?, ?, ?, ?)`, id, f.Path, f.Size, f.SHA256, f.Executable); err != nil {
			return err
		}
	}
	return nil
}

// Delete forgets the install at path.
func (d *DB) Delete(ctx context.Context, path string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM installs WHERE path = ?`, path)
		return err
	})
}

// Get returns the install at path, with its files.
func (d *DB) Get(ctx context.Context, path string) (*Install, error) {
	list, err := d.query(ctx, `WHERE i.path = ?`, []any{path}, true)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errdef.Errorf(errdef.ErrNotFound, "no install recorded at %s", path)
	}
	return &list[0], nil
}

// List returns the installs matching f, with their files when withFiles.
func (d *DB) List(ctx context.Context, f Filter, withFiles bool) ([]Install, error) {
	var where []string
	var args []any
	if f.Name != "" {
		where, args = append(where, "i.name = ?"), append(args, f.Name)
	}
	if f.Scope != "" {
		where, args = append(where, "i.scope = ?"), append(args, f.Scope)
	}
	if f.ProjectRoot != "" {
		where, args = append(where, "i.project_root = ?"), append(args, f.ProjectRoot)
	}
	if f.Client != "" {
		where, args = append(where, "EXISTS (SELECT 1 FROM install_clients c WHERE c.install_id = i.id AND c.client = ?)"), append(args, f.Client)
	}
	clause := ""
	if len(where) > 0 {
		clause = "WHERE " + strings.Join(where, " AND ")
	}
	return d.query(ctx, clause, args, withFiles)
}

func (d *DB) query(ctx context.Context, clause string, args []any, withFiles bool) ([]Install, error) {
	var out []Install
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryTx(ctx, tx, clause, args, withFiles)
		return err
	})
	return out, err
}

func queryTx(ctx context.Context, tx *sql.Tx, clause string, args []any, withFiles bool) ([]Install, error) {
	rows, err := tx.QueryContext(ctx, `SELECT i.id, i.name, i.version, i.description, i.scope, i.project_root, i.path, i.source, i.digest, i.installed_at, i.requires
		FROM installs i `+clause+` ORDER BY i.name, i.scope, i.path`, args...)
	if err != nil {
		return nil, err
	}
	var out []Install
	var ids []int64
	for rows.Next() {
		var in Install
		var id int64
		var at, requires string
		if err := rows.Scan(&id, &in.Name, &in.Version, &in.Description, &in.Scope, &in.ProjectRoot, &in.Path, &in.Source, &in.Digest, &at, &requires); err != nil {
			rows.Close()
			return nil, err
		}
		in.InstalledAt, _ = time.Parse(time.RFC3339Nano, at)
		// Only skilldock writes the column; should another tool have
		// mangled it, the install is still listed, without dependencies.
		if json.Unmarshal([]byte(requires), &in.Requires) != nil || len(in.Requires) == 0 {
			in.Requires = nil
		}
		out, ids = append(out, in), append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, id := range ids {
		if err := loadChildren(ctx, tx, id, &out[i], withFiles); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func loadChildren(ctx context.Context, tx *sql.Tx, id int64, in *Install, withFiles bool) error {
	rows, err := tx.QueryContext(ctx, `SELECT client FROM install_clients WHERE install_id = ? ORDER BY client`, id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		in.Clients = append(in.Clients, c)
	}
	rows.Close()
	if !withFiles {
		return rows.Err()
	}
	rows, err = tx.QueryContext(ctx, `SELECT path, size, sha256, executable FROM install_files WHERE install_id = ? ORDER BY path`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.Path, &f.Size, &f.SHA256, &f.Executable); err != nil {
			return err
		}
		in.Files = append(in.Files, f)
	}
	return rows.Err()
}

// Intent is what an install or uninstall is about to do to a folder.
type Intent struct {
	Path   string
	Action string // "install" or "uninstall"
	Record Install
}

// BeginIntent records what is about to happen to a folder, before it happens.
func (d *DB) BeginIntent(ctx context.Context, it Intent) error {
	data, err := json.Marshal(it.Record)
	if err != nil {
		return err
	}
	return d.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO intents (path, action, record, created_at) VALUES (?, ?, ?, ?)`,
			it.Path, it.Action, string(data), time.Now().UTC().Format(time.RFC3339Nano))
		return err
	})
}

// CommitInstall records the install and clears its intent in one transaction.
func (d *DB) CommitInstall(ctx context.Context, in Install) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if err := put(ctx, tx, in); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM intents WHERE path = ?`, in.Path)
		return err
	})
}

// CommitUninstall forgets the install and clears its intent in one transaction.
func (d *DB) CommitUninstall(ctx context.Context, path string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM installs WHERE path = ?`, path); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM intents WHERE path = ?`, path)
		return err
	})
}

// ClearIntent drops an intent that turned out not to have happened.
func (d *DB) ClearIntent(ctx context.Context, path string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM intents WHERE path = ?`, path)
		return err
	})
}

// Intents lists unfinished intents, left by runs that were killed.
func (d *DB) Intents(ctx context.Context) ([]Intent, error) {
	var out []Intent
	err := d.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = intents(ctx, tx)
		return err
	})
	return out, err
}

func intents(ctx context.Context, tx *sql.Tx) ([]Intent, error) {
	rows, err := tx.QueryContext(ctx, `SELECT path, action, record FROM intents ORDER BY path`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Intent
	for rows.Next() {
		var it Intent
		var rec string
		if err := rows.Scan(&it.Path, &it.Action, &rec); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(rec), &it.Record); err != nil {
			return nil, errors.Join(errdef.New(errdef.ErrCorrupt, "an intent in the records database is unreadable"), err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
