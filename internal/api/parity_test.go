package api_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/cli"
)

// run is one in-process run of the CLI.
type run struct {
	code        int
	out, errOut string
}

func runCLI(args ...string) run {
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return run{code: code, out: out.String(), errOut: errOut.String()}
}

var timestamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}| [A-Z]{3,4})?`)

// normalize makes two machines' outputs comparable: their roots and the
// install times differ, nothing else may.
func normalize(s, root string) string {
	return timestamp.ReplaceAllString(strings.ReplaceAll(s, root, "$ROOT"), "$TIME")
}

// TestCLIGivesTheSameOutputThroughTheServer runs each command twice, on two
// machines set up alike: in process on one, and with --server against a
// server on the other. Standard output, standard error and the exit code
// must be the same.
func TestCLIGivesTheSameOutputThroughTheServer(t *testing.T) {
	base := t.TempDir()
	// Roots of equal length, so that aligned tables holding paths align alike.
	local := newEnv(t, filepath.Join(base, "a"))
	remote := newEnv(t, filepath.Join(base, "b"))
	local.useEnv(t)
	h := startHarness(t, remote)
	for _, e := range []*env{local, remote} {
		e.skill(t, "hello")
		writeBadSkill(t, e.skills)
		if err := os.MkdirAll(filepath.Join(e.root, "project"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	drift := func(e *env) {
		p := filepath.Join(e.root, "project", ".claude", "skills", "hello", "scripts", "run.sh")
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho changed\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	addExtra := func(e *env) {
		p := filepath.Join(e.root, "project", ".claude", "skills", "hello", "notes.txt")
		if err := os.WriteFile(p, []byte("mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	steps := []struct {
		args   string
		code   int
		before func(*env)
	}{
		{args: "validate {root}/skills/hello"},
		{args: "validate {root}/skills/hello -o json"},
		{args: "validate {root}/skills/bad", code: 1},
		{args: "validate {root}/skills/gone", code: 1},
		{args: "build {root}/skills/hello"},
		{args: "build {root}/skills/hello -t hello:2 -t localhost:5999/team/hello:2 -o json"},
		{args: "build {root}/skills/bad", code: 1},
		{args: "build {root}/skills/hello --platform linux/riscv64 -t hello:riscv"},
		{args: "builds"},
		{args: "builds -o json"},
		{args: "builds -q"},
		{args: "tag hello hello:stable"},
		{args: "tag nope nope:2", code: 1},
		{args: "inspect hello:stable"},
		{args: "inspect hello:riscv -o json"},
		{args: "inspect nope", code: 1},
		{args: "builds rm hello:2 hello:riscv"},
		{args: "builds rm hello:2", code: 1},
		{args: "builds rm localhost:5999/team/hello:2 -o json"},
		{args: "fsck"},
		{args: "fsck -o json"},
		{args: "gc"},
		{args: "gc -o json"},
		{args: "cache ls"},
		{args: "cache ls -o json"},
		{args: "cache prune -o json"},
		{args: "cache prune localhost:5999/team/nope:1", code: 1},
		{args: "content hello"},
		{args: "content hello -o json"},
		{args: "content hello --file scripts/run.sh"},
		{args: "content hello --file nope.txt", code: 1},
		{args: "content nope", code: 1},
		{args: "clients"},
		{args: "clients -o json"},
		{args: "install hello --client claude-code"},
		{args: "install hello --client claude-code -o json"},
		{args: "install {root}/skills/hello --client claude-code --force"},
		{args: "install hello:stable --client claude-code --scope project --project-root {root}/project"},
		{args: "install nope --client claude-code", code: 1},
		{args: "install hello --client emacs", code: 1},
		{args: "list"},
		{args: "list -o json"},
		{args: "list --scope project --project-root {root}/project"},
		{args: "info hello"},
		{args: "info hello -o json"},
		{args: "info nope", code: 1},
		{args: "verify"},
		{args: "verify hello -o json", code: 1, before: drift},
		{args: "uninstall hello --client claude-code --scope project --project-root {root}/project", code: 1, before: addExtra},
		{args: "uninstall hello --client claude-code --scope project --project-root {root}/project --force"},
		{args: "uninstall hello --client claude-code -o json"},
		{args: "uninstall hello", code: 1},
		{args: "list"},
		{args: "push localhost:5999/team/nope:1", code: 1},
		{args: "pull hello", code: 1},
		{args: "logout localhost:5999"},
		{args: "builds extra", code: 2},
	}
	// The steps build on each other, so they run in order in one test.
	for _, s := range steps {
		if s.before != nil {
			s.before(local)
			s.before(remote)
		}
		l := runCLI(append([]string{"--store", local.store}, strings.Fields(strings.ReplaceAll(s.args, "{root}", local.root))...)...)
		r := runCLI(append([]string{"--server", h.url}, strings.Fields(strings.ReplaceAll(s.args, "{root}", remote.root))...)...)
		if l.code != s.code {
			t.Errorf("%s: in process: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", s.args, l.code, s.code, l.out, l.errOut)
		}
		if r.code != l.code {
			t.Errorf("%s: through the server: exit %d, in process %d\nstderr: %s", s.args, r.code, l.code, r.errOut)
		}
		if lo, ro := normalize(l.out, local.root), normalize(r.out, remote.root); lo != ro {
			t.Errorf("%s: stdout differs\nin process:\n%s\nthrough the server:\n%s", s.args, lo, ro)
		}
		if le, re := normalize(l.errOut, local.root), normalize(r.errOut, remote.root); le != re {
			t.Errorf("%s: stderr differs\nin process:\n%s\nthrough the server:\n%s", s.args, le, re)
		}
	}
}
