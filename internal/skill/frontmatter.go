package skill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFrontmatter bounds the YAML block so a hostile SKILL.md cannot make the
// parser allocate without limit.
const MaxFrontmatter = 64 << 10

// Metadata is what the frontmatter declares, normalised.
type Metadata struct {
	Name          string            `json:"name"`
	Description   string            `json:"description"`
	License       string            `json:"license,omitempty"`
	Compatibility string            `json:"compatibility,omitempty"`
	Version       string            `json:"version,omitempty"`
	AllowedTools  []string          `json:"allowedTools,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	// Requires are the registry references of the skills this one depends
	// on, as declared under metadata's RequiresKey, in declared order.
	Requires []string `json:"requires,omitempty"`
}

// Issue is one broken rule, named by the field or file it concerns.
type Issue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Document is a SKILL.md split into its parts.
type Document struct {
	Front []byte // the YAML between the fences
	Body  string
}

var (
	errNoFrontmatter = errors.New("SKILL.md must start with a '---' line opening the YAML frontmatter")
	errUnclosed      = errors.New("the frontmatter opened by '---' on line 1 is never closed by a '---' line")
	errTooLarge      = fmt.Errorf("the frontmatter is larger than %d KiB", MaxFrontmatter>>10)
)

// SplitFrontmatter reads the frontmatter from r and leaves r positioned at the
// first byte of the body. It reads at most MaxFrontmatter bytes of YAML.
func SplitFrontmatter(r *bufio.Reader) ([]byte, error) {
	first, err := readLine(r, MaxFrontmatter)
	if err != nil && !(errors.Is(err, io.EOF) && len(first) > 0) {
		return nil, errNoFrontmatter
	}
	first = bytes.TrimPrefix(first, []byte("\xef\xbb\xbf"))
	if !isFence(first) {
		return nil, errNoFrontmatter
	}
	var front []byte
	for {
		// The closing fence is not part of the YAML, so leave room for it
		// even when the YAML is exactly MaxFrontmatter bytes; a longer
		// YAML line read thanks to that room fails the check below.
		line, err := readLine(r, MaxFrontmatter-len(front)+maxFenceLine)
		if errors.Is(err, errLineTooLong) {
			return nil, errTooLarge
		}
		if isFence(line) && (err == nil || len(line) > 0) {
			return front, nil
		}
		if err != nil {
			return nil, errUnclosed
		}
		front = append(front, line...)
		if len(front) > MaxFrontmatter {
			return nil, errTooLarge
		}
	}
}

var errLineTooLong = errors.New("line too long")

// maxFenceLine bounds a closing fence line: "---", trailing blanks and CRLF.
const maxFenceLine = 64

// readLine returns one line including its newline, refusing lines past max
// bytes so a file with no newlines cannot be read whole into memory.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

func isFence(line []byte) bool {
	return string(bytes.TrimRight(line, " \t\r\n")) == "---"
}

// ParseDocument splits a whole SKILL.md held in memory.
func ParseDocument(data []byte) (*Document, error) {
	br := bufio.NewReader(bytes.NewReader(data))
	front, err := SplitFrontmatter(br)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(br)
	return &Document{Front: front, Body: string(body)}, nil
}

// specFields are the top-level keys the Agent Skills specification defines.
var specFields = map[string]bool{
	"name": true, "description": true, "license": true,
	"compatibility": true, "metadata": true, "allowed-tools": true,
}

// DecodeFrontmatter turns YAML into Metadata, applying every frontmatter rule
// that does not need the folder. Problems come back as issues, never panics,
// so a caller can report them all at once.
func DecodeFrontmatter(front []byte) (md Metadata, errs, warns []Issue) {
	var doc yaml.Node
	if err := yaml.Unmarshal(front, &doc); err != nil {
		return md, []Issue{{"frontmatter", "YAML does not parse: " + oneLine(err.Error())}}, nil
	}
	var root *yaml.Node
	switch {
	case doc.Kind == 0:
		// An empty frontmatter: report the missing required fields below.
	case doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode:
		root = doc.Content[0]
	case doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Tag == "!!null":
	default:
		return md, []Issue{{"frontmatter", "the frontmatter must be a YAML mapping of fields (key: value)"}}, nil
	}
	fields := map[string]*yaml.Node{}
	if root != nil {
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				errs = append(errs, Issue{"frontmatter", fmt.Sprintf("line %d: field names must be plain strings", k.Line)})
				continue
			}
			fields[k.Value] = v
			if k.Value == "" {
				// An issue must name a field, and this one has no name.
				warns = append(warns, Issue{"frontmatter", fmt.Sprintf("line %d: a field with an empty name is not a field of the Agent Skills specification; agents ignore it", k.Line)})
				continue
			}
			if !specFields[k.Value] {
				warns = append(warns, Issue{k.Value, fmt.Sprintf("%q is not a field of the Agent Skills specification; agents that do not know it ignore it", k.Value)})
			}
		}
	}
	str := func(field string, required bool, max int) string {
		v, ok := fields[field]
		if !ok || v.Tag == "!!null" {
			if required {
				errs = append(errs, Issue{field, field + " is required"})
			}
			return ""
		}
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, Issue{field, field + " must be a string"})
			return ""
		}
		s := v.Value
		if required && strings.TrimSpace(s) == "" {
			errs = append(errs, Issue{field, field + " must not be empty"})
		}
		if n := utf8.RuneCountInString(s); n > max {
			errs = append(errs, Issue{field, fmt.Sprintf("%s is %d characters; the limit is %d", field, n, max)})
		}
		return s
	}
	md.Name = str("name", true, 64)
	if md.Name != "" {
		if msg := nameRule(md.Name); msg != "" {
			errs = append(errs, Issue{"name", msg})
		}
	}
	md.Description = str("description", true, 1024)
	md.Compatibility = str("compatibility", false, 500)
	md.License = str("license", false, 1<<16)
	md.Metadata, errs = decodeMetadata(fields["metadata"], errs)
	requires, reqErrs, reqWarns := decodeRequires(md.Metadata[RequiresKey])
	md.Requires, errs, warns = requires, append(errs, reqErrs...), append(warns, reqWarns...)
	var toolWarn *Issue
	md.AllowedTools, toolWarn, errs = decodeAllowedTools(fields["allowed-tools"], errs)
	if toolWarn != nil {
		warns = append(warns, *toolWarn)
	}
	if v, ok := fields["version"]; ok && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		md.Version = v.Value
	} else if mv, ok := md.Metadata["version"]; ok {
		md.Version = mv
	}
	return md, errs, warns
}

// nameRule checks the specification's name grammar and says which part failed.
func nameRule(name string) string {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("name %q may contain only lowercase letters, digits and '-' (found %q)", name, r)
		}
	}
	switch {
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return fmt.Sprintf("name %q must not start or end with '-'", name)
	case strings.Contains(name, "--"):
		return fmt.Sprintf("name %q must not contain '--'", name)
	}
	return ""
}

func decodeMetadata(v *yaml.Node, errs []Issue) (map[string]string, []Issue) {
	if v == nil || v.Tag == "!!null" {
		return nil, errs
	}
	if v.Kind != yaml.MappingNode {
		return nil, append(errs, Issue{"metadata", "metadata must be a mapping of string keys to string values"})
	}
	out := make(map[string]string, len(v.Content)/2)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			errs = append(errs, Issue{"metadata", fmt.Sprintf("line %d: metadata keys must be strings", k.Line)})
			continue
		}
		if val.Kind != yaml.ScalarNode || val.Tag != "!!str" {
			hint := ""
			if val.Kind == yaml.ScalarNode {
				hint = fmt.Sprintf(" (quote it: %q)", val.Value)
			}
			errs = append(errs, Issue{"metadata." + k.Value, "metadata values must be strings" + hint})
			continue
		}
		out[k.Value] = val.Value
	}
	return out, errs
}

func decodeAllowedTools(v *yaml.Node, errs []Issue) ([]string, *Issue, []Issue) {
	if v == nil || v.Tag == "!!null" {
		return nil, nil, errs
	}
	switch v.Kind {
	case yaml.ScalarNode:
		// Only a comma outside parentheses separates tools: the one in
		// "Bash(echo a,b)" is part of the tool's argument.
		if parts, comma := splitOutsideParens(v.Value, func(r rune) bool { return r == ',' }); comma {
			var tools []string
			for _, t := range parts {
				if t = strings.TrimSpace(t); t != "" {
					tools = append(tools, t)
				}
			}
			return tools, &Issue{"allowed-tools", "allowed-tools is comma-separated; the specification uses a space-separated string"}, errs
		}
		return splitTools(v.Value), nil, errs
	case yaml.SequenceNode:
		var tools []string
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				return nil, nil, append(errs, Issue{"allowed-tools", "allowed-tools list items must be strings"})
			}
			if t := strings.TrimSpace(item.Value); t != "" {
				tools = append(tools, t)
			}
		}
		return tools, &Issue{"allowed-tools", "allowed-tools is a YAML list; the specification uses a space-separated string"}, errs
	}
	return nil, nil, append(errs, Issue{"allowed-tools", "allowed-tools must be a space-separated string"})
}

// splitTools splits on spaces outside parentheses, so "Bash(git log:*) Read"
// stays two tools.
func splitTools(s string) []string {
	tools, _ := splitOutsideParens(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
	return tools
}

// splitOutsideParens splits s at the runes sep accepts, except inside
// parentheses, dropping empty parts; found reports whether any separator was
// outside parentheses.
func splitOutsideParens(s string, sep func(rune) bool) (parts []string, found bool) {
	depth, start := 0, -1
	for i, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case sep(r) && depth == 0:
			found = true
			if start >= 0 {
				parts = append(parts, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		parts = append(parts, s[start:])
	}
	return parts, found
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
