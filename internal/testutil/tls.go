package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSRegistryName is the DNS name a TLSRegistry's certificate is issued to
// besides its IP addresses. Nothing resolves it: a client reaches it only
// through the CONNECT proxy of a TLSRegistry that has no other way in.
const TLSRegistryName = "registry.test"

// TLSRegistry is a docker-registry process serving HTTPS with a certificate
// from a throwaway CA that no system trusts.
//
// skilldock speaks plain HTTP to every loopback address, so Addr is never
// one: it is this machine's first non-loopback interface address when there
// is one, and otherwise TLSRegistryName reached through an HTTP CONNECT
// proxy on 127.0.0.1 that Env names in HTTPS_PROXY. Either way the client
// verifies the certificate exactly as it would for a remote registry.
type TLSRegistry struct {
	*LocalRegistry
	// Addr is the host:port clients use; the embedded LocalRegistry's Addr
	// is where the process listens.
	Addr string
	// CAFile holds the CA certificate (PEM), ready for SSL_CERT_FILE.
	CAFile string
	// Env is the environment a client process needs to reach Addr: proxy
	// settings, and nothing about trust. Child processes only: net/http
	// reads the proxy variables once per process.
	Env []string
}

// StartTLSRegistry starts a TLS registry of the test's own, without auth,
// and stops it when the test ends. A missing docker-registry skips the test
// unless SKILLDOCK_REQUIRE_TOOLS=1.
func StartTLSRegistry(t testing.TB) *TLSRegistry {
	t.Helper()
	bin := registryBin
	if _, err := os.Stat(bin); err != nil {
		bin = RequireTool(t, "docker-registry")
	}
	dir := t.TempDir()
	listenIP := net.IPv4(127, 0, 0, 1)
	ifaceIP := nonLoopbackIP()
	if ifaceIP != nil {
		listenIP = ifaceIP
	}
	ca, err := writeTLSFiles(dir, listenIP)
	if err != nil {
		t.Fatal(err)
	}
	reg := &TLSRegistry{
		LocalRegistry: &LocalRegistry{Dir: filepath.Join(dir, "storage")},
		CAFile:        filepath.Join(dir, "ca.pem"),
	}
	r := reg.LocalRegistry
	tlsYAML := fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	r.launch(t, " (TLS)", dir, listenIP, tlsYAML, func(config, logPath string) error {
		return r.startTLS(bin, config, logPath, ca)
	})

	// Whatever the developer's environment says, the registry is reached
	// directly, or through our own proxy only.
	reg.Env = []string{"NO_PROXY=*", "no_proxy=*", "HTTPS_PROXY=", "https_proxy="}
	reg.Addr = r.Addr
	if ifaceIP == nil {
		proxy := startConnectProxy(t, TLSRegistryName, r.Addr)
		_, port, _ := net.SplitHostPort(r.Addr)
		reg.Addr = net.JoinHostPort(TLSRegistryName, port)
		reg.Env = []string{"NO_PROXY=", "no_proxy=", "HTTPS_PROXY=http://" + proxy, "https_proxy=http://" + proxy}
	}
	return reg
}

// startTLS runs the process and waits until it answers /v2/ over HTTPS with
// a certificate from ca, having logged that it listens on r.Addr.
func (r *LocalRegistry) startTLS(bin, config, logPath string, ca *x509.Certificate) error {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		Proxy:           nil,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	return r.startProbing(bin, config, logPath, client, "https", http.StatusOK)
}

// writeTLSFiles writes ca.pem, server.pem and server-key.pem into dir: a CA
// made for this test alone and a server certificate it signed for
// TLSRegistryName, localhost, 127.0.0.1, ::1 and ip.
func writeTLSFiles(dir string, ip net.IP) (*x509.Certificate, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "skilldock test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: TLSRegistryName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{TLSRegistryName, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, ip},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	files := []struct {
		name, kind string
		der        []byte
		mode       os.FileMode
	}{
		{"ca.pem", "CERTIFICATE", caDER, 0o644},
		{"server.pem", "CERTIFICATE", leafDER, 0o644},
		{"server-key.pem", "PRIVATE KEY", keyDER, 0o600},
	}
	for _, f := range files {
		data := pem.EncodeToMemory(&pem.Block{Type: f.kind, Bytes: f.der})
		if err := os.WriteFile(filepath.Join(dir, f.name), data, f.mode); err != nil {
			return nil, err
		}
	}
	return ca, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

// nonLoopbackIP returns an address of an interface that is up and not
// loopback, IPv4 first, or nil when the machine has none (a container
// without a network, say).
func nonLoopbackIP() net.IP {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var v6 net.IP
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsUnspecified() {
				continue
			}
			if ipn.IP.To4() != nil {
				if canListen(ipn.IP) {
					return ipn.IP
				}
			} else if v6 == nil && canListen(ipn.IP) {
				v6 = ipn.IP
			}
		}
	}
	return v6
}

func canListen(ip net.IP) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePortOn(ip net.IP) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startConnectProxy serves HTTP CONNECT on 127.0.0.1 until the test ends,
// tunnelling host:PORT to target and refusing every other destination. It
// returns its address.
func startConnectProxy(t testing.TB, host, target string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(target)
	want := net.JoinHostPort(host, port)
	return ServeLoopback(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodConnect || req.Host != want {
			http.Error(w, "this proxy only tunnels to "+want, http.StatusForbidden)
			return
		}
		up, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer up.Close()
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			// Bytes the client sent after its CONNECT may already be buffered.
			_, _ = io.Copy(up, io.MultiReader(io.LimitReader(buf, int64(buf.Reader.Buffered())), conn))
			if tc, ok := up.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			close(done)
		}()
		_, _ = io.Copy(conn, up)
		conn.Close()
		<-done
	}))
}
