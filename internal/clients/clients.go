package clients

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/skilldock/skilldock/internal/errdef"
)

//go:embed clients.yaml
var builtin []byte

// Scope says whose skills folder an install goes to.
type Scope string

const (
	ScopeUser    Scope = "user"
	ScopeProject Scope = "project"
)

// ParseScope accepts "user" or "project".
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeUser, ScopeProject:
		return Scope(s), nil
	case "":
		return ScopeUser, nil
	}
	return "", errdef.Errorf(errdef.ErrInvalid, "scope %q is not user or project", s)
}

// Client is one agent of the table.
type Client struct {
	ID      string `yaml:"id" json:"id"`
	Name    string `yaml:"name" json:"name"`
	User    string `yaml:"user" json:"userPath"`
	Project string `yaml:"project" json:"projectPath"`
	Detect  string `yaml:"detect" json:"detect"`
	Source  string `yaml:"source" json:"source"`
}

// Env is what path expansion depends on; tests point it at temp folders.
type Env struct {
	Home          string
	XDGConfigHome string
}

// EnvFromOS reads HOME and XDG_CONFIG_HOME.
func EnvFromOS() (Env, error) {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return Env{}, errors.New("cannot find the home folder; set HOME")
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" || !filepath.IsAbs(cfg) {
		cfg = filepath.Join(home, ".config")
	}
	return Env{Home: filepath.Clean(home), XDGConfigHome: filepath.Clean(cfg)}, nil
}

// Table is the set of known agents.
type Table struct {
	env     Env
	clients []Client
}

// Load reads the built-in table and, when it exists, the user's file
// ($XDG_CONFIG_HOME/skilldock/clients.yaml), whose entries add agents or
// replace built-in ones with the same id.
func Load(env Env) (*Table, error) {
	t := &Table{env: env}
	if err := t.merge(builtin, "built-in table"); err != nil {
		return nil, err
	}
	user := filepath.Join(env.XDGConfigHome, "skilldock", "clients.yaml")
	data, err := os.ReadFile(user)
	switch {
	case err == nil:
		if err := t.merge(data, user); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading %s: %w", user, err)
	}
	return t, nil
}

func (t *Table) merge(data []byte, origin string) error {
	var doc struct {
		Clients []Client `yaml:"clients"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return errdef.Errorf(errdef.ErrInvalid, "%s: not a valid clients file: %v", origin, err)
	}
	for _, c := range doc.Clients {
		if c.ID == "" || c.User == "" || c.Project == "" {
			return errdef.Errorf(errdef.ErrInvalid, "%s: every client needs id, user and project paths (entry %q)", origin, c.ID)
		}
		if filepath.IsAbs(c.Project) || strings.Contains(filepath.ToSlash(c.Project), "..") {
			return errdef.Errorf(errdef.ErrInvalid, "%s: client %q: the project path must be relative and stay inside the project", origin, c.ID)
		}
		if c.Name == "" {
			c.Name = c.ID
		}
		replaced := false
		for i := range t.clients {
			if t.clients[i].ID == c.ID {
				t.clients[i], replaced = c, true
			}
		}
		if !replaced {
			t.clients = append(t.clients, c)
		}
	}
	return nil
}

// All returns every agent, in table order.
func (t *Table) All() []Client { return append([]Client(nil), t.clients...) }

// Get finds an agent by id.
func (t *Table) Get(id string) (Client, bool) {
	for _, c := range t.clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

// IDs lists the known ids, sorted.
func (t *Table) IDs() []string {
	var ids []string
	for _, c := range t.clients {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	return ids
}

// Detected reports whether the agent's folder exists on this machine.
func (t *Table) Detected(c Client) bool {
	if c.Detect == "" {
		return false
	}
	info, err := os.Stat(t.expandUser(c.Detect))
	return err == nil && info.IsDir()
}

// SkillsDir is the folder the agent reads skills from in a scope. For the
// project scope, root is the project's root folder.
func (t *Table) SkillsDir(c Client, scope Scope, root string) (string, error) {
	if scope == ScopeProject {
		if root == "" || !filepath.IsAbs(root) {
			return "", errdef.New(errdef.ErrInvalid, "project scope needs an absolute project root")
		}
		return filepath.Join(root, filepath.FromSlash(c.Project)), nil
	}
	p := t.expandUser(c.User)
	if !filepath.IsAbs(p) {
		return "", errdef.Errorf(errdef.ErrInvalid, "client %q: user path %q is not under the home folder", c.ID, c.User)
	}
	return p, nil
}

// Select resolves --client: "all", a comma-separated list of ids, or empty
// for the agents detected on this machine.
func (t *Table) Select(spec string) ([]Client, error) {
	spec = strings.TrimSpace(spec)
	switch spec {
	case "all":
		return t.All(), nil
	case "":
		var found []Client
		for _, c := range t.clients {
			if t.Detected(c) {
				found = append(found, c)
			}
		}
		if len(found) == 0 {
			return nil, errdef.Errorf(errdef.ErrInvalid, "no agent detected on this machine; choose with --client (one of %s, or all)", strings.Join(t.IDs(), ", "))
		}
		return found, nil
	}
	var out []Client
	seen := map[string]bool{}
	for _, id := range strings.Split(spec, ",") {
		id = strings.TrimSpace(id)
		c, ok := t.Get(id)
		if !ok {
			return nil, errdef.Errorf(errdef.ErrInvalid, "unknown client %q; known clients: %s (run \"skilldock clients\")", id, strings.Join(t.IDs(), ", "))
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func (t *Table) expandUser(p string) string {
	switch {
	case p == "~":
		return t.env.Home
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(t.env.Home, filepath.FromSlash(p[2:]))
	case p == "$XDG_CONFIG_HOME":
		return t.env.XDGConfigHome
	case strings.HasPrefix(p, "$XDG_CONFIG_HOME/"):
		return filepath.Join(t.env.XDGConfigHome, filepath.FromSlash(p[len("$XDG_CONFIG_HOME/"):]))
	}
	return filepath.Clean(p)
}

// Home is the home folder paths expand against.
func (t *Table) Home() string { return t.env.Home }

// FindProjectRoot walks up from dir to the nearest folder holding .git.
func FindProjectRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errdef.Errorf(errdef.ErrInvalid, "%s is not inside a git repository; pass --project-root DIR", abs)
		}
	}
}
