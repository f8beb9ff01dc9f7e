package main

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

// floorResult is one pass of the floor.
type floorResult struct {
	Elapsed    timing
	Compressed int64         // bytes of the gzip stream
	Digest     digest.Digest // sha256 of the gzip stream
}

// runFloor does the least work any tool needs to turn the skill's files into
// a gzip layer and know its digest, all in one pass: read each file once,
// tar it, gzip it at pack's level (gzip.DefaultCompression), sha256 the
// compressed stream. Nothing is written to disk.
//
// The tar headers are the ones pack.WriteLayer writes (PAX, mode 0644/0755,
// mtime the epoch, uid/gid 0), so the floor compresses exactly the bytes
// skilldock compresses; the caller checks the two digests match. That makes
// the ratio like for like: the difference is what skilldock does on top.
func runFloor(sk *genSkill) (floorResult, error) {
	runtime.GC() // as before a build: start from a collected heap
	m := startTiming()
	h := sha256.New()
	out := &countingWriter{w: h}
	gz, err := gzip.NewWriterLevel(out, gzip.DefaultCompression)
	if err != nil {
		return floorResult{}, err
	}
	tw := tar.NewWriter(gz)
	// The same 256 KiB copy buffer pack uses, so reads are the same size.
	buf := make([]byte, 256<<10)
	epoch := time.Unix(0, 0).UTC()
	for _, p := range sk.Files {
		if err := floorFile(tw, sk.Dir, p, epoch, buf); err != nil {
			return floorResult{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return floorResult{}, err
	}
	if err := gz.Close(); err != nil {
		return floorResult{}, err
	}
	return floorResult{
		Elapsed:    m.stop(),
		Compressed: out.n,
		Digest:     digest.NewDigest(digest.SHA256, h),
	}, nil
}

func floorFile(tw *tar.Writer, root, p string, epoch time.Time, buf []byte) error {
	f, err := os.Open(filepath.Join(root, filepath.FromSlash(p)))
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	mode := int64(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     p,
		Size:     info.Size(),
		Mode:     mode,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// LimitReader hides *os.File's WriteTo, which would otherwise make
	// CopyBuffer ignore buf and copy in 32 KiB reads.
	n, err := io.CopyBuffer(tw, io.LimitReader(f, info.Size()), buf)
	if err != nil {
		return err
	}
	if n != info.Size() {
		return fmt.Errorf("%s changed size while the floor read it", p)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
