package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skilldock/skilldock/internal/errdef"
)

// BlobPath is where a blob with digest d lives.
func (s *Store) BlobPath(d digest.Digest) string {
	return s.path(blobsDir, d.Algorithm().String(), d.Encoded())
}

// Has reports whether the blob is present. Presence implies the bytes match
// the digest, because blobs are renamed into place only after verification.
func (s *Store) Has(d digest.Digest) bool {
	if d.Validate() != nil {
		return false
	}
	_, err := os.Stat(s.BlobPath(d))
	return err == nil
}

// Open opens a blob for reading.
func (s *Store) Open(d digest.Digest) (*os.File, error) {
	if err := d.Validate(); err != nil {
		return nil, errdef.Errorf(errdef.ErrInvalid, "invalid digest %q", d)
	}
	f, err := os.Open(s.BlobPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errdef.Errorf(errdef.ErrNotFound, "blob %s is not in the store", d)
	}
	return f, err
}

// ReadBlob reads a small blob whole, refusing anything larger than max or
// whose size or digest disagrees with desc.
func (s *Store) ReadBlob(desc ocispec.Descriptor, max int64) ([]byte, error) {
	if desc.Size > max {
		return nil, errdef.Errorf(errdef.ErrLimit, "blob %s is %d bytes; the limit for this kind of blob is %d", desc.Digest, desc.Size, max)
	}
	f, err := s.Open(desc.Digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != desc.Size || desc.Digest.Algorithm().FromBytes(data) != desc.Digest {
		return nil, errdef.Errorf(errdef.ErrCorrupt, "blob %s in the store does not match its descriptor; run \"skilldock fsck\"", desc.Digest)
	}
	return data, nil
}

// Session is a writer's hold on the store: while it is open the collector
// does not run, so blobs written in it survive until the session's tags are
// committed. Close it when done, whether or not anything was tagged.
type Session struct {
	s    *Store
	lock *fileLock
}

// Begin opens a writer session.
func (s *Store) Begin() (*Session, error) {
	l, err := s.acquireGC(false)
	if err != nil {
		return nil, err
	}
	return &Session{s: s, lock: l}, nil
}

// Close ends the session. Blobs written but not tagged become garbage.
func (ss *Session) Close() { ss.lock.unlock() }

// Store returns the store the session writes to.
func (ss *Session) Store() *Store { return ss.s }

// BlobWriter streams one blob into a temporary file while hashing it; Commit
// verifies and renames it into place, Abort discards it. Memory use does not
// depend on the blob's size.
type BlobWriter struct {
	s *Store
	f *os.File
	// buf batches small writes into few syscalls: a gzip stream arrives in
	// writes of about 250 bytes, one write(2) each without it.
	buf  *bufio.Writer
	h    hash.Hash
	n    int64
	done bool
}

// NewBlob starts a sha256 blob.
func (ss *Session) NewBlob() (*BlobWriter, error) {
	f, err := os.CreateTemp(ss.s.path(tmpDir), "blob-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary blob in %s: %w", ss.s.path(tmpDir), err)
	}
	return &BlobWriter{s: ss.s, f: f, buf: bufio.NewWriterSize(f, 256<<10), h: sha256.New()}, nil
}

func (w *BlobWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// Size is the number of bytes written so far.
func (w *BlobWriter) Size() int64 { return w.n }

// Digest is the digest of the bytes written so far.
func (w *BlobWriter) Digest() digest.Digest { return digest.NewDigest(digest.SHA256, w.h) }

// Commit makes the blob visible under its digest. When expected is not empty
// the bytes must match it, or the blob is discarded with ErrCorrupt.
func (w *BlobWriter) Commit(expected digest.Digest) (digest.Digest, error) {
	if w.done {
		return "", errors.New("blob writer already finished")
	}
	w.done = true
	tmp := w.f.Name()
	defer os.Remove(tmp)
	got := w.Digest()
	if expected != "" && expected != got {
		w.f.Close()
		return "", errdef.Errorf(errdef.ErrCorrupt, "content for %s has digest %s; nothing was stored", expected, got)
	}
	if err := w.buf.Flush(); err != nil {
		w.f.Close()
		return "", err
	}
	if err := w.f.Chmod(0o644); err != nil {
		w.f.Close()
		return "", err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return "", err
	}
	if err := w.f.Close(); err != nil {
		return "", err
	}
	dst := w.s.BlobPath(got)
	if _, err := os.Stat(dst); err == nil {
		return got, nil // content-addressed: the copy already there is identical
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return got, syncDir(w.s.path(blobsDir, "sha256"))
}

// Abort discards the blob. It is safe to call after Commit.
func (w *BlobWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

// Put stores a small blob held in memory and returns its descriptor.
func (ss *Session) Put(mediaType string, data []byte) (ocispec.Descriptor, error) {
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if ss.s.Has(desc.Digest) {
		return desc, nil
	}
	return desc, ss.Ingest(desc, bytes.NewReader(data))
}

// Ingest copies r into the store as the blob desc describes, verifying size
// and digest before anything becomes visible.
func (ss *Session) Ingest(desc ocispec.Descriptor, r io.Reader) error {
	if desc.Digest.Algorithm() != digest.SHA256 {
		return errdef.Errorf(errdef.ErrUnsupported, "blob %s uses an unsupported digest algorithm; only sha256 is stored", desc.Digest)
	}
	w, err := ss.NewBlob()
	if err != nil {
		return err
	}
	defer w.Abort()
	n, err := io.Copy(w, io.LimitReader(r, desc.Size+1))
	if err != nil {
		return err
	}
	if n != desc.Size {
		return errdef.Errorf(errdef.ErrCorrupt, "content for %s is %d bytes; expected %d; nothing was stored", desc.Digest, n, desc.Size)
	}
	_, err = w.Commit(desc.Digest)
	return err
}

// OpenLayer opens a blob to stream it. Bytes in the store were verified when
// they were written, so they are not hashed again here.
func (s *Store) OpenLayer(desc ocispec.Descriptor) (io.ReadCloser, error) {
	return s.Open(desc.Digest)
}
