package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The variables scripts/with-registries.sh exports. When they are set, tests
// share the two registries it started instead of starting their own.
const (
	RegistryEnv         = "SKILLDOCK_TEST_REGISTRY"
	RegistryAuthEnv     = "SKILLDOCK_TEST_REGISTRY_AUTH"
	RegistryUserEnv     = "SKILLDOCK_TEST_REGISTRY_USER"
	RegistryPasswordEnv = "SKILLDOCK_TEST_REGISTRY_PASSWORD"
)

// registryBin is where Debian's docker-registry package installs the CNCF
// distribution registry; elsewhere it is looked up on PATH.
const registryBin = "/usr/bin/docker-registry"

// registryStartTimeout bounds how long a registry may take to answer /v2/.
const registryStartTimeout = 20 * time.Second

// Registry returns a registry for the test: the one scripts/with-registries.sh
// started when its variables are set, else a registry process of the test's
// own, stopped when the test ends. With auth the registry demands the
// returned user and password (htpasswd); without, user and pass are empty.
// Registries are shared, so each test should push to a repository of its own
// (see Repo).
func Registry(t testing.TB, auth bool) (addr, user, pass string) {
	t.Helper()
	if auth {
		if a := os.Getenv(RegistryAuthEnv); a != "" {
			return a, os.Getenv(RegistryUserEnv), os.Getenv(RegistryPasswordEnv)
		}
	} else if a := os.Getenv(RegistryEnv); a != "" {
		return a, "", ""
	}
	r := StartRegistry(t, auth)
	return r.Addr, r.User, r.Password
}

// LocalRegistry is a docker-registry process started by a test.
type LocalRegistry struct {
	Addr     string // 127.0.0.1:PORT
	User     string // empty without auth
	Password string
	Dir      string // storage root

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	stop sync.Once

	// What launch was given, so that Restart can start the same registry.
	dir     string
	extra   string
	startFn func(config, logPath string) error
}

// StartRegistry starts a registry process of the test's own, whatever the
// environment says, and stops it when the test ends. Use it when the test
// must control the registry's lifetime (to stop it early); otherwise use
// Registry. A missing docker-registry skips the test unless
// SKILLDOCK_REQUIRE_TOOLS=1.
func StartRegistry(t testing.TB, auth bool) *LocalRegistry {
	t.Helper()
	bin := registryBin
	if _, err := os.Stat(bin); err != nil {
		bin = RequireTool(t, "docker-registry")
	}
	dir := t.TempDir()
	r := &LocalRegistry{Dir: filepath.Join(dir, "storage")}
	authYAML := ""
	want := http.StatusOK
	if auth {
		htpasswd := RequireTool(t, "htpasswd")
		r.User, r.Password = "skilldock", randomHex(t, 16)
		out, err := exec.Command(htpasswd, "-Bbn", r.User, r.Password).Output()
		if err != nil {
			t.Fatalf("htpasswd: %v", err)
		}
		file := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(file, out, 0o600); err != nil {
			t.Fatal(err)
		}
		authYAML = fmt.Sprintf("auth:\n  htpasswd:\n    realm: skilldock-test\n    path: %s\n", file)
		want = http.StatusUnauthorized
	}
	r.launch(t, "", dir, net.IPv4(127, 0, 0, 1), authYAML, func(config, logPath string) error {
		return r.start(bin, config, logPath, want)
	})
	return r
}

// launch writes a configuration for a free port on ip (extra as in
// RegistryConfig) into dir, starts the process with start and stops it when
// the test ends. A free port is found by binding :0 and closing; another
// process may take it before the registry binds it, so a lost race is
// retried. kind names the registry in the failure message.
func (r *LocalRegistry) launch(t testing.TB, kind, dir string, ip net.IP, extra string, start func(config, logPath string) error) {
	t.Helper()
	r.dir, r.extra, r.startFn = dir, extra, start
	for attempt := 1; ; attempt++ {
		port, err := freePortOn(ip)
		if err != nil {
			t.Fatal(err)
		}
		r.Addr = net.JoinHostPort(ip.String(), fmt.Sprint(port))
		config := filepath.Join(dir, "config.yml")
		yml := RegistryConfig(r.Dir, r.Addr, randomHex(t, 16), extra)
		if err := os.WriteFile(config, []byte(yml), 0o600); err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(dir, fmt.Sprintf("registry-%d.log", attempt))
		err = start(config, logPath)
		if err == nil {
			break
		}
		log, _ := os.ReadFile(logPath)
		if attempt < 3 && strings.Contains(string(log), "address already in use") {
			continue
		}
		t.Fatalf("docker-registry%s did not start: %v\n%s", kind, err, tail(string(log), 20))
	}
	t.Cleanup(r.Stop)
}

// Restart starts the registry again, after Stop, on the same address and
// storage and with the same configuration but a new HTTP secret, as after a
// crash that lost it: upload sessions begun before may not survive. The
// test's cleanup stops it.
func (r *LocalRegistry) Restart(t testing.TB) {
	t.Helper()
	config := filepath.Join(r.dir, "config.yml")
	yml := RegistryConfig(r.Dir, r.Addr, randomHex(t, 16), r.extra)
	if err := os.WriteFile(config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(r.dir, "registry-restarted.log")
	r.stop = sync.Once{}
	if err := r.startFn(config, logPath); err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("docker-registry did not restart on %s: %v\n%s", r.Addr, err, tail(string(log), 20))
	}
}

// start runs the process and waits until it answers /v2/ with want, having
// logged that it listens on r.Addr (so the answer is its own, not another
// process's that won the port).
func (r *LocalRegistry) start(bin, config, logPath string, want int) error {
	return r.startProbing(bin, config, logPath, &http.Client{Timeout: time.Second}, "http", want)
}

// startProbing runs the process and waits until it answers scheme://Addr/v2/
// through client with want, having logged that it listens on r.Addr.
func (r *LocalRegistry) startProbing(bin, config, logPath string, client *http.Client, scheme string, want int) error {
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, "serve", config)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(r.done)
	}()
	defer client.CloseIdleConnections()
	url := scheme + "://" + r.Addr + "/v2/"
	listening := "listening on " + r.Addr
	deadline := time.Now().Add(registryStartTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return fmt.Errorf("it exited: %v", cmd.ProcessState)
		case <-tick.C:
		}
		if log, _ := os.ReadFile(logPath); strings.Contains(string(log), listening) {
			if resp, err := client.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == want {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-r.done
			return fmt.Errorf("no HTTP %d from %s within %v", want, url, registryStartTimeout)
		}
	}
}

// Stop kills the registry and waits for it to exit. It is safe to call more
// than once; the test's cleanup calls it too.
func (r *LocalRegistry) Stop() {
	r.stop.Do(func() {
		if r.cmd == nil || r.cmd.Process == nil {
			return
		}
		_ = r.cmd.Process.Kill()
		<-r.done
	})
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var notRepoChars = regexp.MustCompile(`[^a-z0-9]+`)

// Repo returns a repository path unique to the test and to this run, such as
// "skilldock-test/testpushskipsblobs/subtest-3f9a1c", so tests sharing a
// registry never see each other's tags or blobs.
func Repo(t testing.TB) string {
	t.Helper()
	var parts []string
	for _, p := range strings.Split(strings.ToLower(t.Name()), "/") {
		p = strings.Trim(notRepoChars.ReplaceAllString(p, "-"), "-")
		if len(p) > 60 {
			p = strings.Trim(p[:60], "-")
		}
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		parts = []string{"test"}
	}
	if len(parts) > 3 {
		parts = parts[len(parts)-3:]
	}
	parts[len(parts)-1] += "-" + randomHex(t, 3)
	return "skilldock-test/" + strings.Join(parts, "/")
}

// Isolate points HOME, XDG_DATA_HOME and DOCKER_CONFIG at fresh temporary
// folders for the length of the test (child processes inherit them), so no
// store or credential of the machine is ever read or written. It returns the
// Docker config folder, which starts empty.
func Isolate(t testing.TB) (dockerConfig string) {
	t.Helper()
	home := t.TempDir()
	dockerConfig = filepath.Join(home, ".docker")
	if err := os.MkdirAll(dockerConfig, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	t.Setenv("DOCKER_CONFIG", dockerConfig)
	return dockerConfig
}

// Proxy is an HTTP reverse proxy on 127.0.0.1 in front of a registry. It
// counts blob downloads and can corrupt one blob on its way through, to show
// what a client does with bytes that do not match their digest.
type Proxy struct {
	Addr string // 127.0.0.1:PORT; a loopback address, so clients use plain HTTP

	mu      sync.Mutex
	corrupt string         // digest whose GET bodies get one byte flipped
	gets    map[string]int // blob digest -> GET requests
}

// StartProxy proxies to the registry at target (host:port, plain HTTP) until
// the test ends. With corrupt set to a digest, every successful GET of that
// blob has its first byte flipped; sizes and headers are left alone.
func StartProxy(t testing.TB, target, corrupt string) *Proxy {
	t.Helper()
	p := &Proxy{corrupt: corrupt, gets: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet {
			return nil
		}
		_, dgst, ok := strings.Cut(resp.Request.URL.Path, "/blobs/")
		if !ok || !strings.HasPrefix(resp.Request.URL.Path, "/v2/") {
			return nil
		}
		p.mu.Lock()
		p.gets[dgst]++
		flip := dgst == p.corrupt && resp.StatusCode == http.StatusOK
		p.mu.Unlock()
		if flip {
			resp.Body = &flipFirstByte{ReadCloser: resp.Body}
		}
		return nil
	}
	p.Addr = ServeLoopback(t, rp)
	return p
}

// ServeLoopback serves h over plain HTTP on a free 127.0.0.1 port until the
// test ends, and returns the address.
func ServeLoopback(t testing.TB, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// BlobGets reports how many times the blob with digest d was requested.
func (p *Proxy) BlobGets(d string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gets[d]
}

type flipFirstByte struct {
	io.ReadCloser
	done bool
}

func (f *flipFirstByte) Read(b []byte) (int, error) {
	n, err := f.ReadCloser.Read(b)
	if n > 0 && !f.done {
		b[0] ^= 0xff
		f.done = true
	}
	return n, err
}

// RegistryConfig is a docker-registry configuration serving storage on addr
// with deletes enabled and upload purging off. extra is appended after the
// http block's secret: indent it by two spaces to add to http (tls), or not
// at all for a top-level block (auth).
func RegistryConfig(storage, addr, secret, extra string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
%s`, storage, addr, secret, extra)
}
