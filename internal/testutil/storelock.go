package testutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// LockStoreIndex takes the index lock of the store at root exclusively, as
// a skilldock process updating index.json does, and returns the function
// that releases it (also called when the test ends). Until then every
// update of the store's tags waits.
func LockStoreIndex(t testing.TB, root string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, ".skilldock", "index.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		t.Fatalf("taking the store's index lock: %v", err)
	}
	// Closing the descriptor releases the lock; closing twice is harmless.
	release = func() { _ = f.Close() }
	t.Cleanup(release)
	return release
}
