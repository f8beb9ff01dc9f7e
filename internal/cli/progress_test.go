package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

// Tests that progress is drawn on a terminal and nowhere else. The terminal
// is a real pseudo-terminal made by script(1) from util-linux; the layer
// comes through the throttling proxy so that a transfer lasts long enough
// for the bar to be drawn (it redraws at most every 100 ms).

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// onTerminal runs the binary with stdin, stdout and stderr on a
// pseudo-terminal, stdout redirected to stdoutFile when it is not empty. It
// returns everything written to the terminal.
func onTerminal(t *testing.T, stdoutFile string, args ...string) (tty string, code int) {
	t.Helper()
	script := testutil.RequireTool(t, "script")
	words := []string{shellQuote(testutil.Binary(t))}
	for _, a := range args {
		words = append(words, shellQuote(a))
	}
	line := strings.Join(words, " ")
	if stdoutFile != "" {
		line += " >" + shellQuote(stdoutFile)
	}
	// -e: script exits with the command's code; -q: no banner; /dev/null:
	// no typescript file, the terminal's output comes on script's stdout.
	r := testutil.Exec(t, []string{"SHELL=/bin/sh"}, script, "-qec", line, "/dev/null")
	if r.Stderr != "" {
		t.Fatalf("script: %s", r)
	}
	return r.Stdout, r.Code
}

// byteCount matches what a progress bar shows of bytes moved or their rate.
var byteCount = regexp.MustCompile(`\d+(\.\d+)? ?[kKMG]i?B(/s)?`)

// progressLines returns the pieces of terminal output, between carriage
// returns and newlines, that draw progress for the blob whose short digest
// is given: the digest and a byte count on one line.
func progressLines(tty, short string) []string {
	var out []string
	for _, piece := range strings.FieldsFunc(tty, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.Contains(piece, short) && byteCount.MatchString(piece) {
			out = append(out, piece)
		}
	}
	return out
}

// requireOneJSONObject checks that s is exactly one JSON object and returns
// it decoded into v.
func requireOneJSONObject(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil || !strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
		t.Fatalf("stdout is not a JSON object (%v): %q", err, s)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON object: %q", s)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func TestProgressIsDrawnOnATerminalOnlyAndNeverWithQuiet(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := testutil.Repo(t)
	builder := t.TempDir()
	layer := bigSkill(t, builder, addr+"/"+repo+":1", 3<<20)
	want := inspect(t, builder, addr+"/"+repo+":1").Digest
	testutil.MustSkilldock(t, builder, "push", addr+"/"+repo+":1")
	proxy := startThrottleProxy(t, addr, 1<<20)
	ref := proxy.Addr + "/" + repo + ":1"
	short := shortDigest(layer)

	t.Run("a terminal shows a bar per blob while stdout keeps one JSON object", func(t *testing.T) {
		stdout := filepath.Join(t.TempDir(), "stdout.json")
		tty, code := onTerminal(t, stdout, "--store", t.TempDir(), "pull", ref, "--output", "json")
		if code != 0 {
			t.Fatalf("pull on a terminal: exit %d\n%s", code, tty)
		}
		if lines := progressLines(tty, short); len(lines) == 0 {
			t.Errorf("no progress line naming layer %s and a byte count on the terminal:\n%q", short, tty)
		}
		b, err := os.ReadFile(stdout)
		if err != nil {
			t.Fatal(err)
		}
		var p pullJSON
		requireOneJSONObject(t, string(b), &p)
		if p.Digest != want {
			t.Errorf("pulled %s; want %s", p.Digest, want)
		}
	})

	t.Run("pipes get no progress and one JSON object", func(t *testing.T) {
		r := sdEnv(t, nil, t.TempDir(), "pull", ref, "--output", "json")
		if r.code != 0 {
			t.Fatalf("pull into pipes: %s", r)
		}
		if r.err != "" {
			t.Errorf("stderr of a pull into a pipe: %q; want nothing", r.err)
		}
		var p pullJSON
		requireOneJSONObject(t, r.out, &p)
		if p.Digest != want {
			t.Errorf("pulled %s; want %s", p.Digest, want)
		}
	})

	t.Run("quiet on a terminal shows the result line only", func(t *testing.T) {
		tty, code := onTerminal(t, "", "--store", t.TempDir(), "pull", ref, "-q")
		if code != 0 {
			t.Fatalf("pull -q on a terminal: exit %d\n%s", code, tty)
		}
		// The terminal turns "\n" into "\r\n".
		if wantLine := "pulled " + ref + "\t" + want + "\r\n"; tty != wantLine {
			t.Errorf("terminal output of pull -q: %q; want only %q", tty, wantLine)
		}
	})
}
