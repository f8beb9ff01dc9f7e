package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skilldock/skilldock/internal/pack"
	"github.com/skilldock/skilldock/internal/service"
)

// epoch0 is the build epoch for every build here: the in-process builds pass
// it and the child processes get SOURCE_DATE_EPOCH=0, so both produce the
// layer the floor produces, whatever the caller's environment says.
var epoch0 = time.Unix(0, 0).UTC()

// moduleRoot is the folder of skilldock's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if root == "." || root == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("run the benchmark inside the skilldock module (go run ./bench)")
	}
	return root, nil
}

// buildBinary compiles the real CLI once, as "make build" does, so the
// process measurements include exactly what a user runs.
func buildBinary(ctx context.Context, root, dir string) (string, error) {
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

// binaryBuild runs "skilldock build DIR --store STORE" as a child process.
func binaryBuild(ctx context.Context, t *tools, sk *genSkill, store string, tags ...string) (procResult, string, error) {
	args := []string{"build", sk.Dir, "--store", store, "--output", "json"}
	if l := limitsFor(sk.Bytes); l != pack.DefaultLimits() {
		args = append(args, "--max-total-size", strconv.FormatInt(l.MaxTotalSize, 10))
	}
	for _, tag := range tags {
		args = append(args, "-t", tag)
	}
	res, err := t.skilldock(ctx, args...)
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

	// The oras CLI, when installed: "oras push --oci-layout" of a tarball of
	// the same files made once before the rounds (Oras), and making the
	// tarball with "tar czf" in the round followed by the same push (Tar,
	// then OrasAfterTar; TarOras is their sum).
	Oras, Tar, OrasAfterTar, TarOras []timing
	TarballSize                      int64
}

// benchBuild alternates floor, in-process build, binary build and the two
// oras runs, round after round, so that whatever else the shared machine is
// doing at a moment hits all of them alike. Round 0 is a warm-up that is
// not reported: it faults in the binaries and grows the bench's heap, and is
// where the outputs are checked against each other. withBuild false runs
// only the binary (the -only rss case).
func benchBuild(ctx context.Context, cfg config, t *tools, sk *genSkill, scratch string, withBuild bool) (*buildSamples, error) {
	s := &buildSamples{}
	var ob *orasBuild
	if withBuild && t.oras != "" {
		var err error
		if ob, err = prepareOrasBuild(ctx, t, sk, filepath.Join(scratch, "oras")); err != nil {
			return nil, err
		}
		s.TarballSize = ob.size
	}
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
		pr, dig, err := binaryBuild(ctx, t, sk, store)
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
		if ob == nil {
			continue
		}
		push, err := ob.push(ctx, t)
		if err != nil {
			return nil, err
		}
		tar, after, err := ob.tarPush(ctx, t, sk, round)
		if err != nil {
			return nil, err
		}
		progress("round %d/%d: oras push of the prepared tarball %s; tar czf %s + oras push %s",
			round, cfg.runs, push.Wall.Round(time.Millisecond), tar.Wall.Round(time.Millisecond), after.Wall.Round(time.Millisecond))
		if !warm {
			s.Oras = append(s.Oras, push)
			s.Tar = append(s.Tar, tar)
			s.OrasAfterTar = append(s.OrasAfterTar, after)
			s.TarOras = append(s.TarOras, timing{Wall: tar.Wall + after.Wall, CPU: tar.CPU + after.CPU})
		}
	}
	return s, nil
}

// orasBuild is the oras CLI's side of the build comparison: what a user
// without skilldock would run to get the same files into an OCI layout.
type orasBuild struct {
	dir    string // scratch folder
	ball   string // the tarball made once, dir/prepared/skill.tgz
	size   int64
	digest digest.Digest
}

// orasLayerType is the media type given to oras for the tarball, the one
// skilldock's layers have.
const orasLayerType = "application/vnd.oci.image.layer.v1.tar+gzip"

// prepareOrasBuild makes the tarball the oras-only runs push, once and
// untimed, with the same command the "incl. tarball" runs time.
func prepareOrasBuild(ctx context.Context, t *tools, sk *genSkill, dir string) (*orasBuild, error) {
	ob := &orasBuild{dir: dir}
	prepared := filepath.Join(dir, "prepared")
	if err := os.MkdirAll(prepared, 0o755); err != nil {
		return nil, err
	}
	if _, err := ob.tar(ctx, t, sk, prepared); err != nil {
		return nil, err
	}
	ob.ball = filepath.Join(prepared, "skill.tgz")
	f, err := os.Open(ob.ball)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := digest.SHA256.FromReader(f)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ob.size, ob.digest = info.Size(), d
	return ob, nil
}

// tar runs "tar czf DIR/skill.tgz bench-skill" from the skill's parent, as a
// person packing the folder by hand would.
func (ob *orasBuild) tar(ctx context.Context, t *tools, sk *genSkill, dir string) (timing, error) {
	pr, err := t.run(ctx, proc{path: "tar", args: []string{"czf", filepath.Join(dir, "skill.tgz"), filepath.Base(sk.Dir)}, dir: filepath.Dir(sk.Dir)})
	return pr.Elapsed, err
}

// orasPush runs "oras push --oci-layout DIR/layout:bench skill.tgz:TYPE" in
// dir, which holds skill.tgz (oras refuses absolute file paths), into a
// layout that does not exist yet, and checks the layer arrived.
func (ob *orasBuild) orasPush(ctx context.Context, t *tools, dir string, want digest.Digest) (timing, error) {
	layout := filepath.Join(dir, "layout")
	pr, err := t.run(ctx, proc{path: t.oras, dir: dir, args: []string{
		"push", "--oci-layout", layout + ":bench", "skill.tgz:" + orasLayerType}})
	if err != nil {
		return timing{}, err
	}
	if want != "" {
		if _, err := os.Stat(filepath.Join(layout, "blobs", "sha256", want.Encoded())); err != nil {
			return timing{}, fmt.Errorf("oras push --oci-layout did not store the tarball: %w", err)
		}
	}
	return pr.Elapsed, os.RemoveAll(layout)
}

// push times oras on the prepared tarball.
func (ob *orasBuild) push(ctx context.Context, t *tools) (timing, error) {
	return ob.orasPush(ctx, t, filepath.Dir(ob.ball), ob.digest)
}

// tarPush times "tar czf" and then oras on what it made, in a fresh folder.
func (ob *orasBuild) tarPush(ctx context.Context, t *tools, sk *genSkill, round int) (tar, push timing, err error) {
	dir := filepath.Join(ob.dir, fmt.Sprintf("round-%d", round))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return tar, push, err
	}
	defer os.RemoveAll(dir)
	if tar, err = ob.tar(ctx, t, sk, dir); err != nil {
		return tar, push, err
	}
	push, err = ob.orasPush(ctx, t, dir, "")
	return tar, push, err
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
