package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/service"
)

// epoch0 is the build epoch for every build here: the in-process builds pass
// it and the child processes get SOURCE_DATE_EPOCH=0, so both produce the
// layer the floor produces, whatever the caller's environment says.
var epoch0 = time.Unix(0, 0).UTC()

// buildBinary compiles the real CLI once, as "make build" does, so the
// process measurements include exactly what a user runs.
func buildBinary(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if root == "." || root == "" {
		return "", fmt.Errorf("run the benchmark inside the skilldock module (go run ./bench)")
	}
	bin := filepath.Join(dir, "skilldock")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/skilldock")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/skilldock: %v\n%s", err, msg)
	}
	return bin, nil
}

// limitsFor keeps pack's defaults unless -size needs more total room, so the
// default 90 MiB run measures the default configuration.
func limitsFor(total int64) pack.Limits {
	l := pack.DefaultLimits()
	if total > l.MaxTotalSize {
		l.MaxTotalSize = total
	}
	return l
}

// inProcessBuild runs service.Build into a fresh store under dir. Only the
// Build call is timed: opening (creating) the store is the CLI's start-up, and
// is covered by the binary measurement.
func inProcessBuild(ctx context.Context, sk *genSkill, dir string) (timing, *service.BuildResult, error) {
	svc, err := service.New(service.Config{StorePath: dir})
	if err != nil {
		return timing{}, nil, err
	}
	epoch := epoch0
	// Start every timed run from a collected heap, so garbage from the
	// previous run (or the floor) is not charged to this one.
	runtime.GC()
	m := startTiming()
	res, err := svc.Build(ctx, service.BuildRequest{Dir: sk.Dir, Limits: limitsFor(sk.Bytes), Epoch: &epoch})
	return m.stop(), res, err
}

// procResult is one run of the real binary.
type procResult struct {
	Elapsed timing // wall clock from fork to exit (includes process start); the child's CPU time
	MaxRSS  int64  // peak resident set, bytes
	Stdout  []byte
}

// runProcess runs the skilldock binary and reports its wall time and peak
// RSS. ru_maxrss comes from wait4 for exactly this child, in KiB on Linux.
func runProcess(ctx context.Context, bin string, args ...string) (procResult, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return procResult{}, fmt.Errorf("skilldock %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return procResult{}, fmt.Errorf("no rusage for the child process on %s", runtime.GOOS)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return procResult{Elapsed: timing{Wall: elapsed, CPU: cpu}, MaxRSS: ru.Maxrss << 10, Stdout: stdout.Bytes()}, nil
}

// binaryBuild runs "skilldock build DIR --store STORE" as a child process.
func binaryBuild(ctx context.Context, bin string, sk *genSkill, store string) (procResult, string, error) {
	args := []string{"build", sk.Dir, "--store", store, "--output", "json"}
	if l := limitsFor(sk.Bytes); l != pack.DefaultLimits() {
		args = append(args, "--max-total-size", strconv.FormatInt(l.MaxTotalSize, 10))
	}
	res, err := runProcess(ctx, bin, args...)
	if err != nil {
		return res, "", err
	}
	var out struct {
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal(res.Stdout, &out); err != nil {
		return res, "", fmt.Errorf("skilldock build --output json printed something else: %v", err)
	}
	return res, out.Digest, nil
}

// buildSamples are the measurements of the build section, one per round.
type buildSamples struct {
	Floor, InProc, Binary []timing
	RSS                   []int64 // from the binary builds
	LayerSize             int64
	LayerDigest           string
	IndexDigest           string
	SameLayer             bool // floor digest == skilldock's layer digest
}

// benchBuild alternates floor, in-process build and binary build, round after
// round, so that whatever else the shared machine is doing at a moment hits
// all three alike. Round 0 is a warm-up that is not reported: it faults in
// the binary and grows the bench's heap, and is where the outputs are
// checked against each other. withBuild false runs only the binary (the
// -only rss case).
func benchBuild(ctx context.Context, cfg config, bin string, sk *genSkill, scratch string, withBuild bool) (*buildSamples, error) {
	s := &buildSamples{}
	for round := 0; round <= cfg.runs; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		warm := round == 0
		if withBuild {
			fl, err := runFloor(sk)
			if err != nil {
				return nil, fmt.Errorf("floor: %w", err)
			}
			store := filepath.Join(scratch, fmt.Sprintf("inproc-%d", round))
			d, res, err := inProcessBuild(ctx, sk, store)
			if err != nil {
				return nil, fmt.Errorf("in-process build: %w", err)
			}
			if warm {
				if err := s.checkLayer(ctx, store, fl, res); err != nil {
					return nil, err
				}
			} else if res.Digest != s.IndexDigest {
				return nil, fmt.Errorf("build is not reproducible: %s then %s", s.IndexDigest, res.Digest)
			}
			if err := os.RemoveAll(store); err != nil {
				return nil, err
			}
			if !warm {
				s.Floor = append(s.Floor, fl.Elapsed)
				s.InProc = append(s.InProc, d)
			}
			progress("round %d/%d: floor %s, in-process build %s", round, cfg.runs, fl.Elapsed.Wall.Round(time.Millisecond), d.Wall.Round(time.Millisecond))
		}
		store := filepath.Join(scratch, fmt.Sprintf("binary-%d", round))
		pr, dig, err := binaryBuild(ctx, bin, sk, store)
		if err != nil {
			return nil, err
		}
		if s.IndexDigest == "" {
			s.IndexDigest = dig
		} else if dig != s.IndexDigest {
			return nil, fmt.Errorf("the binary built %s, an earlier build %s; the same files must give the same digest", dig, s.IndexDigest)
		}
		if err := os.RemoveAll(store); err != nil {
			return nil, err
		}
		progress("round %d/%d: binary build %s, peak RSS %.1f MiB", round, cfg.runs, pr.Elapsed.Wall.Round(time.Millisecond), mib(pr.MaxRSS))
		if !warm {
			s.Binary = append(s.Binary, pr.Elapsed)
			s.RSS = append(s.RSS, pr.MaxRSS)
		}
	}
	return s, nil
}

// checkLayer confirms the floor compressed the very bytes skilldock stored,
// which is what makes the ratio a fair one.
func (s *buildSamples) checkLayer(ctx context.Context, store string, fl floorResult, res *service.BuildResult) error {
	svc, err := service.New(service.Config{StorePath: store})
	if err != nil {
		return err
	}
	ins, err := svc.Inspect(ctx, res.Tags[0])
	if err != nil {
		return err
	}
	s.IndexDigest = res.Digest
	s.LayerDigest = ins.Layer.Digest.String()
	s.LayerSize = ins.Layer.Size
	s.SameLayer = ins.Layer.Digest == fl.Digest && ins.Layer.Size == fl.Compressed
	if !s.SameLayer {
		progress("warning: the floor's gzip stream (%s, %d bytes) differs from skilldock's layer (%s, %d bytes); the ratio compares different work",
			fl.Digest, fl.Compressed, ins.Layer.Digest, ins.Layer.Size)
	}
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
