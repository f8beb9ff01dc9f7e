package extract

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func tarOf(t interface{ Fatal(...any) }, entries ...*tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzExtract feeds arbitrary tar streams (gzipped by the test, so the
// fuzzer explores tar structure) to Extract. Whatever the input, nothing may
// appear outside the destination, nothing inside it may be a link or special
// file, and a success must describe exactly the files on disk.
func FuzzExtract(f *testing.F) {
	f.Add(tarOf(f, &tar.Header{Name: "SKILL.md", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}))
	f.Add(tarOf(f, &tar.Header{Name: "x/", Typeflag: tar.TypeDir, Mode: 0o755}, &tar.Header{Name: "x/SKILL.md", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(tarOf(f, &tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(tarOf(f, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, &tar.Header{Name: "l/SKILL.md", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(tarOf(f, &tar.Header{Name: "a", Typeflag: tar.TypeReg, Size: 1}, &tar.Header{Name: "A", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(tarOf(f, &tar.Header{Name: "a", Typeflag: tar.TypeReg, Size: 1}, &tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Size: 1}))
	syncWrites = false
	f.Cleanup(func() { syncWrites = true })
	f.Fuzz(func(t *testing.T, raw []byte) {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(raw)
		w.Close()
		outer := t.TempDir()
		dest := filepath.Join(outer, "dest")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		lim := Limits{MaxFiles: 50, MaxFileSize: 1 << 20, MaxTotalSize: 4 << 20, MaxRatio: 1000, RatioFloor: 1 << 20}
		res, err := Extract(bytes.NewReader(gz.Bytes()), int64(gz.Len()), dest, lim)

		top, _ := os.ReadDir(outer)
		if len(top) != 1 || top[0].Name() != "dest" {
			t.Fatalf("something was written beside the destination: %v", top)
		}
		onDisk := map[string]int64{}
		filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == dest {
				return err
			}
			if d.Type()&(fs.ModeSymlink|fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeCharDevice) != 0 {
				t.Fatalf("extracted a special entry %s (%v)", p, d.Type())
			}
			if d.Type().IsRegular() {
				info, _ := d.Info()
				rel, _ := filepath.Rel(dest, p)
				onDisk[filepath.ToSlash(rel)] = info.Size()
			}
			return nil
		})
		if err != nil {
			return
		}
		if len(res.Files) != len(onDisk) {
			t.Fatalf("result lists %d files, disk has %d", len(res.Files), len(onDisk))
		}
		for _, f := range res.Files {
			p := f.Path
			if res.Root != "" {
				p = res.Root + "/" + p
			}
			if size, ok := onDisk[p]; !ok || size != f.Size {
				t.Fatalf("result file %+v does not match disk (%v)", f, onDisk)
			}
		}
	})
}
