package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// rssSamples are the binary's push, pull and install of the big skill, for
// their peak RSS (the build's comes from the build section's binary runs).
type rssSamples struct {
	Push, Pull, Install          []timing
	PushRSS, PullRSS, InstallRSS []int64
}

// benchRSS pushes the stored skill to a new repository, pulls it into a new
// store and installs it into a home of its own, round after round. Without
// a registry only the install runs.
func benchRSS(ctx context.Context, cfg config, t *tools, ss *storedSkill, scratch string) (*rssSamples, error) {
	s := &rssSamples{}
	names := newRemoteNames(t.registry)
	home := filepath.Join(scratch, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	for round := 0; round <= cfg.runs; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var push, pull procResult
		if t.registry != "" {
			ref := names.ref("rss", "skilldock", round)
			var err error
			if push, err = skilldockPush(ctx, t, ss, ss.store, ref); err != nil {
				return nil, err
			}
			if pull, err = skilldockPull(ctx, t, ss.indexDigest, filepath.Join(scratch, fmt.Sprintf("pull-%d", round)), ref); err != nil {
				return nil, err
			}
		}
		inst, err := installAndCheck(ctx, t, ss, home, ss.store)
		if err != nil {
			return nil, err
		}
		if err := uninstall(ctx, t, home); err != nil {
			return nil, err
		}
		progress("round %d/%d: peak RSS push %.1f MiB (%s), pull %.1f MiB (%s), install %.1f MiB (%s)", round, cfg.runs,
			mib(push.MaxRSS), push.Elapsed.Wall.Round(time.Millisecond), mib(pull.MaxRSS), pull.Elapsed.Wall.Round(time.Millisecond),
			mib(inst.MaxRSS), inst.Elapsed.Wall.Round(time.Millisecond))
		if round == 0 {
			continue
		}
		if t.registry != "" {
			s.Push, s.PushRSS = append(s.Push, push.Elapsed), append(s.PushRSS, push.MaxRSS)
			s.Pull, s.PullRSS = append(s.Pull, pull.Elapsed), append(s.PullRSS, pull.MaxRSS)
		}
		s.Install, s.InstallRSS = append(s.Install, inst.Elapsed), append(s.InstallRSS, inst.MaxRSS)
	}
	return s, nil
}
