package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
)

func TestExitCodesAndOneLineErrors(t *testing.T) {
	store := t.TempDir()
	good := newSkill(t, "good-skill")
	bad := filepath.Join(t.TempDir(), "bad-skill")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "SKILL.md"), []byte("no frontmatter here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSD(t, store, "build", good)

	cases := []struct {
		name string
		args []string
		code int
		// errLine is false for commands that report on stdout and exit
		// without an error line (validate of an invalid skill).
		errLine bool
		errHas  string
	}{
		{"validate of a valid skill", []string{"validate", good}, 0, false, ""},
		{"build", []string{"build", good, "-t", "other"}, 0, false, ""},
		{"builds", []string{"builds"}, 0, false, ""},
		{"tag", []string{"tag", "other", "other:2"}, 0, false, ""},
		{"inspect", []string{"inspect", "good-skill"}, 0, false, ""},
		{"gc", []string{"gc"}, 0, false, ""},
		{"fsck", []string{"fsck"}, 0, false, ""},

		{"validate of an invalid skill", []string{"validate", bad}, 1, false, ""},
		{"build of an invalid skill", []string{"build", bad}, 1, true, "frontmatter"},
		{"build of a missing folder", []string{"build", filepath.Join(t.TempDir(), "nope")}, 1, true, "does not exist"},
		{"inspect of an unknown tag", []string{"inspect", "nope"}, 1, true, `no tag "nope"`},
		{"tag of an unknown tag", []string{"tag", "nope", "x"}, 1, true, `no tag "nope"`},
		{"builds rm of an unknown tag", []string{"builds", "rm", "nope"}, 1, true, `no local build "nope"`},
		{"build with an invalid tag", []string{"build", good, "-t", "Bad Tag"}, 1, true, "Bad Tag"},

		{"build without its argument", []string{"build"}, 2, true, "build DIR"},
		{"validate with two arguments", []string{"validate", good, good}, 2, true, "usage"},
		{"tag with one argument", []string{"tag", "good-skill"}, 2, true, "usage"},
		{"builds rm without a tag", []string{"builds", "rm"}, 2, true, "usage"},
		{"builds with an argument", []string{"builds", "extra"}, 2, true, "usage"},
		{"unknown flag", []string{"builds", "--frobnicate"}, 2, true, "--frobnicate"},
		{"unknown global flag", []string{"--frobnicate", "builds"}, 2, true, "--frobnicate"},
		{"unknown command", []string{"frobnicate"}, 2, true, "frobnicate"},
		{"unsupported --output", []string{"builds", "--output", "yaml"}, 2, true, "yaml"},
		{"malformed --platform", []string{"build", good, "--platform", "linux"}, 2, true, "OS/ARCH"},
		{"malformed --max-file-size", []string{"build", good, "--max-file-size", "lots"}, 2, true, "--max-file-size"},
		{"--max-files below 1", []string{"build", good, "--max-files", "0"}, 2, true, "--max-files"},
		{"NaN --max-file-size", []string{"build", good, "--max-file-size", "nan"}, 2, true, "--max-file-size"},
		{"infinite --max-file-size", []string{"build", good, "--max-file-size", "inf"}, 2, true, "--max-file-size"},
		{"--max-total-size past int64", []string{"build", good, "--max-total-size", "1e30"}, 2, true, "--max-total-size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sd(t, store, c.args...)
			if r.code != c.code {
				t.Fatalf("exit code %d; want %d\n%s", r.code, c.code, r)
			}
			if c.errLine {
				requireOneLineError(t, r)
				if !strings.Contains(r.err, c.errHas) {
					t.Errorf("stderr %q does not mention %q", r.err, c.errHas)
				}
			} else if c.code != 0 && r.err != "" {
				t.Errorf("unexpected stderr %q", r.err)
			}
		})
	}
}

func TestRunFunctionsWriteToTheGivenStreams(t *testing.T) {
	store := t.TempDir()
	var out, errOut bytes.Buffer
	a := &app{streams: Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, global: globalOptions{Store: store}}
	ctx := context.Background()
	if err := runBuild(ctx, a, &BuildOptions{Dir: newSkill(t, "stream-skill"), MaxFiles: 10, MaxFileSize: "1MiB", MaxTotalSize: "2MiB", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Tags   []string `json:"tags"`
		Digest string   `json:"digest"`
	}
	if err := json.Unmarshal(out.Bytes(), &b); err != nil || len(b.Tags) == 0 {
		t.Fatalf("runBuild wrote %q (%v)", out.String(), err)
	}
	out.Reset()
	if err := runBuilds(ctx, a, &BuildsOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "stream-skill\nstream-skill:1.0.0\n"; got != want {
		t.Errorf("builds -q printed %q; want %q", got, want)
	}
	out.Reset()
	err := runBuildsRm(ctx, a, &BuildsRmOptions{Tags: []string{"nope"}})
	if ExitCode(err) != ExitFail || !strings.Contains(err.Error(), `no local build "nope"`) {
		t.Errorf("runBuildsRm(nope) = %v (exit %d)", err, ExitCode(err))
	}
	if err := runBuildsRm(ctx, a, &BuildsRmOptions{Tags: []string{"stream-skill", "stream-skill:1.0.0"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "removed stream-skill\n") {
		t.Errorf("builds rm printed %q", out.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("nothing should reach stderr; got %q", errOut.String())
	}
}

func TestJSONOutputsHaveTheDocumentedFields(t *testing.T) {
	store := t.TempDir()
	dir := newSkill(t, "json-skill")

	t.Run("build", func(t *testing.T) {
		var b struct {
			Tags     []string          `json:"tags"`
			Digest   string            `json:"digest"`
			Size     int64             `json:"size"`
			Name     string            `json:"name"`
			Version  string            `json:"version"`
			Warnings []json.RawMessage `json:"warnings"`
			Files    int               `json:"files"`
		}
		decodeJSON(t, mustSD(t, store, "build", dir, "--output", "json").out, &b)
		if strings.Join(b.Tags, ",") != "json-skill,json-skill:1.0.0" || !strings.HasPrefix(b.Digest, "sha256:") ||
			b.Size <= 0 || b.Name != "json-skill" || b.Version != "1.0.0" || b.Files != 2 || b.Warnings == nil {
			t.Errorf("build --output json: %+v", b)
		}
	})

	t.Run("builds", func(t *testing.T) {
		out := mustSD(t, store, "builds", "--output", "json").out
		var b buildsJSON
		decodeExact(t, out, &b)
		if len(b.Builds) != 2 {
			t.Fatalf("builds: %s", out)
		}
		row := b.Builds[0]
		if row.Tag != "json-skill" || !strings.HasPrefix(row.Digest, "sha256:") || row.Name != "json-skill" ||
			row.Version != "1.0.0" || !strings.Contains(row.Description, "json-skill") || row.Size <= 0 {
			t.Errorf("builds row: %+v", row)
		}
		// Every documented key is present, even where a value could be empty.
		var raw struct {
			Builds []map[string]json.RawMessage `json:"builds"`
		}
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"tag", "digest", "name", "version", "description", "size"} {
			if _, ok := raw.Builds[0][k]; !ok {
				t.Errorf("builds row has no %q: %s", k, out)
			}
		}
	})

	t.Run("builds of an empty store", func(t *testing.T) {
		out := mustSD(t, t.TempDir(), "builds", "--output", "json").out
		if strings.Join(strings.Fields(out), "") != `{"builds":[]}` {
			t.Errorf("empty store: %q; want an empty list, not null", out)
		}
	})

	t.Run("validate", func(t *testing.T) {
		var v struct {
			Valid    bool `json:"valid"`
			Errors   []struct{ Field, Message string }
			Warnings []struct{ Field, Message string }
		}
		decodeJSON(t, mustSD(t, store, "validate", dir, "--output", "json").out, &v)
		if !v.Valid || v.Errors == nil || v.Warnings == nil {
			t.Errorf("validate --output json: %+v", v)
		}
	})
}

func TestVersionFlagPrintsTheVersion(t *testing.T) {
	r := runCLI(t, "--version")
	if r.code != 0 || !strings.Contains(r.out, "skilldock version "+Version) {
		t.Errorf("--version: %s", r)
	}
}

func TestCompletionBashPrintsAScript(t *testing.T) {
	r := runCLI(t, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.out, "bash completion") || !strings.Contains(r.out, "skilldock") {
		t.Errorf("completion bash: exit %d, %d bytes of stdout, stderr %q", r.code, len(r.out), r.err)
	}
}

func TestLimitFlagsRefuseTheBuildAndNameTheLimit(t *testing.T) {
	store := t.TempDir()
	dir := newSkill(t, "limited-skill") // SKILL.md and scripts/run.sh

	r := sd(t, store, "build", dir, "--max-files", "1")
	if r.code != 1 {
		t.Fatalf("--max-files 1 on a 2-file skill: %s", r)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, "2 files") || !strings.Contains(r.err, "limit is 1") || !strings.Contains(r.err, "--max-files") {
		t.Errorf("the message should name the count and the limit: %q", r.err)
	}

	r = sd(t, store, "build", dir, "--max-file-size", "16")
	if r.code != 1 {
		t.Fatalf("--max-file-size 16: %s", r)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, "SKILL.md") || !strings.Contains(r.err, "--max-file-size") {
		t.Errorf("the message should name SKILL.md and the flag: %q", r.err)
	}

	r = sd(t, store, "build", dir, "--max-total-size", "32")
	if r.code != 1 || !strings.Contains(r.err, "--max-total-size") {
		t.Errorf("--max-total-size 32: %s", r)
	}

	// A refused build tags nothing and leaves no blob behind once collected.
	if tags := listBuilds(t, store); len(tags) != 0 {
		t.Errorf("refused builds left tags: %v", tags)
	}
	mustSD(t, store, "gc")
	if blobs := testutil.BlobFiles(t, store); len(blobs) != 0 {
		t.Errorf("refused builds left blobs: %v", blobs)
	}

	// Just enough passes.
	mustSD(t, store, "build", dir, "--max-files", "2")
}

func TestDefaultStoreFollowsXDGDataHomeAndSkilldockStore(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_DATA_HOME", xdg)
	t.Setenv("SKILLDOCK_STORE", "")
	dir := newSkill(t, "where-skill")
	if r := runCLI(t, "build", dir); r.code != 0 {
		t.Fatal(r)
	}
	if !exists(filepath.Join(xdg, "skilldock", "store", "index.json")) {
		t.Errorf("no store under $XDG_DATA_HOME/skilldock/store")
	}

	env := t.TempDir()
	t.Setenv("SKILLDOCK_STORE", env)
	if r := runCLI(t, "build", dir, "-t", "env-tag"); r.code != 0 {
		t.Fatal(r)
	}
	if tags := listBuilds(t, env); tags["env-tag"] == "" {
		t.Errorf("SKILLDOCK_STORE was not used: %v", tags)
	}
	// --store wins over the environment.
	flag := t.TempDir()
	if r := runCLI(t, "--store", flag, "build", dir, "-t", "flag-tag"); r.code != 0 {
		t.Fatal(r)
	}
	if tags := listBuilds(t, env); tags["flag-tag"] != "" {
		t.Errorf("--store was ignored in favour of SKILLDOCK_STORE")
	}
}
