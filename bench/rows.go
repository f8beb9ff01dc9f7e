package main

import (
	"fmt"
	"strconv"
	"time"
)

// The rows of the table, one function per section: what each figure is,
// and the notes that say how it was taken.

func reportBuild(rep *report, cfg config, sk *genSkill, s *buildSamples) {
	rep.group = "build"
	rep.note("Skill: %d files, %.1f MiB (%d text files, %.1f MiB; %d binary-ish assets, %.1f MiB; SKILL.md); seed %d",
		len(sk.Files), mib(sk.Bytes), sk.TextFiles, mib(sk.TextBytes), sk.BinFiles, mib(sk.BinBytes), cfg.seed)
	n := fmt.Sprintf("%d runs after 1 warm-up", cfg.runs)
	if len(s.Floor) > 0 {
		same := "identical to skilldock's layer"
		if !s.SameLayer {
			same = "NOT identical to skilldock's layer: the ratio compares different work"
		}
		rep.note("Layer: %.1f MiB gzip (%.0f%% of input), %s; floor output %s", mib(s.LayerSize),
			100*float64(s.LayerSize)/float64(sk.Bytes), s.LayerDigest, same)
		rep.row("Floor: tar → gzip → sha256, one in-process pass (MB/s)",
			summarize(throughputs(sk.Bytes, walls(s.Floor))), "%.1f", fmt.Sprintf("%s; median %s", n, wallCPU(s.Floor)))
		rep.row("skilldock build, in-process `service.Build` (MB/s)",
			summarize(throughputs(sk.Bytes, walls(s.InProc))), "%.1f", fmt.Sprintf("fresh store each run; median %s", wallCPU(s.InProc)))
		rep.row("skilldock build, binary incl. process start (MB/s)",
			summarize(throughputs(sk.Bytes, walls(s.Binary))), "%.1f", fmt.Sprintf("`skilldock build DIR --store TMP`; median %s", wallCPU(s.Binary)))
		if len(s.Oras) > 0 {
			rep.row("oras: `oras push --oci-layout` of a tarball made beforehand (MB/s)",
				summarize(throughputs(sk.Bytes, walls(s.Oras))), "%.1f",
				fmt.Sprintf("EXCLUDES making the tarball (`tar czf`, once, before the runs; %.1f MiB); MB/s of the same %.1f MiB of files; median %s",
					mib(s.TarballSize), mib(sk.Bytes), wallCPU(s.Oras)))
			rep.row("oras incl. tarball: `tar czf` + `oras push --oci-layout` (MB/s)",
				summarize(throughputs(sk.Bytes, walls(s.TarOras))), "%.1f",
				fmt.Sprintf("median tar czf %s; then oras %s", wallCPU(s.Tar), wallCPU(s.OrasAfterTar)))
		}
		rep.row("Ratio in-process build / floor",
			summarize(pairedRatios(walls(s.Floor), walls(s.InProc))), "%.2f", "throughput ratio (wall clock), paired per round; 1.00 = at the floor")
		rep.row("Ratio in-process build / floor, by CPU time",
			summarize(pairedRatios(cpus(s.Floor), cpus(s.InProc))), "%.2f", "floor CPU ÷ build CPU, paired per round; insensitive to waiting for a core")
		rep.row("Ratio binary build / floor",
			summarize(pairedRatios(walls(s.Floor), walls(s.Binary))), "%.2f", "throughput ratio (wall clock), paired per round")
		if len(s.Oras) > 0 {
			rep.row("Ratio binary build / oras push of a ready tarball",
				summarize(pairedRatios(walls(s.Oras), walls(s.Binary))), "%.2f",
				fmt.Sprintf("speed ratio, paired per round; by CPU %.2f; oras only hashes and copies a tarball that already exists", summarize(pairedRatios(cpus(s.Oras), cpus(s.Binary))).Med))
			rep.row("Ratio binary build / oras incl. tarball",
				summarize(pairedRatios(walls(s.TarOras), walls(s.Binary))), "%.2f",
				fmt.Sprintf("speed ratio, paired per round; by CPU %.2f; above 1 = skilldock faster", summarize(pairedRatios(cpus(s.TarOras), cpus(s.Binary))).Med))
		}
	}
	rep.group = "rss"
	rss := summarize(mibs(s.RSS))
	verdict := "met"
	if rss.Med >= 64 {
		verdict = "NOT met"
	}
	rep.row(fmt.Sprintf("Peak RSS, `skilldock build` of the %d MiB skill (MiB)", cfg.sizeMiB), rss, "%.1f",
		fmt.Sprintf("ru_maxrss of the child, %d runs; target < 64 MiB: %s", len(s.RSS), verdict))
}

func reportStartup(rep *report, cfg config, s *startupSamples) {
	rep.group = "startup"
	n := fmt.Sprintf("%d runs after 1 warm-up, alternating with", cfg.startupRuns)
	rep.row("Start-up: `skilldock --help` (ms)", summarize(millis(walls(s.Skilldock))), "%.1f",
		fmt.Sprintf("%s the hello; median CPU %.1f ms; peak RSS %.1f MiB", n, summarize(millis(cpus(s.Skilldock))).Med, summarize(mibs(s.SkilldockRSS)).Med))
	rep.row("Start-up: hello-world Go binary (ms)", summarize(millis(walls(s.Hello))), "%.1f",
		fmt.Sprintf("%s `skilldock --help`; same Go toolchain; median CPU %.1f ms; peak RSS %.1f MiB", n, summarize(millis(cpus(s.Hello))).Med, summarize(mibs(s.HelloRSS)).Med))
	rep.row("Ratio start-up, skilldock / hello", summarize(pairedRatios(walls(s.Hello), walls(s.Skilldock))), "%.2f",
		"speed ratio, paired per round; 1.00 = starts as fast as an empty Go program")
}

func reportRemote(rep *report, cfg config, ss *storedSkill, s *remoteSamples) {
	rep.group = "remote"
	what := fmt.Sprintf("%.1f MiB skill, layer %.1f MiB", mib(ss.sk.Bytes), mib(ss.layerSize))
	rep.row(fmt.Sprintf("`skilldock push` of the %d MiB skill to the local registry (ms)", cfg.remoteSizeMiB),
		summarize(millis(walls(s.Push))), "%.0f",
		fmt.Sprintf("%s + 2 configs, 2 manifests, index; a new repository each run, so every blob is uploaded; %d runs after 1 warm-up; median %s, %.0f MB/s of layer; peak RSS %.1f MiB",
			what, cfg.runs, wallCPU(s.Push), float64(ss.layerSize)/1e6/summarize(seconds(walls(s.Push))).Med, summarize(mibs(s.PushRSS)).Med))
	rep.row("`oras push --plain-http` of the same layer bytes (ms)",
		summarize(millis(walls(s.OrasPush))), "%.0f",
		fmt.Sprintf("skilldock's layer blob as skill.tgz (+ empty config, manifest); a new repository each run; median %s", wallCPU(s.OrasPush)))
	rep.row("Ratio push, skilldock / oras", summarize(pairedRatios(walls(s.OrasPush), walls(s.Push))), "%.2f",
		fmt.Sprintf("speed ratio, paired per round, who goes first alternating; by CPU %.2f", summarize(pairedRatios(cpus(s.OrasPush), cpus(s.Push))).Med))
	rep.row(fmt.Sprintf("`skilldock pull` of the %d MiB skill into a new store (ms)", cfg.remoteSizeMiB),
		summarize(millis(walls(s.Pull))), "%.0f",
		fmt.Sprintf("a store that does not exist yet, so every blob is downloaded; median %s, %.0f MB/s of layer; peak RSS %.1f MiB",
			wallCPU(s.Pull), float64(ss.layerSize)/1e6/summarize(seconds(walls(s.Pull))).Med, summarize(mibs(s.PullRSS)).Med))
	rep.row("`oras pull --plain-http` of the same layer bytes into a new folder (ms)",
		summarize(millis(walls(s.OrasPull))), "%.0f", fmt.Sprintf("median %s", wallCPU(s.OrasPull)))
	rep.row("Ratio pull, skilldock / oras", summarize(pairedRatios(walls(s.OrasPull), walls(s.Pull))), "%.2f",
		fmt.Sprintf("speed ratio, paired per round, who goes first alternating; by CPU %.2f", summarize(pairedRatios(cpus(s.OrasPull), cpus(s.Pull))).Med))
}

func reportInstall(rep *report, cfg config, ss *storedSkill, s *installSamples) {
	rep.group = "install"
	rep.row(fmt.Sprintf("`skilldock install` of the cached %d MiB skill (ms)", cfg.remoteSizeMiB),
		summarize(millis(walls(s.Install))), "%.0f",
		fmt.Sprintf("`skilldock install %s --client claude-code`, HOME in a temp dir, the build in the store; a new install each run; %d runs after 1 warm-up; median %s; peak RSS %.1f MiB",
			ss.tag, cfg.runs, wallCPU(s.Install), summarize(mibs(s.RSS)).Med))
	rep.row("`cp -r` of the same files (ms)", summarize(millis(walls(s.Copy))), "%.0f",
		fmt.Sprintf("%d files, %.1f MiB, from the page cache to a new folder; median %s", len(ss.sk.Files), mib(ss.sk.Bytes), wallCPU(s.Copy)))
	rep.row("Ratio install, skilldock / cp -r", summarize(pairedRatios(walls(s.Copy), walls(s.Install))), "%.2f",
		fmt.Sprintf("speed ratio, paired per round, who goes first alternating; by CPU %.2f", summarize(pairedRatios(cpus(s.Copy), cpus(s.Install))).Med))
}

func reportRSS(rep *report, cfg config, ss *storedSkill, s *rssSamples) {
	rep.group = "rss"
	n := fmt.Sprintf("ru_maxrss of the child, %d runs after 1 warm-up", cfg.runs)
	if len(s.PushRSS) > 0 {
		rep.row(fmt.Sprintf("Peak RSS, `skilldock push` of the %d MiB skill (MiB)", cfg.sizeMiB), summarize(mibs(s.PushRSS)), "%.1f",
			fmt.Sprintf("%s; layer %.1f MiB to a new repository each run; median %s", n, mib(ss.layerSize), wallCPU(s.Push)))
		rep.row(fmt.Sprintf("Peak RSS, `skilldock pull` of the %d MiB skill (MiB)", cfg.sizeMiB), summarize(mibs(s.PullRSS)), "%.1f",
			fmt.Sprintf("%s; into a new store each run; median %s", n, wallCPU(s.Pull)))
	}
	if len(s.PushRSS) == 0 {
		rep.note("Peak RSS of push and pull: not measured, $SKILLDOCK_TEST_REGISTRY is not set (run `make bench`)")
	}
	rep.row(fmt.Sprintf("Peak RSS, `skilldock install` of the %d MiB skill (MiB)", cfg.sizeMiB), summarize(mibs(s.InstallRSS)), "%.1f",
		fmt.Sprintf("%s; from the store, a new install each run; median %s", n, wallCPU(s.Install)))
}

func reportList(rep *report, cfg config, samples []listSample) {
	rep.group = "list"
	for _, ls := range samples {
		p := ls.Populate
		how := fmt.Sprintf("%d builds added by `service.Build` in %.1f s (last ones %.1f ms each)",
			p.Service, p.ServiceElapsed.Seconds(), ms(p.ServiceLast))
		if p.Fast > 0 {
			how += fmt.Sprintf(", then the budget ran out: %d more by `pack.Build` + one `UpdateIndex` in %.1f s", p.Fast, p.FastElapsed.Seconds())
		}
		hinted := fmt.Sprintf("all %s carry listing hints", thousands(p.Hinted))
		if p.Hinted != ls.Builds {
			hinted = fmt.Sprintf("only %s of %s carry listing hints", thousands(p.Hinted), thousands(ls.Builds))
		}
		how += "; " + hinted
		rep.row(fmt.Sprintf("`skilldock builds --output json`, %s builds (ms)", thousands(ls.Builds)),
			summarize(millis(walls(ls.Binary))), "%.0f",
			fmt.Sprintf("binary incl. process start; median %s; peak RSS %.1f MiB; %s", wallCPU(ls.Binary), summarize(mibs(ls.BinaryRSS)).Med, how))
		rep.row(fmt.Sprintf("`service.ListBuilds` in-process, %s builds (ms)", thousands(ls.Builds)),
			summarize(millis(ls.InProc)), "%.1f", fmt.Sprintf("%d runs after 1 warm-up", cfg.runs))
		rep.row(fmt.Sprintf("`service.Build` of one tiny skill into a store of %s builds (ms)", thousands(ls.Builds)),
			summarize(millis(ls.OneBuild)), "%.1f", "each build rewrites the whole index.json")
	}
}

// wallCPU is "1.23 s wall, 1.10 s CPU": the two medians of a set of runs.
func wallCPU(ts []timing) string {
	return fmt.Sprintf("%.2f s wall, %.2f s CPU", summarize(seconds(walls(ts))).Med, summarize(seconds(cpus(ts))).Med)
}

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
