package ref

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/skilldock/skilldock/internal/errdef"
)

// The grammar follows the distribution reference rules that registries enforce,
// so a name accepted here is one a registry will accept too.
var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	hostComponent = regexp.MustCompile(`^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$`)
	portPattern   = regexp.MustCompile(`^[0-9]{1,5}$`)
)

const maxNameLength = 255

// Reference is a parsed skill name. Registry is empty for a local tag.
type Reference struct {
	Registry   string // host[:port], empty for local tags
	Repository string // path below the registry, e.g. "team/my-skill"
	Tag        string // may be empty when Digest is set, or for a bare local name
	Digest     digest.Digest
}

// IsRemote reports whether s names something in a registry rather than a
// local tag: its first path component holds a '.' or ':' or is "localhost".
func IsRemote(s string) bool {
	first, _, ok := strings.Cut(s, "/")
	if !ok {
		return false
	}
	return strings.ContainsAny(first, ".:") || first == "localhost"
}

// The forms an error names as expected, depending on what the caller takes.
const (
	expectAny       = "NAME[:TAG] or REGISTRY/REPOSITORY[:TAG|@sha256:DIGEST]"
	expectVersioned = "REGISTRY/REPOSITORY:TAG or REGISTRY/REPOSITORY@sha256:DIGEST"

	noRegistry = "it names no registry (the first component needs a '.' or ':' or must be \"localhost\")"
)

// Parse accepts either form. Remote references must name a repository below
// the registry; local names may carry a tag or a digest.
func Parse(s string) (Reference, error) {
	return parse(s, expectAny)
}

func parse(s, expect string) (Reference, error) {
	if s == "" {
		return Reference{}, errdef.New(errdef.ErrInvalid, "empty reference; expected "+expect)
	}
	var r Reference
	rest := s
	if IsRemote(s) {
		host, path, _ := strings.Cut(s, "/")
		if err := checkHost(host); err != nil {
			return Reference{}, invalid(s, err.Error(), expect)
		}
		r.Registry = host
		rest = path
	}
	if name, dgst, ok := strings.Cut(rest, "@"); ok {
		d, err := digest.Parse(dgst)
		if err != nil {
			return Reference{}, invalid(s, fmt.Sprintf("digest %q is not ALGORITHM:HEX", dgst), expect)
		}
		r.Digest = d
		rest = name
	}
	// The tag is after the last ':' that follows the last '/', so a port in
	// the host (already removed above) is never mistaken for a tag.
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "/") {
		r.Tag = rest[i+1:]
		rest = rest[:i]
		if !tagPattern.MatchString(r.Tag) {
			return Reference{}, invalid(s, fmt.Sprintf("tag %q must be 1-128 letters, digits, '_', '.' or '-' and not start with '.' or '-'", r.Tag), expect)
		}
	}
	if rest == "" {
		return Reference{}, invalid(s, "the repository name is empty", expect)
	}
	for _, c := range strings.Split(rest, "/") {
		if !pathComponent.MatchString(c) {
			return Reference{}, invalid(s, fmt.Sprintf("name component %q must be lowercase letters and digits separated by '.', '_', '__' or '-'", c), expect)
		}
	}
	r.Repository = rest
	if len(r.Registry)+1+len(r.Repository) > maxNameLength {
		return Reference{}, invalid(s, fmt.Sprintf("the name is longer than %d characters", maxNameLength), expect)
	}
	return r, nil
}

// ParseRemote is Parse restricted to registry references.
func ParseRemote(s string) (Reference, error) {
	r, err := Parse(s)
	if err != nil {
		return r, err
	}
	if r.Registry == "" {
		return Reference{}, invalid(s, noRegistry, expectAny)
	}
	return r, nil
}

// ParseVersioned is ParseRemote for references that must also name a
// version, a tag or a digest: what a skill declares it requires has to say
// which version it means.
func ParseVersioned(s string) (Reference, error) {
	r, err := parse(s, expectVersioned)
	if err != nil {
		return r, err
	}
	switch {
	case r.Registry == "":
		return Reference{}, invalid(s, noRegistry, expectVersioned)
	case r.Tag == "" && r.Digest == "":
		return Reference{}, invalid(s, "it names no tag or digest", expectVersioned)
	}
	return r, nil
}

// ParseLocal is Parse restricted to tags of the local store.
func ParseLocal(s string) (Reference, error) {
	r, err := Parse(s)
	if err != nil {
		return r, err
	}
	if r.Digest != "" {
		return Reference{}, errdef.Errorf(errdef.ErrInvalid, "invalid tag %q: a tag cannot carry a digest; expected NAME[:TAG]", s)
	}
	return r, nil
}

func checkHost(host string) error {
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.Index(host, "]")
		if end < 0 {
			return fmt.Errorf("registry host %q has an unclosed '['", host)
		}
		name, port = host[:end+1], strings.TrimPrefix(host[end+1:], ":")
		if host[end+1:] != "" && !strings.HasPrefix(host[end+1:], ":") {
			return fmt.Errorf("registry host %q is malformed", host)
		}
	} else if h, p, ok := strings.Cut(host, ":"); ok {
		name, port = h, p
		if port == "" {
			return fmt.Errorf("registry host %q has an empty port", host)
		}
	}
	if port != "" && !portPattern.MatchString(port) {
		return fmt.Errorf("registry port %q is not a number", port)
	}
	if strings.HasPrefix(name, "[") {
		inner := name[1 : len(name)-1]
		if inner == "" || strings.Trim(inner, "0123456789abcdefABCDEF:.") != "" {
			return fmt.Errorf("registry host %q is not an IPv6 address", name)
		}
		return nil
	}
	for _, c := range strings.Split(name, ".") {
		if !hostComponent.MatchString(c) {
			return fmt.Errorf("registry host %q is not a valid host name", name)
		}
	}
	return nil
}

func invalid(s, why, expect string) error {
	return errdef.Errorf(errdef.ErrInvalid, "invalid reference %q: %s; expected %s", s, why, expect)
}

// Name is registry/repository (or just the repository for a local tag).
func (r Reference) Name() string {
	if r.Registry == "" {
		return r.Repository
	}
	return r.Registry + "/" + r.Repository
}

// String renders the reference in its canonical form.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}

// LastSegment is the final path component of the repository ("my-skill" for
// "ghcr.io/team/my-skill:1.0").
func (r Reference) LastSegment() string {
	i := strings.LastIndex(r.Repository, "/")
	return r.Repository[i+1:]
}
