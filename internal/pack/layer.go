package pack

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/errdef"
	"github.com/skilldock/skilldock/internal/skill"
)

// layerResult is what writing the layer learned on the way.
type layerResult struct {
	DiffID digest.Digest // sha256 of the uncompressed tar
	Files  []artifact.FileEntry
}

// WriteLayer streams the files of root, in the given order, as a
// reproducible tar+gzip into w: PAX headers, uid/gid 0, no user or group
// names, every mtime the epoch, mode 0644 or 0755, no directory entries, and
// a gzip header with no name, comment or time. Each file is read once; its
// own digest, the tar's digest and the compressed bytes are produced in the
// same pass.
func WriteLayer(w io.Writer, root string, files []skill.File, epoch time.Time) (layerResult, error) {
	var res layerResult
	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return res, err
	}
	diff := sha256.New()
	// The tar writer emits many small writes (headers, padding); batching them
	// keeps the gzip and hash calls large.
	tarSink := bufio.NewWriterSize(io.MultiWriter(diff, gz), 256<<10)
	tw := tar.NewWriter(tarSink)
	buf := make([]byte, 256<<10)
	for _, f := range files {
		entry, err := writeFile(tw, root, f, epoch, buf)
		if err != nil {
			return res, err
		}
		res.Files = append(res.Files, entry)
	}
	if err := tw.Close(); err != nil {
		return res, err
	}
	if err := tarSink.Flush(); err != nil {
		return res, err
	}
	if err := gz.Close(); err != nil {
		return res, err
	}
	res.DiffID = digest.NewDigest(digest.SHA256, diff)
	return res, nil
}

func writeFile(tw *tar.Writer, root string, f skill.File, epoch time.Time, buf []byte) (artifact.FileEntry, error) {
	entry := artifact.FileEntry{Path: f.Path, Executable: f.Executable}
	src, err := os.Open(filepath.Join(root, filepath.FromSlash(f.Path)))
	if err != nil {
		return entry, errdef.Errorf(errdef.ErrInvalid, "cannot read %s: %v", f.Path, unwrapPath(err))
	}
	defer src.Close()
	// The size comes from the open file, not the earlier listing, so a file
	// that changed in between is packed consistently or refused below.
	info, err := src.Stat()
	if err != nil {
		return entry, err
	}
	if !info.Mode().IsRegular() {
		return entry, errdef.Errorf(errdef.ErrInvalid, "%s is no longer a regular file; was the folder changed during the build?", f.Path)
	}
	mode := int64(0o644)
	if f.Executable {
		mode = 0o755
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     f.Path,
		Size:     info.Size(),
		Mode:     mode,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return entry, fmt.Errorf("%s: %w", f.Path, err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tw, h), io.LimitReader(src, info.Size()), buf)
	if err != nil {
		return entry, fmt.Errorf("packing %s: %w", f.Path, err)
	}
	if n != info.Size() {
		return entry, errdef.Errorf(errdef.ErrInvalid, "%s shrank while it was being packed; build again once the folder is stable", f.Path)
	}
	entry.Size = n
	entry.SHA256 = hex.EncodeToString(h.Sum(nil))
	return entry, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
