// Command bench measures skilldock from one run and prints one markdown
// table:
//
//   - build throughput of a generated 90 MiB skill, in-process (service.Build)
//     and through the real binary, beside the machine's own floor for the same
//     files (tar, gzip and sha256 in one in-process pass) and beside the oras
//     CLI pushing a tarball of them into an OCI layout (with and without
//     making the tarball), alternating runs;
//   - "skilldock --help" start-up beside a hello-world Go program;
//   - push and pull of a generated 50 MiB skill to a local registry
//     ($SKILLDOCK_TEST_REGISTRY) beside the oras CLI on the same layer bytes;
//   - install of that skill from the store beside "cp -r" of its files;
//   - peak RSS of the real binary building, pushing, pulling and installing
//     the 90 MiB skill;
//   - the time "skilldock builds" takes with 100, 1,000 and 10,000 builds in
//     the store, as a process and in-process, and what one more build costs
//     at each of those sizes.
//
// Run it from the module root, with a registry (make bench starts one):
//
//	go run ./bench [-runs 5] [-only SECTION,...] [-size 90] [-out FILE]
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
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sections, in the order they run. The listing runs last: it fills the
// store with whatever is left of the run's budget.
var sections = []string{"startup", "build", "rss", "remote", "install", "list"}

type config struct {
	runs           int
	startupRuns    int
	only           map[string]bool // nil: every section
	out            string
	doc            string
	sizeMiB        int
	remoteSizeMiB  int
	seed           uint64
	listSizes      []int
	populateBudget time.Duration
	budget         time.Duration
}

// wants reports whether a section runs.
func (c config) wants(section string) bool { return c.only == nil || c.only[section] }

func parseFlags(args []string) (config, error) {
	var cfg config
	var sizes, only string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&cfg.runs, "runs", 5, "measured runs of each measurement (after one warm-up run)")
	fs.IntVar(&cfg.startupRuns, "startup-runs", 25, "measured runs of each start-up measurement (after one warm-up run)")
	fs.StringVar(&only, "only", "", "run only these sections, separated by commas: "+strings.Join(sections, ", ")+" (default all)")
	fs.StringVar(&cfg.out, "out", "", "also write the markdown report to this file")
	fs.StringVar(&cfg.doc, "doc", "auto",
		`replace the results between the markers in this markdown file; "auto" is docs/performance.md when every section runs, nothing with -only; "" never`)
	fs.IntVar(&cfg.sizeMiB, "size", 90, "size of the skill for build and peak RSS, MiB")
	fs.IntVar(&cfg.remoteSizeMiB, "remote-size", 50, "size of the skill for push, pull and install, MiB")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated content")
	fs.StringVar(&sizes, "builds", "100,1000,10000", "store sizes (builds) at which to time the listing, increasing")
	fs.DurationVar(&cfg.populateBudget, "populate-budget", 3*time.Minute,
		"longest service.Build may spend filling the store to one size; the remaining builds are written through one session and one index update")
	fs.DurationVar(&cfg.budget, "budget", 14*time.Minute,
		"wall time the whole run should fit in; the listing's populate budget shrinks to keep it")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.runs < 1 || cfg.startupRuns < 1 {
		return cfg, errors.New("-runs and -startup-runs must be at least 1")
	}
	if only != "" {
		cfg.only = map[string]bool{}
		for _, sec := range strings.Split(only, ",") {
			sec = strings.TrimSpace(sec)
			switch sec {
			case "push", "pull":
				sec = "remote"
			}
			if !slices.Contains(sections, sec) {
				return cfg, fmt.Errorf("-only %q: use one or more of %s, separated by commas", only, strings.Join(sections, ", "))
			}
			cfg.only[sec] = true
		}
	}
	if cfg.sizeMiB < 1 || cfg.remoteSizeMiB < 1 {
		return cfg, errors.New("-size and -remote-size must be at least 1 (MiB)")
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
	began := time.Now()
	// Everything (binaries, skills, stores, homes) lives under one temporary
	// folder that is removed at the end, even after an interrupt.
	work, err := os.MkdirTemp("", "skilldock-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	rep := &report{}
	rep.note("**skilldock benchmark**, %s", began.UTC().Format("2006-01-02 15:04 UTC"))
	rep.note("Machine: %s; temp dir %s on %s", machine(), os.TempDir(), fsType(work))
	rep.note("Command: %s; source %s", commandLine(), sourceRevision(ctx))
	loadStart := loadAverage()
	peak := watchLoad(ctx)

	t := &tools{home: filepath.Join(work, "home"), registry: os.Getenv("SKILLDOCK_TEST_REGISTRY")}
	t.oras, t.orasVer = findOras(ctx)
	if cfg.only != nil && t.registry == "" && cfg.wants("remote") {
		return errors.New("-only remote needs a registry: set SKILLDOCK_TEST_REGISTRY=HOST:PORT, or run scripts/with-registries.sh go run ./bench")
	}
	if cfg.only != nil && t.oras == "" && cfg.wants("remote") {
		return errors.New("-only remote needs the oras CLI; run scripts/test-deps.sh")
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	doc := cfg.doc
	if doc == "auto" {
		doc = ""
		if cfg.only == nil {
			doc = filepath.Join(root, "docs", "performance.md")
		}
	}
	if doc != "" {
		if _, err := os.Stat(doc); err != nil {
			return fmt.Errorf("-doc: %w", err) // now, not after a quarter of an hour
		}
	}
	if err := os.MkdirAll(t.home, 0o755); err != nil {
		return err
	}
	progress("building the skilldock binary")
	if t.bin, err = buildBinary(ctx, root, work); err != nil {
		return err
	}
	rep.note("%s", toolsNote(ctx, cfg, t))

	if cfg.wants("startup") {
		progress("start-up: building a hello-world Go program")
		hello, err := buildHello(ctx, filepath.Join(work, "hello"))
		if err != nil {
			return err
		}
		s, err := benchStartup(ctx, cfg, t, hello)
		if err != nil {
			return err
		}
		reportStartup(rep, cfg, s)
	}

	if cfg.wants("build") || cfg.wants("rss") {
		progress("generating a %d MiB skill (seed %d)", cfg.sizeMiB, cfg.seed)
		sk, err := generateSkill(work, int64(cfg.sizeMiB)<<20, cfg.seed)
		if err != nil {
			return err
		}
		s, err := benchBuild(ctx, cfg, t, sk, filepath.Join(work, "stores"), cfg.wants("build"))
		if err != nil {
			return err
		}
		reportBuild(rep, cfg, sk, s)
		if cfg.wants("rss") {
			ss, err := storeSkill(ctx, t, sk, filepath.Join(work, "rss"))
			if err != nil {
				return err
			}
			r, err := benchRSS(ctx, cfg, t, ss, filepath.Join(work, "rss"))
			if err != nil {
				return err
			}
			reportRSS(rep, cfg, ss, r)
		}
	}

	if cfg.wants("remote") || cfg.wants("install") {
		dir := filepath.Join(work, "skill50")
		progress("generating a %d MiB skill (seed %d) and building it into a store", cfg.remoteSizeMiB, cfg.seed)
		sk, err := generateSkill(filepath.Join(dir, "src"), int64(cfg.remoteSizeMiB)<<20, cfg.seed)
		if err != nil {
			return err
		}
		ss, err := storeSkill(ctx, t, sk, dir)
		if err != nil {
			return err
		}
		if cfg.wants("remote") {
			switch {
			case t.registry == "":
				rep.note("Push and pull: not measured, $SKILLDOCK_TEST_REGISTRY is not set (run `make bench`)")
			case t.oras == "":
				rep.note("Push and pull: not measured, the oras CLI is not installed (run scripts/test-deps.sh)")
			default:
				s, err := benchRemote(ctx, cfg, t, ss, filepath.Join(dir, "remote"))
				if err != nil {
					return err
				}
				reportRemote(rep, cfg, ss, s)
			}
		}
		if cfg.wants("install") {
			s, err := benchInstall(ctx, cfg, t, ss, filepath.Join(dir, "install"))
			if err != nil {
				return err
			}
			reportInstall(rep, cfg, ss, s)
		}
	}

	if cfg.wants("list") {
		samples, err := benchList(ctx, cfg, t, work, began.Add(cfg.budget))
		if err != nil {
			return err
		}
		reportList(rep, cfg, samples)
	}

	// Other work on a shared machine shows up here first.
	rep.note("Load average (1, 5, 15 min): %s at start, %s at end; highest 1-min load seen during the run %.2f (%d cores)",
		loadStart, loadAverage(), peak(), runtime.NumCPU())
	total := time.Since(began)
	within := "within"
	if total > cfg.budget {
		within = "OVER"
	}
	rep.note("Total wall time: %s (%s the %s budget; from start to report, not counting compiling the benchmark)",
		total.Round(time.Second), within, cfg.budget)
	md := rep.markdown()
	fmt.Print(md)
	if cfg.out != "" {
		if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if doc != "" {
		if err := replaceResults(doc, md); err != nil {
			return err
		}
		progress("results written into %s", doc)
	}
	return nil
}

// toolsNote names the programs measured beside skilldock and the registry.
func toolsNote(ctx context.Context, cfg config, t *tools) string {
	parts := []string{}
	if t.oras != "" {
		parts = append(parts, "oras "+t.orasVer)
	} else {
		parts = append(parts, "oras not installed (its rows are left out)")
	}
	if cfg.wants("build") {
		parts = append(parts, toolVersion(ctx, "tar")+" with "+toolVersion(ctx, "gzip"))
	}
	if cfg.wants("install") {
		parts = append(parts, toolVersion(ctx, "cp"))
	}
	if t.registry != "" {
		reg := "registry " + t.registry
		if v := toolVersion(ctx, "/usr/bin/docker-registry"); v != "unknown" {
			reg += " (" + v + ")"
		}
		parts = append(parts, reg)
	} else {
		parts = append(parts, "no registry ($SKILLDOCK_TEST_REGISTRY unset)")
	}
	return "Peers: " + strings.Join(parts, "; ")
}

// sourceRevision is the commit measured, and whether product code had
// uncommitted changes (bench/ and docs/ do not count: they are not
// measured).
func sourceRevision(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench", ":!docs").Output()
	var files []string
	for _, line := range strings.Split(string(st), "\n") {
		if err == nil && len(line) > 3 { // "XY path"
			files = append(files, line[3:])
		}
	}
	if len(files) > 0 {
		rev += " with uncommitted changes to " + strings.Join(files, ", ")
	}
	return rev
}

// watchLoad samples the 1-minute load average every few seconds until ctx
// ends; the function it returns gives the highest seen so far. Start and end
// alone can miss somebody else's build in the middle of the run.
func watchLoad(ctx context.Context) func() float64 {
	var mu sync.Mutex
	highest := 0.0
	sample := func() {
		b, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			return
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			mu.Lock()
			highest = max(highest, v)
			mu.Unlock()
		}
	}
	sample()
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	return func() float64 {
		sample()
		mu.Lock()
		defer mu.Unlock()
		return highest
	}
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
