package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/skilldock/skilldock/internal/testutil"
	"github.com/skilldock/skilldock/internal/units"
)

// Tests of push, pull, content and login against a real registry process
// (testutil.Registry) and the real skopeo and oras. Every test isolates
// HOME, XDG_DATA_HOME and DOCKER_CONFIG and uses a repository of its own.

// sdIn runs a command against store with stdin.
func sdIn(t *testing.T, stdin, store string, args ...string) runResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), append([]string{"--store", store}, args...), Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return runResult{code: code, out: out.String(), err: errOut.String()}
}

type pushJSON struct {
	Source    string `json:"source"`
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

type pullJSON struct {
	Reference string `json:"reference"`
	Tag       string `json:"tag"`
	Digest    string `json:"digest"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Cached    bool   `json:"cached"`
}

type contentJSON struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Version     string      `json:"version"`
	License     string      `json:"license"`
	Body        string      `json:"body"`
	Files       []fileEntry `json:"files"`
}

type fileEntry struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

type cacheJSON struct {
	Cache []struct {
		Reference string `json:"reference"`
		Digest    string `json:"digest"`
		Name      string `json:"name"`
		Version   string `json:"version"`
		Size      int64  `json:"size"`
	} `json:"cache"`
}

func buildJSON(t *testing.T, store, dir, tag string) string {
	t.Helper()
	var b struct {
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(mustSD(t, store, "build", dir, "-t", tag, "--output", "json").out), &b); err != nil {
		t.Fatal(err)
	}
	return b.Digest
}

func pushRef(t *testing.T, store string, args ...string) pushJSON {
	t.Helper()
	var p pushJSON
	decodeJSON(t, mustSD(t, store, append([]string{"push", "--output", "json"}, args...)...).out, &p)
	return p
}

func pullRef(t *testing.T, store string, args ...string) pullJSON {
	t.Helper()
	var p pullJSON
	decodeJSON(t, mustSD(t, store, append([]string{"pull", "--output", "json"}, args...)...).out, &p)
	return p
}

func content(t *testing.T, store, ref string) contentJSON {
	t.Helper()
	var c contentJSON
	decodeJSON(t, mustSD(t, store, "content", ref, "--output", "json").out, &c)
	return c
}

func cacheList(t *testing.T, store string) cacheJSON {
	t.Helper()
	var c cacheJSON
	decodeJSON(t, mustSD(t, store, "cache", "ls", "--output", "json").out, &c)
	return c
}

// dirFiles lists a skill folder as the artifact should: slash paths relative
// to the folder, sizes, hidden names left out, sorted by path.
func dirFiles(t *testing.T, dir string) []fileEntry {
	t.Helper()
	var out []fileEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, fileEntry{Path: filepath.ToSlash(rel), Size: info.Size()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func sortedFiles(f []fileEntry) []fileEntry {
	out := append([]fileEntry(nil), f...)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// skopeoRaw runs "skopeo inspect --raw" and returns the manifest bytes it
// prints and their digest.
func skopeoRaw(t *testing.T, args ...string) (raw []byte, digest string) {
	t.Helper()
	skopeo := testutil.RequireTool(t, "skopeo")
	r := testutil.Exec(t, nil, skopeo, append([]string{"inspect", "--raw"}, args...)...)
	if r.Code != 0 {
		t.Fatalf("skopeo inspect --raw %v: %s", args, r)
	}
	return []byte(r.Stdout), fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(r.Stdout)))
}

// requireStoreClean runs fsck and fails unless it finds no problem, no
// unreachable blob and no temporary file.
func requireStoreClean(t *testing.T, store string) {
	t.Helper()
	r := sd(t, store, "fsck", "--output", "json")
	var f struct {
		Problems    []string `json:"problems"`
		Unreachable int      `json:"unreachableBlobs"`
		Temporary   int      `json:"temporaryFiles"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &f) != nil || len(f.Problems) != 0 || f.Unreachable != 0 || f.Temporary != 0 {
		t.Fatalf("fsck of %s is not clean: %s", store, r)
	}
}

// orasPush pushes one file as the single layer of a manifest with the oras
// CLI, the way generic tooling publishes skills.
func orasPush(t *testing.T, ref, name string, data []byte, mediaType string) {
	t.Helper()
	oras := testutil.RequireTool(t, "oras")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(oras, "push", "--plain-http", ref, name+":"+mediaType)
	cmd.Dir = dir // oras wants a relative path, stored as the layer's title
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oras push %s: %v\n%s", ref, err, out)
	}
}

// tarGz packs files (slash paths) under prefix, with a directory entry for
// the prefix as tar(1) would write, into a tar+gzip layer.
func tarGz(t *testing.T, prefix string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if prefix != "" {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: prefix, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: prefix + n, Mode: 0o644, Size: int64(len(files[n]))}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const layerType = "application/vnd.oci.image.layer.v1.tar+gzip"

func TestPushPullRoundTripKeepsDigestAndFiles(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1.0"
	dir := testutil.WriteSkill(t, t.TempDir(), "round-trip", map[string]string{
		"scripts/run.sh":      "#!/bin/sh\necho round trip\n",
		"references/guide.md": "# Guide\n\n" + t.Name() + "\n",
		"assets/data.bin":     "\x00\x01\x02\xff binary",
		".hidden":             "not packed",
	})
	want := dirFiles(t, dir)

	built := buildJSON(t, store, dir, ref)
	if got := sortedFiles(content(t, store, ref).Files); !reflect.DeepEqual(got, want) {
		t.Fatalf("the build holds %v; the folder %v", got, want)
	}
	pushed := pushRef(t, store, ref)
	if pushed.Digest != built || pushed.Reference != ref {
		t.Fatalf("push: %+v; want %s at %s", pushed, built, ref)
	}
	if _, got := skopeoRaw(t, "--tls-verify=false", "docker://"+ref); got != built {
		t.Errorf("the registry's manifest for %s has digest %s; built %s", ref, got, built)
	}

	mustSD(t, store, "builds", "rm", ref)
	if blobs := testutil.BlobFiles(t, store); len(blobs) != 0 {
		t.Fatalf("builds rm left %d blobs; the pull would not be a real download", len(blobs))
	}
	pulled := pullRef(t, store, ref)
	if pulled.Digest != built || pulled.Tag != ref || pulled.Cached || pulled.Name != "round-trip" {
		t.Errorf("pull: %+v; want %s tagged %s, downloaded", pulled, built, ref)
	}
	c := content(t, store, ref)
	if got := sortedFiles(c.Files); !reflect.DeepEqual(got, want) {
		t.Errorf("the pulled artifact holds %v; the folder %v", got, want)
	}
	if c.Name != "round-trip" || c.Version != "1.0.0" {
		t.Errorf("content of the pulled artifact: %+v", c)
	}
	if _, listed := listBuilds(t, store)[ref]; listed {
		t.Errorf("builds lists the pulled %s", ref)
	}
	found := false
	for _, e := range cacheList(t, store).Cache {
		if e.Reference == ref {
			found = e.Digest == built && e.Name == "round-trip"
		}
	}
	if !found {
		t.Errorf("cache ls does not list %s with digest %s", ref, built)
	}
	requireStoreClean(t, store)
}

func TestPushOfAPulledCopyNeedsItNamedAsTheSource(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := addr + "/" + testutil.Repo(t)
	ref, copyRef := repo+":1", repo+":copy"
	built := buildJSON(t, t.TempDir(), newSkill(t, "copied-skill"), ref)
	// Build and push from a store that is then thrown away.
	builder := t.TempDir()
	buildJSON(t, builder, newSkill(t, "copied-skill"), ref)
	pushRef(t, builder, ref)

	store := t.TempDir()
	pullRef(t, store, ref)
	r := sd(t, store, "push", ref)
	if r.code != ExitFail {
		t.Fatalf("push of a pulled copy: %s; want exit 1", r)
	}
	requireOneLineError(t, r)
	if hint := "skilldock push " + ref + " " + ref; !strings.Contains(r.err, "not a local build") || !strings.Contains(r.err, hint) {
		t.Errorf("stderr %q does not explain and hint %q", r.err, hint)
	}

	p := pushRef(t, store, ref, copyRef)
	if p.Digest != built || p.Source != ref || p.Reference != copyRef {
		t.Errorf("push SRC DST: %+v; want %s from %s to %s", p, built, ref, copyRef)
	}
	if got := pullRef(t, t.TempDir(), copyRef); got.Digest != built {
		t.Errorf("%s holds %s; want %s", copyRef, got.Digest, built)
	}
}

func TestPushOfAReferenceNotInTheStoreSaysBuildOrPull(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":missing"
	for _, args := range [][]string{{"push", ref}, {"push", "no-such-skill", ref}} {
		r := sd(t, store, args...)
		if r.code != ExitFail {
			t.Fatalf("%v: %s; want exit 1", args, r)
		}
		requireOneLineError(t, r)
		if !strings.Contains(r.err, "not in the local store") || !strings.Contains(r.err, "skilldock build") || !strings.Contains(r.err, "skilldock pull") {
			t.Errorf("%v: stderr %q does not hint at build or pull", args, r.err)
		}
	}
}

func TestSkopeoCopiesAPushedSkillKeepingItsDigests(t *testing.T) {
	testutil.Isolate(t)
	skopeo := testutil.RequireTool(t, "skopeo")
	addr, _, _ := testutil.Registry(t, false)
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1"
	built := buildJSON(t, store, newSkill(t, "skopeo-skill"), ref)
	pushRef(t, store, ref)

	layout := filepath.Join(t.TempDir(), "layout")
	r := testutil.Exec(t, nil, skopeo, "copy", "--all", "--src-tls-verify=false", "docker://"+ref, "oci:"+layout+":1")
	if r.Code != 0 {
		t.Fatalf("skopeo copy: %s", r)
	}
	raw, got := skopeoRaw(t, "oci:"+layout+":1")
	if got != built {
		// skopeo re-serializes every index it copies. One built before OCI 1.1
		// (1.9 is) does not know "artifactType" and drops it, which changes
		// the index digest however faithfully we push; one that knows it must
		// reproduce our bytes exactly.
		if bytes.Contains(raw, []byte(`"artifactType"`)) {
			t.Fatalf("skopeo's copy has digest %s; pushed %s", got, built)
		}
		t.Logf("this skopeo drops OCI 1.1 artifactType from indexes (copy %s, pushed %s); comparing what it keeps", got, built)
		ours, err := os.ReadFile(blobPath(store, built))
		if err != nil {
			t.Fatal(err)
		}
		requireSameIndexEntries(t, ours, raw)
	}
	// The copy is an OCI layout skilldock reads like its own store.
	if c := content(t, layout, "1"); c.Name != "skopeo-skill" || len(c.Files) != 2 {
		t.Errorf("content of skopeo's copy: %+v", c)
	}

	// A plain copy (one platform, no --all) is byte for byte: its digest is
	// the digest of our linux/amd64 manifest.
	r = testutil.Exec(t, nil, skopeo, "copy", "--override-os", "linux", "--override-arch", "amd64", "--src-tls-verify=false", "docker://"+ref, "oci:"+layout+":amd64")
	if r.Code != 0 {
		t.Fatalf("skopeo copy: %s", r)
	}
	_, single := skopeoRaw(t, "oci:"+layout+":amd64")
	ours, err := os.ReadFile(blobPath(store, built))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(ours, &idx); err != nil {
		t.Fatal(err)
	}
	amd64 := ""
	for _, m := range idx.Manifests {
		if m.Platform.Architecture == "amd64" {
			amd64 = m.Digest
		}
	}
	if single != amd64 {
		t.Fatalf("skopeo's single-platform copy has digest %s; our linux/amd64 manifest is %s", single, amd64)
	}
}

// requireSameIndexEntries fails unless two image indexes list the same
// manifests (digest, size, platform, in order) and carry the same annotations.
func requireSameIndexEntries(t *testing.T, want, got []byte) {
	t.Helper()
	type index struct {
		Manifests []struct {
			Digest   string          `json:"digest"`
			Size     int64           `json:"size"`
			Platform json.RawMessage `json:"platform"`
		} `json:"manifests"`
		Annotations map[string]string `json:"annotations"`
	}
	var w, g index
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if len(w.Manifests) == 0 || !reflect.DeepEqual(w, g) {
		t.Errorf("index entries differ:\nours   %s\ncopied %s", want, got)
	}
}

func TestContentAndPullReadSkillsPushedByOras(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	files := map[string]string{
		"SKILL.md":             testutil.SkillMD("oras-skill", "2.0.0", "Pushed by oras."),
		"scripts/run.sh":       "#!/bin/sh\necho oras\n",
		"references/a/deep.md": "deep\n",
	}
	want := []fileEntry{}
	for p, c := range files {
		want = append(want, fileEntry{Path: p, Size: int64(len(c))})
	}
	want = sortedFiles(want)

	for _, tc := range []struct{ name, prefix string }{
		{"files at the root", ""},
		{"files under the skill's folder", "oras-skill/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := addr + "/" + testutil.Repo(t) + ":1"
			orasPush(t, ref, "skill.tgz", tarGz(t, tc.prefix, files), layerType)

			store := t.TempDir()
			c := content(t, store, ref)
			if c.Name != "oras-skill" || c.Version != "2.0.0" || c.Description != "Test skill oras-skill. Use it in tests only." ||
				!strings.Contains(c.Body, "Pushed by oras.") {
				t.Errorf("content of an oras artifact: %+v", c)
			}
			if got := sortedFiles(c.Files); !reflect.DeepEqual(got, want) {
				t.Errorf("content lists %v; want %v", got, want)
			}
			if r := mustSD(t, store, "content", ref, "--file", "scripts/run.sh"); r.out != files["scripts/run.sh"] {
				t.Errorf("content --file scripts/run.sh printed %q", r.out)
			}

			fresh := t.TempDir()
			p := pullRef(t, fresh, ref)
			if p.Name != "oras-skill" || p.Version != "2.0.0" || p.Tag != ref || p.Cached {
				t.Errorf("pull of an oras artifact: %+v", p)
			}
			if cl := cacheList(t, fresh).Cache; len(cl) != 1 || cl[0].Reference != ref || cl[0].Digest != p.Digest {
				t.Errorf("cache ls after the pull: %+v", cl)
			}
			requireStoreClean(t, fresh)
		})
	}
}

func TestPullRefusesAnOCIArtifactThatIsNotASkill(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := testutil.Repo(t)
	note := []byte("just a note, " + t.Name() + "\n")
	orasPush(t, addr+"/"+repo+":1", "note.txt", note, "text/plain")
	layer := fmt.Sprintf("sha256:%x", sha256.Sum256(note))
	proxy := testutil.StartProxy(t, addr, "")

	store := t.TempDir()
	for _, cmd := range []string{"pull", "content"} {
		ref := proxy.Addr + "/" + repo + ":1"
		r := sd(t, store, cmd, ref)
		if r.code != ExitFail {
			t.Fatalf("%s of a text/plain artifact: %s; want exit 1", cmd, r)
		}
		requireOneLineError(t, r)
		if !strings.Contains(r.err, "not a skill") || !strings.Contains(r.err, "text/plain") || !strings.Contains(r.err, "application/vnd.oci.empty.v1+json") {
			t.Errorf("%s: stderr %q does not name the media types found", cmd, r.err)
		}
	}
	if n := proxy.BlobGets(layer); n != 0 {
		t.Errorf("the text/plain layer was downloaded %d times; the manifest alone shows it is not a skill", n)
	}
	if c := cacheList(t, store).Cache; len(c) != 0 {
		t.Errorf("a refused artifact is cached: %+v", c)
	}
	if tags := testutil.Reachable(t, store); len(tags) != 0 {
		t.Errorf("index.json reaches %v after refused pulls", tags)
	}
	requireStoreClean(t, store)
}

func TestPullRefusesALayerOverMaxLayerSizeWithoutFetchingIt(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	repo := testutil.Repo(t)
	noise := make([]byte, 64<<10) // random, so the layer stays over 64 KiB compressed
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	builder := t.TempDir()
	buildJSON(t, builder, testutil.WriteSkill(t, t.TempDir(), "big-skill", map[string]string{"assets/noise.bin": string(noise)}), addr+"/"+repo+":1")
	pushRef(t, builder, addr+"/"+repo+":1")
	layer := inspect(t, builder, addr+"/"+repo+":1").Layer.Digest
	proxy := testutil.StartProxy(t, addr, "")

	store := t.TempDir()
	ref := proxy.Addr + "/" + repo + ":1"
	r := sd(t, store, "pull", ref, "--max-layer-size", "16KiB")
	if r.code != ExitFail {
		t.Fatalf("pull over --max-layer-size: %s; want exit 1", r)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, layer) || !strings.Contains(r.err, "the limit is "+units.Human(16<<10)) {
		t.Errorf("stderr %q does not name the layer and the limit", r.err)
	}
	if n := proxy.BlobGets(layer); n != 0 {
		t.Errorf("the layer was requested %d times; the limit must refuse it before any download", n)
	}
	if c := cacheList(t, store).Cache; len(c) != 0 {
		t.Errorf("a refused artifact is cached: %+v", c)
	}
	requireStoreClean(t, store)
}

func TestPullRefusesALayerThatExpandsPastMaxUncompressed(t *testing.T) {
	testutil.Isolate(t)
	addr, _, _ := testutil.Registry(t, false)
	ref := addr + "/" + testutil.Repo(t) + ":1"
	bomb := tarGz(t, "", map[string]string{
		"SKILL.md":  testutil.SkillMD("bomb-skill", "", "Expands."),
		"zeros.bin": string(make([]byte, 2<<20)),
	})
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed; it should be tiny", len(bomb))
	}
	orasPush(t, ref, "bomb.tgz", bomb, layerType)

	store := t.TempDir()
	r := sd(t, store, "pull", ref, "--max-uncompressed", "1MiB")
	if r.code != ExitFail {
		t.Fatalf("pull of a 2 MiB layer with --max-uncompressed 1MiB: %s; want exit 1", r)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, "1 MiB") || !strings.Contains(r.err, "--max-uncompressed") {
		t.Errorf("stderr %q does not name the limit", r.err)
	}
	if c := cacheList(t, store).Cache; len(c) != 0 {
		t.Errorf("a refused artifact is cached: %+v", c)
	}
	requireStoreClean(t, store)

	// The same artifact within a larger limit is fine: the limit refused it.
	if p := pullRef(t, store, ref, "--max-uncompressed", "4MiB"); p.Name != "bomb-skill" {
		t.Errorf("pull within the limit: %+v", p)
	}
}

func TestRegistryCredentialsComeFromLoginOrTheDockerConfig(t *testing.T) {
	dockerConfig := testutil.Isolate(t)
	addr, user, pass := testutil.Registry(t, true)
	if user == "" || pass == "" {
		t.Fatal("the auth registry has no user or password")
	}
	configFile := filepath.Join(dockerConfig, "config.json")
	store := t.TempDir()
	ref := addr + "/" + testutil.Repo(t) + ":1"
	built := buildJSON(t, store, newSkill(t, "auth-skill"), ref)
	wrong := "not-" + pass // holds the password, so a leak of either shows

	var runs []runResult
	run := func(stdin string, args ...string) runResult {
		t.Helper()
		r := sdIn(t, stdin, store, args...)
		runs = append(runs, r)
		return r
	}
	savedFor := func() bool {
		var cfg struct {
			Auths map[string]json.RawMessage `json:"auths"`
		}
		data, err := os.ReadFile(configFile)
		if os.IsNotExist(err) {
			return false
		}
		if err != nil || json.Unmarshal(data, &cfg) != nil {
			t.Fatalf("reading %s: %v\n%s", configFile, err, data)
		}
		_, ok := cfg.Auths[addr]
		return ok
	}

	t.Run("without credentials push and pull say to log in", func(t *testing.T) {
		for _, args := range [][]string{{"push", ref}, {"pull", ref}} {
			r := run("", args...)
			if r.code != ExitFail {
				t.Fatalf("%v: %s; want exit 1", args, r)
			}
			requireOneLineError(t, r)
			if !strings.Contains(r.err, "skilldock login "+addr) {
				t.Errorf("%v: stderr %q does not mention \"skilldock login %s\"", args, r.err, addr)
			}
		}
	})

	t.Run("login with a wrong password fails and saves nothing", func(t *testing.T) {
		r := run(wrong+"\n", "login", addr, "-u", user, "--password-stdin")
		if r.code != ExitFail {
			t.Fatalf("login with a wrong password: %s; want exit 1", r)
		}
		requireOneLineError(t, r)
		if savedFor() {
			t.Errorf("%s holds credentials for %s after a failed login", configFile, addr)
		}
	})

	t.Run("credentials written by docker are used", func(t *testing.T) {
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, addr, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		if err := os.WriteFile(configFile, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(configFile)
		if r := run("", "push", ref, "--output", "json"); r.code != 0 || !strings.Contains(r.out, built) {
			t.Fatalf("push with docker config credentials: %s", r)
		}
		other := t.TempDir()
		r := sdIn(t, "", other, "pull", ref, "--output", "json")
		runs = append(runs, r)
		if r.code != 0 || !strings.Contains(r.out, built) {
			t.Fatalf("pull with docker config credentials: %s", r)
		}
	})

	t.Run("login saves the credentials and logout removes them", func(t *testing.T) {
		if r := run(pass+"\n", "login", addr, "-u", user, "--password-stdin"); r.code != 0 {
			t.Fatalf("login: %s", r)
		}
		var cfg struct {
			Auths map[string]struct {
				Auth string `json:"auth"`
			} `json:"auths"`
		}
		data, err := os.ReadFile(configFile)
		if err != nil || json.Unmarshal(data, &cfg) != nil {
			t.Fatalf("login wrote no readable %s: %v", configFile, err)
		}
		if got, want := cfg.Auths[addr].Auth, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)); got != want {
			t.Errorf("config.json holds %q for %s; want base64(user:pass)", got, addr)
		}
		if r := run("", "push", ref); r.code != 0 {
			t.Errorf("push after login: %s", r)
		}
		if r := run("", "logout", addr); r.code != 0 {
			t.Fatalf("logout: %s", r)
		}
		if savedFor() {
			t.Errorf("%s still holds credentials for %s after logout", configFile, addr)
		}
		if r := run("", "push", ref); r.code != ExitFail || !strings.Contains(r.err, "skilldock login") {
			t.Errorf("push after logout: %s; want a login hint", r)
		}
	})

	for _, r := range runs {
		if strings.Contains(r.out, pass) || strings.Contains(r.err, pass) {
			t.Errorf("a password reached the output:\n%s", r)
		}
	}
}

func TestContentJSONHasExactlyTheDocumentedFields(t *testing.T) {
	testutil.Isolate(t)
	store := t.TempDir()
	dir := newSkill(t, "content-skill")
	buildJSON(t, store, dir, "content-skill:1")
	out := mustSD(t, store, "content", "content-skill:1", "--output", "json").out

	var raw struct {
		Fields map[string]json.RawMessage
		Files  []map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &raw.Fields); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw.Fields["files"], &raw.Files); err != nil {
		t.Fatalf("files: %v\n%s", err, out)
	}
	if got, want := keys(raw.Fields), "body,description,files,license,name,version"; got != want {
		t.Errorf("content --output json has fields %s; want exactly %s\n%s", got, want, out)
	}
	for _, f := range raw.Files {
		if got := keys(f); got != "path,size" {
			t.Errorf("a file entry has fields %s; want exactly path,size", got)
		}
	}
	var c contentJSON
	decodeJSON(t, out, &c)
	if c.Name != "content-skill" || c.Version != "1.0.0" || c.License != "Apache-2.0" ||
		c.Description != "Test skill content-skill. Use it in tests only." || !strings.Contains(c.Body, "Says hello.") {
		t.Errorf("content: %+v", c)
	}
	if got, want := sortedFiles(c.Files), dirFiles(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("content lists %v; the folder holds %v", got, want)
	}
}

func keys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestContentFilePrintsTheFileBytesExactly(t *testing.T) {
	testutil.Isolate(t)
	store := t.TempDir()
	data := "\x00\x01\xfe\xff\r\nno trailing newline"
	dir := testutil.WriteSkill(t, t.TempDir(), "file-skill", map[string]string{"assets/data.bin": data})
	buildJSON(t, store, dir, "file-skill")

	for _, p := range []string{"assets/data.bin", "./assets/data.bin"} {
		r := mustSD(t, store, "content", "file-skill", "--file", p)
		if r.out != data || r.err != "" {
			t.Errorf("content --file %s printed %q (stderr %q); want %q", p, r.out, r.err, data)
		}
	}
	r := sd(t, store, "content", "file-skill", "--file", "assets/missing.bin")
	if r.code != ExitFail || r.out != "" {
		t.Fatalf("content --file of a missing file: %s; want exit 1 and no output", r)
	}
	requireOneLineError(t, r)
	if !strings.Contains(r.err, "assets/missing.bin") {
		t.Errorf("stderr %q does not name the missing file", r.err)
	}
}
