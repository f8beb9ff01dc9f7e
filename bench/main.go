// Command bench measures skilldock from one run and prints one markdown
// table:
//
//   - build throughput of a generated 90 MiB skill, in-process (service.Build)
//     and through the real binary, beside the machine's own floor for the same
//     files (tar, gzip and sha256 in one in-process pass), alternating runs;
//   - peak RSS of the real binary building that skill;
//   - the time "skilldock builds" takes with 100, 1,000 and 10,000 builds in
//     the store, as a process and in-process, and what one more build costs
//     at each of those sizes.
//
// Run it from the module root:
//
//	go run ./bench [-runs 5] [-only build|rss|list] [-size 90] [-out FILE]
//
// Progress goes to stderr; stdout carries only the report. docs/performance.md
// explains the method and the figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	runs           int
	only           string
	out            string
	sizeMiB        int
	seed           uint64
	listSizes      []int
	populateBudget time.Duration
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var sizes string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&cfg.runs, "runs", 5, "measured runs of each measurement (after one warm-up run)")
	fs.StringVar(&cfg.only, "only", "", "run one section: build, rss or list (default all)")
	fs.StringVar(&cfg.out, "out", "", "also write the markdown report to this file")
	fs.IntVar(&cfg.sizeMiB, "size", 90, "size of the generated skill, MiB")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated content")
	fs.StringVar(&sizes, "builds", "100,1000,10000", "store sizes (builds) at which to time the listing, increasing")
	fs.DurationVar(&cfg.populateBudget, "populate-budget", 3*time.Minute,
		"longest service.Build may spend filling the store to one size; the remaining builds are written through one session and one index update")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.runs < 1 {
		return cfg, errors.New("-runs must be at least 1")
	}
	switch cfg.only {
	case "", "build", "rss", "list":
	default:
		return cfg, fmt.Errorf("-only %q: use build, rss or list", cfg.only)
	}
	if cfg.sizeMiB < 1 {
		return cfg, errors.New("-size must be at least 1 (MiB)")
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("-builds %q: want increasing counts like 100,1000,10000", sizes)
		}
		cfg.listSizes = append(cfg.listSizes, n)
	}
	return cfg, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, cfg config) error {
	// Everything (binary, skill, stores) lives under one temporary folder that
	// is removed at the end, even after an interrupt.
	work, err := os.MkdirTemp("", "skilldock-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	rep := &report{}
	rep.note("**skilldock benchmark**, %s", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	rep.note("Machine: %s; temp dir %s on %s", machine(), os.TempDir(), fsType(work))
	rep.note("Command: `%s`", commandLine())
	loadStart := loadAverage()

	progress("building the skilldock binary")
	bin, err := buildBinary(ctx, work)
	if err != nil {
		return err
	}

	if cfg.only == "" || cfg.only == "build" || cfg.only == "rss" {
		progress("generating a %d MiB skill (seed %d)", cfg.sizeMiB, cfg.seed)
		sk, err := generateSkill(work, int64(cfg.sizeMiB)<<20, cfg.seed)
		if err != nil {
			return err
		}
		scratch := filepath.Join(work, "stores")
		s, err := benchBuild(ctx, cfg, bin, sk, scratch, cfg.only != "rss")
		if err != nil {
			return err
		}
		reportBuild(rep, cfg, sk, s)
	}
	if cfg.only == "" || cfg.only == "list" {
		samples, err := benchList(ctx, cfg, bin, work)
		if err != nil {
			return err
		}
		reportList(rep, cfg, samples)
	}

	// Other work on a shared machine shows up here first.
	rep.note("Load average (1, 5, 15 min): %s at start, %s at end", loadStart, loadAverage())
	md := rep.markdown()
	fmt.Print(md)
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(md), 0o644)
	}
	return nil
}

func reportBuild(rep *report, cfg config, sk *genSkill, s *buildSamples) {
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
		rep.row("Ratio in-process build / floor",
			summarize(pairedRatios(walls(s.Floor), walls(s.InProc))), "%.2f", "throughput ratio (wall clock), paired per round; 1.00 = at the floor")
		rep.row("Ratio in-process build / floor, by CPU time",
			summarize(pairedRatios(cpus(s.Floor), cpus(s.InProc))), "%.2f", "floor CPU ÷ build CPU, paired per round; insensitive to waiting for a core")
		rep.row("Ratio binary build / floor",
			summarize(pairedRatios(walls(s.Floor), walls(s.Binary))), "%.2f", "throughput ratio (wall clock), paired per round")
	}
	rss := summarize(mibs(s.RSS))
	verdict := "met"
	if rss.Med >= 64 {
		verdict = "NOT met"
	}
	rep.row(fmt.Sprintf("Peak RSS, `skilldock build` of the %d MiB skill (MiB)", cfg.sizeMiB), rss, "%.1f",
		fmt.Sprintf("ru_maxrss of the child, %d runs; target < 64 MiB: %s", len(s.RSS), verdict))
}

func reportList(rep *report, cfg config, samples []listSample) {
	for _, ls := range samples {
		p := ls.Populate
		how := fmt.Sprintf("%d builds added by `service.Build` in %.1f s (last ones %.1f ms each)",
			p.Service, p.ServiceElapsed.Seconds(), ms(p.ServiceLast))
		if p.Fast > 0 {
			how += fmt.Sprintf(", then the budget ran out: %d more by `pack.Build` + one `UpdateIndex` in %.1f s", p.Fast, p.FastElapsed.Seconds())
		}
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

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

// fsType names the filesystem the stores are written to: fsync, which every
// build pays, costs very different amounts on ext4, tmpfs or overlayfs.
func fsType(path string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return "unknown filesystem"
	}
	switch st.Type {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs"
	case 0x794c7630:
		return "overlayfs"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	}
	return fmt.Sprintf("filesystem 0x%x", st.Type)
}
