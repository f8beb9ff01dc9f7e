package store

import (
	"fmt"
	"os"
	"syscall"
)

// fileLock is an advisory flock(2) lock. The kernel drops it when the process
// dies, so a SIGKILLed writer can never leave the store locked.
type fileLock struct{ f *os.File }

func lockFile(path string, exclusive bool) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	// Closing the descriptor releases the lock.
	l.f.Close()
	l.f = nil
}

// Writer sessions and the collector coordinate through two locks:
//
//   - gc.lock is held shared by every writer session from its first blob until
//     its tags are committed, and exclusive by the collector while it sweeps,
//     so the collector never deletes a blob a writer is about to tag;
//   - turnstile.lock is taken briefly by both before gc.lock, which stops a
//     steady stream of writers from starving a waiting collector.
//
// Lock order is always turnstile, gc, index; nothing takes them the other way.
func (s *Store) acquireGC(exclusive bool) (*fileLock, error) {
	t, err := lockFile(s.path(metaDir, "turnstile.lock"), true)
	if err != nil {
		return nil, err
	}
	defer t.unlock()
	return lockFile(s.path(metaDir, "gc.lock"), exclusive)
}

func (s *Store) acquireIndex() (*fileLock, error) {
	return lockFile(s.path(metaDir, "index.lock"), true)
}

// tryLockFile takes an exclusive lock without waiting; nil means it is held
// elsewhere.
func tryLockFile(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, nil
		}
		return nil, err
	}
	return &fileLock{f: f}, nil
}
