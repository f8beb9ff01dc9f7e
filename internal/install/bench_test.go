package install_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/skilldock/skilldock/internal/artifact"
	"github.com/skilldock/skilldock/internal/extract"
	"github.com/skilldock/skilldock/internal/install"
	"github.com/skilldock/skilldock/internal/records"
	"github.com/skilldock/skilldock/internal/service"
	"github.com/skilldock/skilldock/internal/testutil"
)

// The install benchmarks put a ~50 MiB skill of 400 files where an agent
// reads it, beside the two ways of copying the same files a person might
// compare it with. Run them with
//
//	go test -run='^$' -bench=. -benchtime=5x ./internal/install/
//
// Install extracts from the cached layer (decompressing it, hashing every
// file and fsyncing every file and folder), then swaps the folder in and
// records it; the copies read files already in the page cache.
const (
	benchFiles    = 400
	benchFileSize = 128 << 10 // 400 × 128 KiB = 50 MiB
	benchName     = "bench-skill"
)

// benchSource writes the skill's folder: text, so the layer compresses the
// way real skills do, different in every file.
func benchSource(b *testing.B) (dir string, size int64) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string]string{}
	for i := 0; i < benchFiles; i++ {
		files[fmt.Sprintf("references/%02d/part-%03d.md", i%20, i)] = randomText(rng, benchFileSize)
	}
	dir = testutil.WriteSkill(b, b.TempDir(), benchName, files)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			info, _ := d.Info()
			size += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return dir, size
}

// BenchmarkInstallCachedSkill is "skilldock install bench-skill:1" without
// the process: the build is in the store, the folder is new each time.
func BenchmarkInstallCachedSkill(b *testing.B) {
	m := testutil.IsolateMachine(b)
	src, size := benchSource(b)
	svc, err := service.New(service.Config{StorePath: m.Store})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Build(ctx, service.BuildRequest{Dir: src, Tags: []string{benchName + ":1"}}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if i > 0 {
			if _, err := svc.Uninstall(ctx, service.UninstallRequest{Name: benchName}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, err := svc.Install(ctx, service.InstallRequest{Source: benchName + ":1", Clients: "claude-code"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInstallerFromLayer is the install package alone, fed the built
// layer from memory: extraction, fsync, swap and record, without the store
// and the service around it.
func BenchmarkInstallerFromLayer(b *testing.B) {
	m := testutil.IsolateMachine(b)
	src, size := benchSource(b)
	layer := builtLayer(b, m, src)
	db, err := records.Open(context.Background(), m.RecordsPath())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	in := install.New(db)
	skills := filepath.Join(m.Home, ".claude", "skills")
	b.SetBytes(size)
	b.ResetTimer()
	target := filepath.Join(skills, benchName)
	for i := 0; i < b.N; i++ {
		b.StopTimer() // a new folder each time, as for the copies
		if err := os.RemoveAll(target); err != nil {
			b.Fatal(err)
		}
		if err := db.Delete(context.Background(), target); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		_, err := in.Install(context.Background(), install.Request{
			Name: benchName, Source: "bench", Digest: digest.FromBytes(layer).String(), Scope: "user",
			Targets:   []install.Target{{Base: m.Home, SkillsDir: skills, Clients: []string{"claude-code"}}},
			OpenLayer: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer)), nil },
			LayerSize: int64(len(layer)), Limits: extract.DefaultLimits(),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// builtLayer builds the skill as skilldock build does and returns its layer.
func builtLayer(b *testing.B, m testutil.Machine, src string) []byte {
	b.Helper()
	svc, err := service.New(service.Config{StorePath: m.Store})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Build(context.Background(), service.BuildRequest{Dir: src, Tags: []string{benchName + ":1"}}); err != nil {
		b.Fatal(err)
	}
	tag, err := svc.Store().Resolve(benchName + ":1")
	if err != nil {
		b.Fatal(err)
	}
	sk, err := artifact.Describe(svc.Store(), tag.Descriptor)
	if err != nil {
		b.Fatal(err)
	}
	rc, err := svc.Store().OpenLayer(sk.Layer)
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	layer, err := io.ReadAll(rc)
	if err != nil {
		b.Fatal(err)
	}
	return layer
}

// BenchmarkCopyWithFsync copies the folder file by file with io.Copy and
// fsyncs each file, as a careful recursive copy would.
func BenchmarkCopyWithFsync(b *testing.B) {
	testutil.IsolateMachine(b)
	src, size := benchSource(b)
	out := b.TempDir()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := copyTree(src, filepath.Join(out, fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCpR runs cp -r, which does not fsync.
func BenchmarkCpR(b *testing.B) {
	testutil.IsolateMachine(b)
	cp, err := exec.LookPath("cp")
	if err != nil {
		b.Skip("cp not found")
	}
	src, size := benchSource(b)
	out := b.TempDir()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if o, err := exec.Command(cp, "-r", src, filepath.Join(out, fmt.Sprint(i))).CombinedOutput(); err != nil {
			b.Fatalf("cp -r: %v\n%s", err, o)
		}
	}
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.Mkdir(to, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}
