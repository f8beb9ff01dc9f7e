package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"testing"
)

// LayerCaps are the limits the cap-breaking layers of the corpus are sized
// against; they mirror extract.Limits without importing it (extract's own
// tests use this package).
type LayerCaps struct {
	MaxFiles     int
	MaxFileSize  int64
	MaxTotalSize int64
	// RatioFloor is the decompressed size below which the compression
	// ratio is not enforced; the bomb expands well past it.
	RatioFloor int64
}

// HostileLayer is one layer of the corpus.
type HostileLayer struct {
	Case string // short name, usable as a registry tag
	// Entry is the layer entry a refusal must name. It is empty when Go's
	// archive/tar refuses the stream itself before any entry exists.
	Entry string
	Layer []byte // tar+gzip
}

// HostileLayers builds, by hand, one tar+gzip layer per way a layer can try
// to escape or exhaust an install. Each starts with a valid SKILL.md for
// skill at its root, so it reaches extraction; escape is an absolute folder
// outside every install target that the path-escaping entries aim at.
//
// A NUL byte cannot be put in a name archive/tar reads back: its writer
// refuses a PAX path holding one, a USTAR name field ends at the first NUL
// (so "evil\x00.txt" reads back as "evil"), and a hand-written PAX record
// holding one makes its reader fail with ErrHeader. The "nul" case is that
// hand-written record, refused as an invalid tar before it is an entry.
func HostileLayers(t testing.TB, skill, escape string, caps LayerCaps) []HostileLayer {
	t.Helper()
	if caps.MaxFileSize <= 2*caps.RatioFloor || caps.MaxTotalSize < caps.MaxFileSize || caps.MaxFiles < 1 {
		t.Fatalf("HostileLayers needs MaxFileSize > 2*RatioFloor and MaxTotalSize >= MaxFileSize: %+v", caps)
	}
	up := strings.Repeat("../", 40) + strings.TrimPrefix(escape, "/")
	var out []HostileLayer
	add := func(name, entry string, fill func(l *LayerBuilder)) {
		l := NewLayer(t)
		l.File("SKILL.md", SkillMD(skill, "6.6.6", "Hostile layer "+name+"."), 0o644)
		fill(l)
		out = append(out, HostileLayer{Case: name, Entry: entry, Layer: l.Bytes()})
	}
	add("absolute", escape+"/pwned-absolute", func(l *LayerBuilder) {
		l.File(escape+"/pwned-absolute", "pwned\n", 0o644)
	})
	add("dotdot", up+"/pwned-dotdot", func(l *LayerBuilder) {
		l.File(up+"/pwned-dotdot", "pwned\n", 0o644)
	})
	add("pax-path", up+"/pwned-pax", func(l *LayerBuilder) {
		// A harmless USTAR name that a PAX record replaces.
		l.PAXRaw([][2]string{{"path", up + "/pwned-pax"}})
		l.RawFile("harmless.txt", "pwned\n")
	})
	add("gnu-longname", up+"/pwned-gnu", func(l *LayerBuilder) {
		l.Header(&tar.Header{Typeflag: tar.TypeReg, Name: up + "/pwned-gnu", Mode: 0o644, Format: tar.FormatGNU})
	})
	add("dotdot-inner", "notes/../../pwned-inner", func(l *LayerBuilder) {
		l.File("notes/../../pwned-inner", "pwned\n", 0o644)
	})
	add("symlink", "escape", func(l *LayerBuilder) {
		l.Header(&tar.Header{Typeflag: tar.TypeSymlink, Name: "escape", Linkname: escape, Mode: 0o777})
		l.File("escape/pwned-symlink", "pwned\n", 0o644)
	})
	add("hardlink", "victim", func(l *LayerBuilder) {
		l.Header(&tar.Header{Typeflag: tar.TypeLink, Name: "victim", Linkname: escape + "/victim", Mode: 0o644})
	})
	add("chardev", "null", func(l *LayerBuilder) {
		l.Header(&tar.Header{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3, Mode: 0o666})
	})
	add("blockdev", "disk", func(l *LayerBuilder) {
		l.Header(&tar.Header{Typeflag: tar.TypeBlock, Name: "disk", Devmajor: 8, Devminor: 0, Mode: 0o660})
	})
	add("fifo", "pipe", func(l *LayerBuilder) {
		l.Header(&tar.Header{Typeflag: tar.TypeFifo, Name: "pipe", Mode: 0o644})
	})
	add("duplicate", "notes.txt", func(l *LayerBuilder) {
		l.File("notes.txt", "first\n", 0o644)
		l.File("notes.txt", "second, replacing the first\n", 0o644)
	})
	add("file-over-folder", "docs", func(l *LayerBuilder) {
		l.File("docs/a.txt", "a\n", 0o644)
		l.File("docs", "a file where a folder is\n", 0o644)
	})
	add("nul", "", func(l *LayerBuilder) {
		l.PAXRaw([][2]string{{"path", "evil\x00.txt"}})
		l.RawFile("evil.txt", "pwned\n")
	})
	add("backslash", `..\..\pwned-backslash`, func(l *LayerBuilder) {
		l.File(`..\..\pwned-backslash`, "pwned\n", 0o644)
	})
	add("case-collision", "readme.md", func(l *LayerBuilder) {
		l.File("README.md", "upper\n", 0o644)
		l.File("readme.md", "lower\n", 0o644)
	})
	add("case-collision-folder", "Docs/b.txt", func(l *LayerBuilder) {
		l.File("docs/a.txt", "a\n", 0o644)
		l.File("Docs/b.txt", "b\n", 0o644)
	})
	// SKILL.md is one file already, so file number MaxFiles+1 is
	// many/f(MaxFiles-1).
	add("too-many-files", fmt.Sprintf("many/f%05d", caps.MaxFiles-1), func(l *LayerBuilder) {
		for i := 0; i < caps.MaxFiles; i++ {
			l.File(fmt.Sprintf("many/f%05d", i), "", 0o644)
		}
	})
	add("too-many-folders", fmt.Sprintf("d%05d/", caps.MaxFiles), func(l *LayerBuilder) {
		for i := 0; i <= caps.MaxFiles; i++ {
			l.Header(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("d%05d/", i), Mode: 0o755})
		}
	})
	add("file-over-cap", "big.bin", func(l *LayerBuilder) {
		l.Zeros("big.bin", caps.MaxFileSize+1)
	})
	n := int(caps.MaxTotalSize/caps.MaxFileSize) + 1
	add("total-over-cap", fmt.Sprintf("part-%02d.bin", n-1), func(l *LayerBuilder) {
		for i := 0; i < n; i++ {
			l.Zeros(fmt.Sprintf("part-%02d.bin", i), caps.MaxFileSize)
		}
	})
	add("gzip-bomb", "bomb.bin", func(l *LayerBuilder) {
		l.Zeros("bomb.bin", 2*caps.RatioFloor+(1<<20))
	})
	add("sparse", "sparse.bin", func(l *LayerBuilder) {
		l.Sparse("sparse.bin", 2*caps.RatioFloor+(1<<20))
	})
	return out
}

// LayerBuilder writes a tar+gzip layer by hand. Runs of zeros are emitted as
// one precompressed gzip member per MiB (a gzip stream may hold many
// members), so layers that expand to hundreds of MiB cost almost nothing to
// build.
type LayerBuilder struct {
	t       testing.TB
	out     bytes.Buffer
	pending bytes.Buffer // raw tar bytes not yet compressed
	tw      *tar.Writer
	zeros   bool // the next Write is a run of zeros
}

const zeroChunk = 1 << 20

var zeroMember = func() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, zeroChunk))
	_ = zw.Close()
	return b.Bytes()
}()

// NewLayer starts a layer.
func NewLayer(t testing.TB) *LayerBuilder {
	l := &LayerBuilder{t: t}
	l.tw = tar.NewWriter((*layerSink)(l))
	return l
}

type layerSink LayerBuilder

func (s *layerSink) Write(p []byte) (int, error) {
	l := (*LayerBuilder)(s)
	if l.zeros && len(p) == zeroChunk {
		l.flush()
		l.out.Write(zeroMember)
		return len(p), nil
	}
	return l.pending.Write(p)
}

func (l *LayerBuilder) flush() {
	if l.pending.Len() == 0 {
		return
	}
	zw := gzip.NewWriter(&l.out)
	if _, err := zw.Write(l.pending.Bytes()); err != nil {
		l.t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		l.t.Fatal(err)
	}
	l.pending.Reset()
}

// Header writes a header with no content.
func (l *LayerBuilder) Header(h *tar.Header) {
	l.t.Helper()
	if h.Format == tar.FormatUnknown {
		h.Format = tar.FormatPAX
	}
	if err := l.tw.WriteHeader(h); err != nil {
		l.t.Fatalf("tar header %q: %v", h.Name, err)
	}
}

// File writes a regular file.
func (l *LayerBuilder) File(name, content string, mode int64) {
	l.t.Helper()
	l.Header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(content))})
	if _, err := io.WriteString(l.tw, content); err != nil {
		l.t.Fatal(err)
	}
}

// Zeros writes a regular file of size zero bytes.
func (l *LayerBuilder) Zeros(name string, size int64) {
	l.t.Helper()
	l.Header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size})
	chunk := make([]byte, zeroChunk)
	l.zeros = true
	defer func() { l.zeros = false }()
	for left := size; left > 0; {
		n := min(left, zeroChunk)
		if _, err := l.tw.Write(chunk[:n]); err != nil {
			l.t.Fatal(err)
		}
		left -= n
	}
}

// PAXRaw writes a PAX extended header block holding records as given,
// bypassing archive/tar's checks, for the next header to pick up.
func (l *LayerBuilder) PAXRaw(records [][2]string) {
	l.t.Helper()
	var data strings.Builder
	for _, r := range records {
		data.WriteString(paxRecord(r[0], r[1]))
	}
	l.raw(rawHeader("PaxHeaders.0/x", tar.TypeXHeader, int64(data.Len())), data.String())
}

// RawFile writes a USTAR regular-file header and content bypassing
// archive/tar.
func (l *LayerBuilder) RawFile(name, content string) {
	l.raw(rawHeader(name, tar.TypeReg, int64(len(content))), content)
}

// Sparse writes a PAX (GNU 1.0) sparse file: a regular file whose logical
// size is size but whose content in the stream is one block holding an empty
// sparse map, so every byte of it is a hole.
func (l *LayerBuilder) Sparse(name string, size int64) {
	l.PAXRaw([][2]string{
		{"GNU.sparse.major", "1"},
		{"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", name},
		{"GNU.sparse.realsize", fmt.Sprint(size)},
	})
	l.raw(rawHeader("GNUSparseFile.0/"+name, tar.TypeReg, 512), "0\n")
}

func (l *LayerBuilder) raw(hdr []byte, content string) {
	if err := l.tw.Flush(); err != nil {
		l.t.Fatal(err)
	}
	l.pending.Write(hdr)
	l.pending.WriteString(content)
	if pad := (512 - len(content)%512) % 512; pad > 0 {
		l.pending.Write(make([]byte, pad))
	}
}

// Bytes ends the archive and returns the layer.
func (l *LayerBuilder) Bytes() []byte {
	l.t.Helper()
	if err := l.tw.Close(); err != nil {
		l.t.Fatal(err)
	}
	l.flush()
	return l.out.Bytes()
}

func paxRecord(k, v string) string {
	const padding = 3 // space, '=' and newline
	size := len(k) + len(v) + padding
	size += len(fmt.Sprint(size))
	rec := fmt.Sprintf("%d %s=%s\n", size, k, v)
	if len(rec) != size { // the length's own digits pushed it over a power of ten
		size = len(rec)
		rec = fmt.Sprintf("%d %s=%s\n", size, k, v)
	}
	return rec
}

// rawHeader is a USTAR header block with a correct checksum.
func rawHeader(name string, typeflag byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "00000000000\x00")
	b[156] = typeflag
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}
