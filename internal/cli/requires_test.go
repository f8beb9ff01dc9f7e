package cli

import (
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/store"
	"github.com/skilldock/skilldock/internal/testutil"
)

// The dependencies the requiring skill of these tests declares: one by tag,
// one pinned by digest. Neither registry exists, so fetching either would
// fail the command.
var (
	requiredBase = "example.com/skills/base:1"
	requiredPDF  = "example.com/skills/pdf@sha256:" + strings.Repeat("ab", 32)
)

// newRequiringSkill writes a skill called name that requires both of the
// above.
func newRequiringSkill(t *testing.T, name string) string {
	t.Helper()
	return testutil.WriteSkill(t, t.TempDir(), name, map[string]string{
		"SKILL.md": "---\nname: " + name + "\ndescription: Needs two others.\nmetadata:\n  version: \"1.0.0\"\n" +
			"  toolhive.requires: |\n    " + requiredBase + "\n    " + requiredPDF + "\n---\n# " + name + "\n",
	})
}

func TestInspectAndContentShowRequiredSkills(t *testing.T) {
	testutil.Isolate(t)
	store := t.TempDir()
	mustSD(t, store, "build", newRequiringSkill(t, "needs"), "-t", "needs:1")
	mustSD(t, store, "build", newSkill(t, "plain"), "-t", "plain:1")
	want := []string{requiredBase, requiredPDF}

	out := mustSD(t, store, "inspect", "needs:1").out
	if block := "Requires:      " + requiredBase + "\n               " + requiredPDF + "\n"; !strings.Contains(out, block) {
		t.Errorf("inspect does not list the required skills as\n%s\ngot:\n%s", block, out)
	}
	var in struct {
		Metadata struct {
			Requires []string `json:"requires"`
		} `json:"metadata"`
	}
	decodeJSON(t, mustSD(t, store, "inspect", "needs:1", "-o", "json").out, &in)
	if !slices.Equal(in.Metadata.Requires, want) {
		t.Errorf("inspect -o json: metadata.requires = %q, want %q", in.Metadata.Requires, want)
	}

	out = mustSD(t, store, "content", "needs:1").out
	if block := "Requires:     " + requiredBase + "\n              " + requiredPDF + "\n"; !strings.Contains(out, block) {
		t.Errorf("content does not list the required skills as\n%s\ngot:\n%s", block, out)
	}
	var c struct {
		contentJSON
		Requires []string `json:"requires"`
	}
	decodeExact(t, mustSD(t, store, "content", "needs:1", "-o", "json").out, &c)
	if !slices.Equal(c.Requires, want) || c.Name != "needs" {
		t.Errorf("content -o json: %+v; want requires %q", c, want)
	}

	// A skill without dependencies says nothing about them.
	if out := mustSD(t, store, "inspect", "plain:1").out + mustSD(t, store, "content", "plain:1").out; strings.Contains(out, "Requires") {
		t.Errorf("a skill without dependencies shows a Requires line:\n%s", out)
	}
	for _, args := range [][]string{{"inspect", "plain:1", "-o", "json"}, {"content", "plain:1", "-o", "json"}} {
		if out := mustSD(t, store, args...).out; strings.Contains(out, "requires") {
			t.Errorf("%s shows requires for a skill without dependencies:\n%s", strings.Join(args, " "), out)
		}
	}
}

func TestInstallNotesRequiredSkillsNotInstalledAndInfoAndListShowThem(t *testing.T) {
	m := testutil.IsolateMachine(t)
	store := m.Store
	mustSD(t, store, "build", newRequiringSkill(t, "needs"), "-t", "needs:1")
	mustSD(t, store, "build", newSkill(t, "base"), "-t", "base:1")
	want := []string{requiredBase, requiredPDF}

	r := mustSD(t, store, "install", "needs:1", "--client", "claude-code")
	note := "note: needs requires skills not installed for these agents (skilldock does not install dependencies): " +
		requiredBase + ", " + requiredPDF + "\n"
	if r.err != note {
		t.Errorf("install stderr %q; want the one-line note %q", r.err, note)
	}
	// The base skill installed, the note leaves it out.
	mustSD(t, store, "install", "base:1", "--client", "claude-code")
	r = mustSD(t, store, "install", "needs:1", "--client", "claude-code", "-o", "json")
	if !strings.HasSuffix(r.err, "dependencies): "+requiredPDF+"\n") {
		t.Errorf("with base installed, install stderr %q names more than %s", r.err, requiredPDF)
	}
	var res struct {
		Requires     []string `json:"requires"`
		NotInstalled []string `json:"notInstalled"`
	}
	decodeJSON(t, r.out, &res)
	if !slices.Equal(res.Requires, want) || !slices.Equal(res.NotInstalled, []string{requiredPDF}) {
		t.Errorf("install -o json: %+v", res)
	}
	if r := mustSD(t, store, "install", "base:1", "--client", "cursor"); r.err != "" {
		t.Errorf("installing a skill without dependencies wrote %q to stderr", r.err)
	}

	out := mustSD(t, store, "info", "needs").out
	if block := "Requires:     " + requiredBase + "\n              " + requiredPDF + "\n"; !strings.Contains(out, block) {
		t.Errorf("info does not list the required skills as\n%s\ngot:\n%s", block, out)
	}
	var info struct {
		Installs []struct {
			Requires []string `json:"requires"`
		} `json:"installs"`
	}
	decodeJSON(t, mustSD(t, store, "info", "needs", "-o", "json").out, &info)
	if len(info.Installs) != 1 || !slices.Equal(info.Installs[0].Requires, want) {
		t.Errorf("info -o json: %+v; want requires %q", info, want)
	}
	var list struct {
		Skills []struct {
			Name     string   `json:"name"`
			Requires []string `json:"requires"`
		} `json:"skills"`
	}
	decodeJSON(t, mustSD(t, store, "list", "-o", "json").out, &list)
	for _, s := range list.Skills {
		var w []string
		if s.Name == "needs" {
			w = want
		}
		if !slices.Equal(s.Requires, w) {
			t.Errorf("list -o json: %s requires %q; want %q", s.Name, s.Requires, w)
		}
	}
	if len(list.Skills) != 3 {
		t.Errorf("list -o json shows %d installs, want 3 (needs, base twice)", len(list.Skills))
	}
}

// hostileRequires is a requires annotation written to forge output: a line
// that reads like a note of skilldock's, a reference wrapped in an OSC 8
// terminal hyperlink to another site, and one valid reference, twice.
const hostileRequires = `["x\nnote: all dependencies are installed", "\u001b]8;;https://evil\u0007ghcr.io/a/b:1\u001b]8;;\u0007", "ghcr.io/a/b:1", "ghcr.io/a/b:1"]`

// annotateRequires rewrites the artifact tag names in the store at
// storePath so that its index and every manifest carry raw as the requires
// annotation, and points tag at the result, as a hostile publisher could.
func annotateRequires(t *testing.T, storePath, tag, raw string) {
	t.Helper()
	st, err := store.Open(storePath)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := st.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	put := func(mediaType string, v any) ocispec.Descriptor {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ss.Put(mediaType, b)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	read := func(d ocispec.Descriptor, v any) {
		b, err := st.ReadBlob(d, 4<<20)
		if err == nil {
			err = json.Unmarshal(b, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	tagged, err := st.Resolve(tag)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	read(tagged.Descriptor, &idx)
	for i, md := range idx.Manifests {
		var m ocispec.Manifest
		read(md, &m)
		m.Annotations[artifact.AnnotationRequires] = raw
		d := put(md.MediaType, m)
		d.Platform = md.Platform
		idx.Manifests[i] = d
	}
	idx.Annotations[artifact.AnnotationRequires] = raw
	root := put(tagged.Descriptor.MediaType, idx)
	root.ArtifactType = tagged.Descriptor.ArtifactType
	if err := st.UpdateIndex(func(x *ocispec.Index) error {
		store.SetTag(x, tag, root, true)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// controlChars lists the characters of out, other than newlines, that a
// terminal would not print as themselves.
func controlChars(out string) []rune {
	var found []rune
	for _, r := range out {
		if r != '\n' && !strconv.IsPrint(r) {
			found = append(found, r)
		}
	}
	return found
}

func TestHostileRequiresFromARegistryAreNeitherPrintedNorRecorded(t *testing.T) {
	addr, _, _ := testutil.Registry(t, false)
	remote := addr + "/" + testutil.Repo(t) + "/hostile:1"
	builder := t.TempDir()
	mustSD(t, builder, "build", newSkill(t, "hostile"), "-t", "hostile:1")
	annotateRequires(t, builder, "hostile:1", hostileRequires)
	mustSD(t, builder, "push", "hostile:1", remote)

	store := testutil.IsolateMachine(t).Store
	want := []string{"ghcr.io/a/b:1"}
	var text string
	for _, args := range [][]string{
		{"content", remote}, {"inspect", remote}, {"install", remote, "--client", "claude-code"}, {"info", "hostile"},
	} {
		r := mustSD(t, store, args...)
		text += r.out + r.err
	}
	if bad := controlChars(text); len(bad) > 0 {
		t.Errorf("the output holds control characters %q:\n%s", bad, text)
	}
	if strings.Contains(text, "note: all dependencies are installed") || strings.Contains(text, "https://evil") {
		t.Errorf("the output shows the forged entries:\n%s", text)
	}
	if !strings.Contains(text, "Requires:     ghcr.io/a/b:1\n") {
		t.Errorf("the output does not list the one valid dependency:\n%s", text)
	}

	var c struct {
		Requires []string `json:"requires"`
	}
	decodeJSON(t, mustSD(t, store, "content", remote, "-o", "json").out, &c)
	var info struct {
		Installs []struct {
			Requires []string `json:"requires"`
		} `json:"installs"`
	}
	decodeJSON(t, mustSD(t, store, "info", "hostile", "-o", "json").out, &info)
	if !slices.Equal(c.Requires, want) || len(info.Installs) != 1 || !slices.Equal(info.Installs[0].Requires, want) {
		t.Errorf("content shows requires %q, the record holds %+v; want only %q", c.Requires, info, want)
	}
}

func TestInfoPrintsNoControlCharactersFromOldRecords(t *testing.T) {
	m := testutil.IsolateMachine(t)
	mustSD(t, m.Store, "build", newRequiringSkill(t, "needs"), "-t", "needs:1")
	mustSD(t, m.Store, "install", "needs:1", "--client", "claude-code")
	// A record written before readers checked what they read.
	db, err := sql.Open("sqlite", "file:"+m.RecordsPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE installs SET requires = ? WHERE name = 'needs'`, hostileRequires); err != nil {
		t.Fatal(err)
	}
	out := mustSD(t, m.Store, "info", "needs").out
	if bad := controlChars(out); len(bad) > 0 {
		t.Errorf("info prints control characters %q:\n%s", bad, out)
	}
	if strings.Contains(out, "\nnote:") {
		t.Errorf("info prints a forged line:\n%s", out)
	}
	want := "Requires:     \"x\\nnote: all dependencies are installed\"\n" +
		"              \"\\x1b]8;;https://evil\\aghcr.io/a/b:1\\x1b]8;;\\a\"\n" +
		"              ghcr.io/a/b:1\n"
	if !strings.Contains(out, want) {
		t.Errorf("info does not show the entries quoted, one a line, as\n%s\ngot:\n%s", want, out)
	}
}

func TestPrintableQuotesOnlyWhatWouldNotPrintAsItself(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ghcr.io/a/b:1", "ghcr.io/a/b:1"},
		{"naïve café 技能", "naïve café 技能"},
		{"a\nb", `"a\nb"`},
		{"\x1b[2J", `"\x1b[2J"`},
		{"a\tb", `"a\tb"`},
		{"abc\u202edef", `"abc\u202edef"`},
		{"\u009b31m", `"\u009b31m"`},
		{"bad \xff utf-8", `"bad \xff utf-8"`},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
