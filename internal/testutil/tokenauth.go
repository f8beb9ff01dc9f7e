package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The names a TokenRegistry's tokens carry: distribution accepts a token
// only when its issuer and audience match what its configuration says.
const (
	TokenService = "skilldock-test-registry"
	TokenIssuer  = "skilldock-test-token-server"
)

// TokenDeniedPrefix starts the repositories a TokenRegistry's user may
// neither pull nor push, although the credentials are right: the token
// server issues a token without them, as a hosted registry does for another
// account's private repository.
const TokenDeniedPrefix = "skilldock-test/forbidden/"

// tokenGrantedPrefix starts the repositories the user may pull and push.
const tokenGrantedPrefix = "skilldock-test/"

// tokenTTL is how long a token lives; distribution adds a minute of leeway.
const tokenTTL = 5 * time.Minute

// TokenRegistry is a docker-registry process that accepts bearer tokens only,
// with the token server that issues them: the flow of GHCR, Docker Hub and
// Harbor. A client that meets the registry's 401 asks the token server
// (Realm) for a token, with HTTP Basic credentials or none, then retries with
// "Authorization: Bearer". The embedded LocalRegistry's User and Password
// are the credentials the token server accepts.
//
// The user gets pull and push on every repository under "skilldock-test/"
// except those under TokenDeniedPrefix; an anonymous client gets a token
// that grants nothing; a wrong password gets HTTP 401 from the token server.
type TokenRegistry struct {
	*LocalRegistry
	Realm string // the token server's URL, plain HTTP on 127.0.0.1

	key      *ecdsa.PrivateKey
	x5c      []string // the signing certificate, base64 DER, for the JWT header
	requests atomic.Int64
}

// StartTokenRegistry starts a token server and a registry that trusts it,
// both the test's own, and stops them when the test ends. A missing
// docker-registry skips the test unless SKILLDOCK_REQUIRE_TOOLS=1.
func StartTokenRegistry(t testing.TB) *TokenRegistry {
	t.Helper()
	bin := registryBin
	if _, err := os.Stat(bin); err != nil {
		bin = RequireTool(t, "docker-registry")
	}
	dir := t.TempDir()
	reg := &TokenRegistry{LocalRegistry: &LocalRegistry{
		Dir:      filepath.Join(dir, "storage"),
		User:     "skilldock",
		Password: randomHex(t, 16),
	}}
	bundle := filepath.Join(dir, "token-signer.pem")
	if err := reg.makeSigner(bundle); err != nil {
		t.Fatal(err)
	}
	reg.Realm = reg.serve(t)

	authYAML := fmt.Sprintf("auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
		reg.Realm, TokenService, TokenIssuer, bundle)
	r := reg.LocalRegistry
	// Without a token /v2/ answers 401 with the Bearer challenge.
	r.launch(t, " (token auth)", dir, net.IPv4(127, 0, 0, 1), authYAML, func(config, logPath string) error {
		return r.start(bin, config, logPath, http.StatusUnauthorized)
	})
	return reg
}

// TokenRequests reports how many requests the token server has had,
// refused ones included.
func (reg *TokenRegistry) TokenRequests() int {
	return int(reg.requests.Load())
}

// makeSigner creates the key tokens are signed with and writes a
// self-signed certificate for it to bundle, the registry's rootcertbundle.
// distribution 2.8 finds the signing key through the token's x5c header and
// trusts it when the chain ends in that bundle.
func (reg *TokenRegistry) makeSigner(bundle string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: TokenIssuer},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	reg.key = key
	reg.x5c = []string{base64.StdEncoding.EncodeToString(der)}
	return os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// serve starts the token server until the test ends and returns its URL.
// It listens on 127.0.0.1 like the registry: oras-go refuses a loopback
// realm on any other host than the registry's.
func (reg *TokenRegistry) serve(t testing.TB) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", reg.issue)
	return "http://" + ServeLoopback(t, mux) + "/token"
}

// access is one entry of a token's "access" claim.
type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// issue answers a token request as the distribution token spec describes:
// GET realm?service=S&scope=repository:NAME:pull,push (scope repeated, or
// space-separated, for several resources).
func (reg *TokenRegistry) issue(w http.ResponseWriter, req *http.Request) {
	reg.requests.Add(1)
	user, pass, hasBasic := req.BasicAuth()
	if hasBasic && !reg.accepts(user, pass) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}`)
		return
	}
	q := req.URL.Query()
	if s := q.Get("service"); s != TokenService {
		http.Error(w, fmt.Sprintf("unknown service %q", s), http.StatusBadRequest)
		return
	}
	var granted []access
	if hasBasic {
		for _, param := range q["scope"] {
			for _, scope := range strings.Fields(param) {
				if a, ok := grant(scope); ok {
					granted = append(granted, a)
				}
			}
		}
	}
	token, err := reg.sign(user, granted)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":        token,
		"access_token": token,
		"expires_in":   int(tokenTTL.Seconds()),
		"issued_at":    time.Now().UTC().Format(time.RFC3339),
	})
}

func (reg *TokenRegistry) accepts(user, pass string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(reg.User))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(reg.Password))
	return u&p == 1
}

// grant applies the policy to one scope, "TYPE:NAME:ACTION,...", whose name
// runs from the first colon to the last. Requested actions outside pull and
// push, and scopes the policy denies, are left out of the token rather than
// refused, as token servers do: the registry then answers the request that
// needed them with 401.
func grant(scope string) (access, bool) {
	typ, rest, ok := strings.Cut(scope, ":")
	i := strings.LastIndex(rest, ":")
	if !ok || i < 0 || typ != "repository" {
		return access{}, false
	}
	name, actions := rest[:i], rest[i+1:]
	if !strings.HasPrefix(name, tokenGrantedPrefix) || strings.HasPrefix(name, TokenDeniedPrefix) {
		return access{}, false
	}
	a := access{Type: typ, Name: name}
	for _, act := range strings.Split(actions, ",") {
		if act == "pull" || act == "push" {
			a.Actions = append(a.Actions, act)
		}
	}
	return a, len(a.Actions) > 0
}

// sign makes a JWT (ES256) with the claims distribution checks: iss, aud and
// the validity window, and access for authorization.
func (reg *TokenRegistry) sign(subject string, granted []access) (string, error) {
	now := time.Now()
	header, err := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256", "x5c": reg.x5c})
	if err != nil {
		return "", err
	}
	if granted == nil {
		granted = []access{} // an empty list, not null, as token servers send
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"iss":    TokenIssuer,
		"sub":    subject,
		"aud":    TokenService,
		"exp":    now.Add(tokenTTL).Unix(),
		"nbf":    now.Unix(),
		"iat":    now.Unix(),
		"jti":    base64.RawURLEncoding.EncodeToString(jti),
		"access": granted,
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, reg.key, digest[:])
	if err != nil {
		return "", err
	}
	// JWS wants R and S as fixed 32-byte big-endian halves, not ASN.1.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}
