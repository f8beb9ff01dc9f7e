package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// summary is the median, min and max of a set of samples.
type summary struct{ Med, Min, Max float64 }

func summarize(xs []float64) summary {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return summary{}
	}
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return summary{Med: med, Min: s[0], Max: s[n-1]}
}

// throughputs turns durations into MB/s (10^6 bytes per second) of the
// skill's uncompressed file bytes.
func throughputs(bytes int64, ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(bytes) / 1e6 / d.Seconds()
	}
	return out
}

// pairedRatios compare each round's build with the floor of the same round:
// throughput ratio = floor time / build time. Pairing is why the runs
// alternate: a slow moment on the shared machine slows both sides of a pair.
func pairedRatios(floor, build []time.Duration) []float64 {
	out := make([]float64, len(floor))
	for i := range floor {
		out[i] = floor[i].Seconds() / build[i].Seconds()
	}
	return out
}

func millis(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

func mibs(ns []int64) []float64 {
	out := make([]float64, len(ns))
	for i, n := range ns {
		out[i] = mib(n)
	}
	return out
}

// report is the markdown the benchmark prints: a few lines on when, where and
// how, then one table. Rows are grouped so the table reads in the same
// order whichever sections ran, and in whatever order they ran.
type report struct {
	header []string
	group  string // of the rows added next
	rows   map[string][][5]string
}

// groupOrder is the order of the table's groups.
var groupOrder = []string{"build", "remote", "install", "startup", "rss", "list"}

func (r *report) note(format string, args ...any) {
	r.header = append(r.header, fmt.Sprintf(format, args...))
}

// row adds a measurement to the current group; f formats each of median,
// min and max.
func (r *report) row(name string, s summary, f string, notes string) {
	if r.rows == nil {
		r.rows = map[string][][5]string{}
	}
	r.rows[r.group] = append(r.rows[r.group], [5]string{name, fmt.Sprintf(f, s.Med), fmt.Sprintf(f, s.Min), fmt.Sprintf(f, s.Max), notes})
}

func (r *report) markdown() string {
	var b strings.Builder
	for _, h := range r.header {
		b.WriteString(h + "  \n")
	}
	b.WriteString("\n| Measurement | Median | Min | Max | Notes |\n|---|---:|---:|---:|---|\n")
	groups := slices.Clone(groupOrder)
	for g := range r.rows {
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	for _, g := range groups {
		for _, row := range r.rows[g] {
			b.WriteString("| " + strings.Join(row[:], " | ") + " |\n")
		}
	}
	return b.String()
}

// machine describes where the numbers come from: they mean little without it.
func machine() string {
	return fmt.Sprintf("%d CPUs (nproc), %s, %s, %s %s/%s",
		runtime.NumCPU(), cpuModel(), memTotal(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name", "unknown CPU")
}

func memTotal() string {
	v := procField("/proc/meminfo", "MemTotal", "")
	var kib int64
	if _, err := fmt.Sscanf(v, "%d kB", &kib); err != nil {
		return "unknown RAM"
	}
	return fmt.Sprintf("%.0f GiB RAM", float64(kib)/(1<<20))
}

func procField(path, key, def string) string {
	f, err := os.Open(path)
	if err != nil {
		return def
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return def
}

// commandLine is how to run this again, as markdown. Under "go run"
// os.Args[0] is a throwaway path, so it is shown as the command people type.
func commandLine() string {
	name := os.Args[0]
	if strings.Contains(name, "go-build") {
		name = "go run ./bench"
	}
	args := []string{name}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t'\"") {
			a = strconv.Quote(a)
		}
		args = append(args, a)
	}
	cmd := "`" + strings.Join(args, " ") + "`"
	// make exports MAKELEVEL; "make bench" is the only target that runs this.
	if os.Getenv("MAKELEVEL") != "" && os.Getenv("SKILLDOCK_TEST_REGISTRY") != "" {
		cmd = "`make bench` (that is `scripts/test-deps.sh`, then `scripts/with-registries.sh " + strings.Trim(cmd, "`") + "`)"
	}
	return cmd
}

// The results in docs/performance.md sit between these two lines, which the
// benchmark rewrites and leaves everything else alone.
const (
	resultsBegin = "<!-- bench results: begin; written by go run ./bench, edit outside the markers -->"
	resultsEnd   = "<!-- bench results: end -->"
)

// replaceResults puts md between the markers in the file at path.
func replaceResults(path, md string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(b)
	i := strings.Index(text, resultsBegin)
	j := strings.Index(text, resultsEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no results markers (%q, then %q); the report was not written there", path, resultsBegin, resultsEnd)
	}
	text = text[:i+len(resultsBegin)] + "\n" + md + "\n" + text[j:]
	return os.WriteFile(path, []byte(text), 0o644)
}
