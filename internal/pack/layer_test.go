package pack_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/skill"
	"github.com/skilldock/skilldock/internal/store"
	"github.com/skilldock/skilldock/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// longPath ends in a name longer than the 100 bytes of a ustar name field,
// so no ustar prefix/name split can hold it: a PAX archive must carry it in a
// "path" extended record (a GNU archive would use a ././@LongLink entry).
var longPath = "references/" + strings.Repeat("long-name-", 12) + ".md"

func layerSkill(t *testing.T) string {
	t.Helper()
	dir := testutil.WriteSkill(t, t.TempDir(), "layer-skill", map[string]string{
		"scripts/run.sh": "#!/bin/sh\necho hi\n",
		"a.txt":          "a\n",
		"B.txt":          "upper case sorts before lower case bytewise\n",
		"z/deep/file.md": "deep\n",
		"README.md":      "readme\n",
		longPath:         "long\n",
		"assets/x.bin":   "\x00\xff",
	})
	// Source metadata the layer must not carry: odd modes, a foreign owner,
	// scattered mtimes.
	when := time.Date(2020, 5, 6, 7, 8, 9, 123456789, time.UTC)
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(p, 1234, 1234); err != nil {
				return err
			}
		}
		if !info.IsDir() && filepath.Ext(p) != ".sh" {
			if err := os.Chmod(p, 0o600); err != nil {
				return err
			}
		}
		when = when.Add(time.Minute)
		return os.Chtimes(p, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildLayer(t *testing.T, dir string, epoch time.Time) ([]byte, *pack.Result, *store.Store) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := skill.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Report.Valid {
		t.Fatalf("test skill is invalid: %+v", c.Report.Errors)
	}
	ss, err := st.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	res, err := pack.Build(ss, c, pack.Options{Epoch: epoch, Limits: pack.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	blob, err := os.ReadFile(st.BlobPath(res.Layer.Digest))
	if err != nil {
		t.Fatal(err)
	}
	return blob, res, st
}

func gunzip(t *testing.T, blob []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestLayerGzipHeaderHasNoTimeNameOrComment(t *testing.T) {
	blob, _, _ := buildLayer(t, layerSkill(t), time.Unix(1700000000, 0))
	if len(blob) < 10 || blob[0] != 0x1f || blob[1] != 0x8b || blob[2] != 8 {
		t.Fatalf("layer does not start with a deflate gzip header: % x", blob[:min(len(blob), 10)])
	}
	// RFC 1952: FLG (byte 3) bits FEXTRA, FNAME, FCOMMENT must be clear,
	// MTIME (bytes 4-7) must be zero.
	if flg := blob[3]; flg&(0x04|0x08|0x10) != 0 {
		t.Errorf("gzip FLG is %#x: the header carries an extra field, name or comment", flg)
	}
	if mtime := blob[4:8]; !bytes.Equal(mtime, []byte{0, 0, 0, 0}) {
		t.Errorf("gzip MTIME is % x; want 0", mtime)
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || zr.Extra != nil {
		t.Errorf("gzip header: name %q comment %q mtime %v extra %q", zr.Name, zr.Comment, zr.ModTime, zr.Extra)
	}
}

func TestLayerTarIsCanonical(t *testing.T) {
	for name, epoch := range map[string]time.Time{"default epoch": {}, "SOURCE_DATE_EPOCH 1700000000": time.Unix(1700000000, 0)} {
		t.Run(name, func(t *testing.T) {
			wantTime := epoch
			if epoch.IsZero() {
				wantTime = time.Unix(0, 0)
			}
			blob, res, st := buildLayer(t, layerSkill(t), epoch)
			raw := gunzip(t, blob)

			var names []string
			tr := tar.NewReader(bytes.NewReader(raw))
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, h.Name)
				if h.Typeflag != tar.TypeReg {
					t.Errorf("%s: typeflag %q; only regular files belong in the layer", h.Name, h.Typeflag)
				}
				// A header that needs no extended record is plain ustar,
				// which a PAX archive is by definition; GNU or V7 is not.
				if h.Format&(tar.FormatUSTAR|tar.FormatPAX) == 0 || h.Format&tar.FormatGNU != 0 {
					t.Errorf("%s: format %v; want PAX (or its ustar subset)", h.Name, h.Format)
				}
				if h.Name == longPath && h.Format != tar.FormatPAX {
					t.Errorf("%s: format %v; a long name must be stored as a PAX record", h.Name, h.Format)
				}
				if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
					t.Errorf("%s: owner %d:%d %q:%q; want 0:0 and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
				}
				if !h.ModTime.Equal(wantTime) {
					t.Errorf("%s: mtime %v; want the epoch %v", h.Name, h.ModTime.UTC(), wantTime.UTC())
				}
				if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
					t.Errorf("%s: atime %v ctime %v; want none", h.Name, h.AccessTime, h.ChangeTime)
				}
				wantMode := int64(0o644)
				if strings.HasSuffix(h.Name, ".sh") {
					wantMode = 0o755
				}
				if h.Mode != wantMode {
					t.Errorf("%s: mode %o; want %o", h.Name, h.Mode, wantMode)
				}
				for k := range h.PAXRecords {
					if k != "path" {
						t.Errorf("%s: PAX record %q; only path is expected (for long names)", h.Name, k)
					}
				}
				if strings.HasPrefix(h.Name, "/") || strings.HasPrefix(h.Name, "./") || strings.HasPrefix(h.Name, "layer-skill/") {
					t.Errorf("%s: paths must be relative to the skill root", h.Name)
				}
			}
			want := []string{"SKILL.md", "B.txt", "README.md", "a.txt", "assets/x.bin", longPath, "scripts/run.sh", "z/deep/file.md"}
			if strings.Join(names, "\n") != strings.Join(want, "\n") {
				t.Errorf("layer order:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
			}

			// Raw blocks: POSIX ustar magic on every header, PAX extended
			// headers allowed, no directory, GNU long-name or global headers.
			headers := rawHeaders(t, raw)
			for _, h := range headers {
				if h.magic != "ustar\x0000" {
					t.Errorf("header %q: magic %q; want POSIX ustar (\"ustar\\x0000\")", h.name, h.magic)
				}
				switch h.typeflag {
				case tar.TypeReg, tar.TypeXHeader:
				default:
					t.Errorf("header %q: typeflag %q is not allowed", h.name, h.typeflag)
				}
			}
			if n := countType(headers, tar.TypeXHeader); n != 1 {
				t.Errorf("%d PAX extended headers; want exactly 1 (for the long path)", n)
			}

			// The config's diff_id is the uncompressed tar's digest, and the
			// files label lists every path sorted.
			sum := sha256.Sum256(raw)
			diffID := digest.NewDigestFromBytes(digest.SHA256, sum[:])
			cfg := readConfig(t, st, res)
			if got := cfg.RootFS.DiffIDs; len(got) != 1 || got[0] != diffID {
				t.Errorf("config diff_ids %v; the tar's digest is %s", got, diffID)
			}
			var files []string
			if err := json.Unmarshal([]byte(cfg.Config.Labels[artifact.LabelFiles]), &files); err != nil {
				t.Fatal(err)
			}
			sorted := append([]string{}, want...)
			sort.Strings(sorted)
			if strings.Join(files, "\n") != strings.Join(sorted, "\n") {
				t.Errorf("files label %q; want %q", files, sorted)
			}
		})
	}
}

func TestLayerIsByteIdenticalForIdenticalContent(t *testing.T) {
	a, _, _ := buildLayer(t, layerSkill(t), time.Time{})
	b, _, _ := buildLayer(t, layerSkill(t), time.Time{})
	if !bytes.Equal(a, b) {
		t.Error("two builds of the same files gave different layer bytes")
	}
}

type rawHeader struct {
	name, magic string
	typeflag    byte
}

// rawHeaders walks tar blocks without archive/tar, which hides extended and
// long-name headers.
func rawHeaders(t *testing.T, raw []byte) []rawHeader {
	t.Helper()
	var out []rawHeader
	for off := 0; off+512 <= len(raw); {
		blk := raw[off : off+512]
		if bytes.Equal(blk, make([]byte, 512)) {
			break
		}
		size, err := strconv.ParseInt(strings.Trim(string(blk[124:136]), " \x00"), 8, 64)
		if err != nil {
			t.Fatalf("tar block at %d: size field %q: %v", off, blk[124:136], err)
		}
		out = append(out, rawHeader{
			name:     strings.TrimRight(string(blk[0:100]), "\x00"),
			magic:    string(blk[257:265]),
			typeflag: blk[156],
		})
		off += 512 + int((size+511)/512)*512
	}
	return out
}

func countType(hs []rawHeader, typ byte) int {
	n := 0
	for _, h := range hs {
		if h.typeflag == typ {
			n++
		}
	}
	return n
}

func readConfig(t *testing.T, st *store.Store, res *pack.Result) ocispec.Image {
	t.Helper()
	var idx ocispec.Index
	readJSON(t, st, res.Index, &idx)
	var m ocispec.Manifest
	readJSON(t, st, idx.Manifests[0], &m)
	var cfg ocispec.Image
	readJSON(t, st, m.Config, &cfg)
	return cfg
}

func readJSON(t *testing.T, st *store.Store, d ocispec.Descriptor, v any) {
	t.Helper()
	b, err := st.ReadBlob(d, store.MaxManifestSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
