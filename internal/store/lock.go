package store

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fileLock is an advisory flock(2) lock. The kernel drops it when the process
// dies, so a SIGKILLed writer can never leave the store locked.
type fileLock struct{ f *os.File }

func lockFile(path string, exclusive bool) (*fileLock, error) {
	f, how, err := openLock(path, exclusive)
	if err != nil {
		return nil, err
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

// openLock opens (creating) the lock file and says which flock operation
// takes it.
func openLock(path string, exclusive bool) (*os.File, int, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("opening lock %s: %w", path, err)
	}
	if exclusive {
		return f, syscall.LOCK_EX, nil
	}
	return f, syscall.LOCK_SH, nil
}

// Waiting for a lock with a context polls, because flock(2) cannot be
// interrupted by anything but a signal: each try is non-blocking, and the
// pause between tries doubles from lockPollMin to lockPollMax, so a lock held
// briefly costs little latency and one held for minutes costs little CPU. A
// poller may lose the lock to waiters blocked in the kernel; the locks it is
// used for are held briefly, so it only waits a little longer, and never
// past its context.
const (
	lockPollMin = time.Millisecond
	lockPollMax = 50 * time.Millisecond
)

// lockFileContext is lockFile that gives up, changing nothing, when ctx ends
// before the lock is free. A context that can never end (Background) waits
// in the kernel as lockFile does.
func lockFileContext(ctx context.Context, path string, exclusive bool) (*fileLock, error) {
	if ctx.Done() == nil {
		return lockFile(path, exclusive)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("not taking lock %s: %w", path, err)
	}
	f, how, err := openLock(path, exclusive)
	if err != nil {
		return nil, err
	}
	for pause := lockPollMin; ; pause = min(2*pause, lockPollMax) {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch err {
		case nil:
			return &fileLock{f: f}, nil
		case syscall.EWOULDBLOCK, syscall.EINTR:
		default:
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("gave up waiting for lock %s, held elsewhere: %w", path, ctx.Err())
		case <-time.After(pause):
		}
	}
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
	return s.acquireIndexContext(context.Background())
}

func (s *Store) acquireIndexContext(ctx context.Context) (*fileLock, error) {
	return lockFileContext(ctx, s.path(metaDir, "index.lock"), true)
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
