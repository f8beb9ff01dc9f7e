package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skilldock/skilldock/internal/api"
	"github.com/skilldock/skilldock/internal/testutil"
)

// patience bounds every wait in these tests, so a broken server fails the
// test instead of hanging it; nothing is timed.
const patience = 30 * time.Second

// serveInProcess runs Serve on a loopback listener until the returned
// cancel is called; the channel yields Serve's result.
func serveInProcess(t *testing.T, cfg api.Config) (url string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- srv.Serve(ctx, l) }()
	t.Cleanup(cancel)
	return api.URL(l.Addr()), cancel, ch
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	e := newEnv(t, t.TempDir())
	entered, release := make(chan struct{}), make(chan struct{})
	url, stop, done := serveInProcess(t, api.Config{
		Service: e.service(t),
		// The probe is the one hook that can hold a request open without
		// standing in for the façade.
		Ready: func(context.Context) error {
			close(entered)
			<-release
			return nil
		},
	})
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	wait(t, entered, "the request to arrive")
	stop()
	// New connections are refused once shutdown has begun.
	deadline := time.Now().Add(patience)
	for {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener stayed open after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) before the request in flight finished", err)
	default:
	}
	close(release)
	if code := wait(t, got, "the response"); code != 200 {
		t.Errorf("the request in flight got %d, want 200", code)
	}
	if err := wait(t, done, "Serve to return"); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestShutdownGivesUpAfterTheGracePeriod(t *testing.T) {
	e := newEnv(t, t.TempDir())
	entered := make(chan struct{})
	url, stop, done := serveInProcess(t, api.Config{
		Service:         e.service(t),
		ShutdownTimeout: 50 * time.Millisecond,
		Ready: func(ctx context.Context) error {
			close(entered)
			<-ctx.Done() // only the end of the grace period ends this
			return ctx.Err()
		},
	})
	go func() {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
		}
	}()
	wait(t, entered, "the request to arrive")
	stop()
	if err := wait(t, done, "Serve to give up"); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServeAndServerFlagsRefuseBadUsage(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	empty := filepath.Join(e.root, "empty-token")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--socket", filepath.Join(e.root, "s.sock")},
		{"--server", "http://127.0.0.1:1", "serve"},
		{"--token", "abc", "serve"},
		{"serve", "--token-file", empty},
		{"serve", "--token-file", filepath.Join(e.root, "missing")},
		{"serve", "extra"},
		{"--store", e.store, "--server", "http://127.0.0.1:1", "builds"},
		{"--server", "127.0.0.1:8080", "builds"},
	} {
		r := runCLI(args...)
		if r.code != 2 || !strings.HasPrefix(r.errOut, "skilldock: ") {
			t.Errorf("skilldock %s: exit %d, want 2: %s", strings.Join(args, " "), r.code, r.errOut)
		}
	}
}

// server is a "skilldock serve" process.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

var listening = regexp.MustCompile(`listening on (\S+)`)

// startServe runs the binary's serve command and waits for its address.
func startServe(t *testing.T, e *env, args ...string) *server {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t), append([]string{"--store", e.store, "serve"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+e.home, "XDG_STATE_HOME="+e.state, "XDG_CONFIG_HOME="+e.config)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &syncBuffer{}}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			s.stderr.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
	}()
	select {
	case s.url = <-found:
	case <-time.After(patience):
		t.Fatalf("skilldock serve printed no address:\n%s", s.stderr.String())
	}
	return s
}

// stop signals the process and returns its exit code.
func (s *server) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	err := wait(t, exited, "skilldock serve to exit")
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func TestServeCommandServesAndExitsCleanlyOnSIGTERM(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	s := startServe(t, e, "--addr", "127.0.0.1:0")
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") {
		t.Fatalf("address %q", s.url)
	}
	resp, err := http.Get(s.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	dir := e.skill(t, "hello")
	if r := runCLI("--server", s.url, "build", dir); r.code != 0 || !strings.HasPrefix(r.out, "hello\tsha256:") {
		t.Errorf("build through the process: %+v", r)
	}
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0:\n%s", code, s.stderr.String())
	}
	for _, want := range []string{"msg=request", "method=POST", "route=/api/skilldock/v1/build", "status=200", "msg=stopped"} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, s.stderr.String())
		}
	}
}

func TestServeCommandOnAUnixSocket(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	sock := filepath.Join(t.TempDir(), "sd.sock")
	s := startServe(t, e, "--socket", sock)
	if s.url != "unix://"+sock {
		t.Errorf("address %q", s.url)
	}
	if info, err := os.Stat(sock); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("socket: %v %v", info, err)
	}
	if r := runCLI("--server", s.url, "builds", "-q"); r.code != 0 {
		t.Errorf("builds over the socket: %+v", r)
	}
	if code := s.stop(t, os.Interrupt); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0:\n%s", code, s.stderr.String())
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket outlived the server: %v", err)
	}
}

func TestServeCommandOffLoopbackDemandsAToken(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	s := startServe(t, e, "--addr", "0.0.0.0:0")
	token := regexp.MustCompile(`(?m)^[0-9a-f]{64}$`).FindString(s.stderr.String())
	if token == "" {
		t.Fatalf("no generated token on stderr:\n%s", s.stderr.String())
	}
	local := "http://127.0.0.1:" + s.url[strings.LastIndex(s.url, ":")+1:]
	if r := runCLI("--server", local, "builds"); r.code != 1 || !strings.Contains(r.errOut, "token") {
		t.Errorf("without the token: %+v", r)
	}
	if r := runCLI("--server", local, "--token", token, "builds"); r.code != 0 {
		t.Errorf("with the token: %+v", r)
	}
	t.Setenv("SKILLDOCK_TOKEN", token)
	if r := runCLI("--server", local, "builds"); r.code != 0 {
		t.Errorf("with SKILLDOCK_TOKEN: %+v", r)
	}
	if code := s.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d", code)
	}
	if n := strings.Count(s.stderr.String(), token); n != 1 {
		t.Errorf("the token was printed %d times", n)
	}
}

func TestServeCommandReadsTheTokenFile(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.useEnv(t)
	file := filepath.Join(e.root, "token")
	if err := os.WriteFile(file, []byte("file-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, e, "--addr", "127.0.0.1:0", "--token-file", file)
	if r := runCLI("--server", s.url, "builds"); r.code != 1 {
		t.Errorf("without the token: %+v", r)
	}
	if r := runCLI("--server", s.url, "--token", "file-token-0123456789", "builds"); r.code != 0 {
		t.Errorf("with the token: %+v", r)
	}
	s.stop(t, syscall.SIGTERM)
	if strings.Contains(s.stderr.String(), "file-token") {
		t.Errorf("the token reached the log:\n%s", s.stderr.String())
	}
}
