package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// helloSource is the start-up floor: the least a Go program does before it
// can do anything, built with the same toolchain as skilldock.
const helloSource = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

// buildHello compiles the hello-world program once, in a module of its own.
func buildHello(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(helloSource), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hello")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build hello: %v\n%s", err, msg)
	}
	return bin, nil
}

// startupSamples are "skilldock --help" and the hello-world program, one
// pair per round.
type startupSamples struct {
	Skilldock, Hello       []timing
	SkilldockRSS, HelloRSS []int64
}

// benchStartup alternates the two programs, swapping who goes first every
// round, after one warm-up pair.
func benchStartup(ctx context.Context, cfg config, t *tools, hello string) (*startupSamples, error) {
	s := &startupSamples{}
	for round := 0; round <= cfg.startupRuns; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var sd, hw procResult
		steps := []func() error{
			func() (err error) {
				sd, err = t.skilldock(ctx, "--help")
				if err == nil && !strings.Contains(string(sd.Stdout), "Usage:") {
					err = fmt.Errorf("skilldock --help printed no usage: %q", sd.Stdout)
				}
				return err
			},
			func() (err error) { hw, err = t.run(ctx, proc{path: hello}); return err },
		}
		if round%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, f := range steps {
			if err := f(); err != nil {
				return nil, err
			}
		}
		if round == 0 {
			continue
		}
		s.Skilldock, s.Hello = append(s.Skilldock, sd.Elapsed), append(s.Hello, hw.Elapsed)
		s.SkilldockRSS, s.HelloRSS = append(s.SkilldockRSS, sd.MaxRSS), append(s.HelloRSS, hw.MaxRSS)
	}
	progress("start-up: skilldock --help %.1f ms, hello %.1f ms (medians of %d)", summarize(millis(walls(s.Skilldock))).Med,
		summarize(millis(walls(s.Hello))).Med, cfg.startupRuns)
	return s, nil
}
