package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skilldock/skilldock/internal/service"
)

// storedSkill is a generated skill built by the binary into a store of its
// own and tagged there, with a copy of its layer named skill.tgz: the same
// bytes, for the oras CLI to push.
type storedSkill struct {
	sk          *genSkill
	store       string
	tag         string // local build tag, "bench-skill:1"
	indexDigest string
	ball        string // copy of the layer blob, DIR/skill.tgz
	layer       digest.Digest
	layerSize   int64
}

// storeSkill builds the skill with the binary (untimed) into dir/store and
// copies its layer out for oras.
func storeSkill(ctx context.Context, t *tools, sk *genSkill, dir string) (*storedSkill, error) {
	ss := &storedSkill{sk: sk, store: filepath.Join(dir, "store"), tag: benchSkillName + ":1"}
	var err error
	if _, ss.indexDigest, err = binaryBuild(ctx, t, sk, ss.store, ss.tag); err != nil {
		return nil, err
	}
	svc, err := service.New(service.Config{StorePath: ss.store})
	if err != nil {
		return nil, err
	}
	ins, err := svc.Inspect(ctx, ss.tag)
	if err != nil {
		return nil, err
	}
	ss.layer, ss.layerSize = ins.Layer.Digest, ins.Layer.Size
	if err := os.MkdirAll(filepath.Join(dir, "oras"), 0o755); err != nil {
		return nil, err
	}
	ss.ball = filepath.Join(dir, "oras", "skill.tgz")
	if err := copyFile(svc.Store().BlobPath(ss.layer), ss.ball); err != nil {
		return nil, err
	}
	return ss, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// remoteSamples are push and pull, skilldock's and oras's, one per round.
type remoteSamples struct {
	Push, OrasPush, Pull, OrasPull []timing
	PushRSS, PullRSS               []int64
}

// remoteNames gives every push a repository of its own on the registry, so
// no blob is ever already there to skip: the nonce keeps two benchmark runs
// against the same registry apart, the round and tool keep the pushes of
// one run apart.
type remoteNames struct {
	registry, nonce string
}

func newRemoteNames(registry string) remoteNames {
	return remoteNames{registry: registry, nonce: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

func (n remoteNames) ref(section, tool string, round int) string {
	return fmt.Sprintf("%s/bench-%s/%s-%d/%s/%s:1", n.registry, n.nonce, section, round, tool, benchSkillName)
}

// benchRemote pushes the stored skill to the local registry and pulls it
// back, with skilldock and with the oras CLI on the same layer bytes, round
// after round. Who goes first alternates between rounds, so neither tool
// always meets a registry that has just been busy with the other.
func benchRemote(ctx context.Context, cfg config, t *tools, ss *storedSkill, scratch string) (*remoteSamples, error) {
	s := &remoteSamples{}
	names := newRemoteNames(t.registry)
	for round := 0; round <= cfg.runs; round++ {
		warm := round == 0
		sdRef, orasRef := names.ref("remote", "skilldock", round), names.ref("remote", "oras", round)
		var push, opush, pull, opull procResult
		pushes := []func() error{
			func() (err error) { push, err = skilldockPush(ctx, t, ss, ss.store, sdRef); return err },
			func() (err error) { opush, err = orasPush(ctx, t, ss, orasRef); return err },
		}
		pulls := []func() error{
			func() (err error) {
				pull, err = skilldockPull(ctx, t, ss.indexDigest, filepath.Join(scratch, fmt.Sprintf("pull-%d", round)), sdRef)
				return err
			},
			func() (err error) {
				opull, err = orasPull(ctx, t, ss, filepath.Join(scratch, fmt.Sprintf("oras-pull-%d", round)), orasRef)
				return err
			},
		}
		if round%2 == 1 {
			pushes[0], pushes[1] = pushes[1], pushes[0]
			pulls[0], pulls[1] = pulls[1], pulls[0]
		}
		for _, f := range append(pushes, pulls...) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := f(); err != nil {
				return nil, err
			}
		}
		progress("round %d/%d: push %s (oras %s), pull %s (oras %s)", round, cfg.runs,
			push.Elapsed.Wall.Round(time.Millisecond), opush.Elapsed.Wall.Round(time.Millisecond),
			pull.Elapsed.Wall.Round(time.Millisecond), opull.Elapsed.Wall.Round(time.Millisecond))
		if warm {
			continue
		}
		s.Push, s.OrasPush = append(s.Push, push.Elapsed), append(s.OrasPush, opush.Elapsed)
		s.Pull, s.OrasPull = append(s.Pull, pull.Elapsed), append(s.OrasPull, opull.Elapsed)
		s.PushRSS, s.PullRSS = append(s.PushRSS, push.MaxRSS), append(s.PullRSS, pull.MaxRSS)
	}
	return s, nil
}

// skilldockPush runs "skilldock push --store STORE TAG REF" and checks the
// digest it reports is the build's.
func skilldockPush(ctx context.Context, t *tools, ss *storedSkill, store, ref string) (procResult, error) {
	pr, err := t.skilldock(ctx, "push", "--store", store, ss.tag, ref, "--output", "json")
	if err != nil {
		return pr, err
	}
	var out service.PushResult
	if err := json.Unmarshal(pr.Stdout, &out); err != nil || out.Digest != ss.indexDigest {
		return pr, fmt.Errorf("skilldock push %s printed %q; want digest %s", ref, pr.Stdout, ss.indexDigest)
	}
	return pr, nil
}

// skilldockPull runs "skilldock pull REF" into a store that does not exist
// yet, so every blob is downloaded, checks the digest, and removes the store.
func skilldockPull(ctx context.Context, t *tools, want, store, ref string) (procResult, error) {
	pr, err := t.skilldock(ctx, "pull", "--store", store, ref, "--output", "json")
	if err != nil {
		return pr, err
	}
	var out service.PullResult
	if err := json.Unmarshal(pr.Stdout, &out); err != nil || out.Digest != want || out.Cached {
		return pr, fmt.Errorf("skilldock pull %s printed %q; want a download of %s", ref, pr.Stdout, want)
	}
	return pr, os.RemoveAll(store)
}

// orasPush runs "oras push --plain-http REF skill.tgz:TYPE" on the copy of
// skilldock's layer: the same bytes skilldock pushes as its layer.
func orasPush(ctx context.Context, t *tools, ss *storedSkill, ref string) (procResult, error) {
	return t.run(ctx, proc{path: t.oras, dir: filepath.Dir(ss.ball), args: []string{
		"push", "--plain-http", ref, filepath.Base(ss.ball) + ":" + orasLayerType}})
}

// orasPull runs "oras pull --plain-http REF -o DIR" into a folder that does
// not exist yet, checks the file it wrote is the layer, and removes it.
func orasPull(ctx context.Context, t *tools, ss *storedSkill, dir, ref string) (procResult, error) {
	pr, err := t.run(ctx, proc{path: t.oras, args: []string{"pull", "--plain-http", ref, "-o", dir}})
	if err != nil {
		return pr, err
	}
	f, err := os.Open(filepath.Join(dir, filepath.Base(ss.ball)))
	if err != nil {
		return pr, fmt.Errorf("oras pull %s: %w", ref, err)
	}
	d, err := digest.SHA256.FromReader(f)
	f.Close()
	if err != nil || d != ss.layer {
		return pr, fmt.Errorf("oras pull %s wrote %s, not the layer %s (%v)", ref, d, ss.layer, err)
	}
	return pr, os.RemoveAll(dir)
}
