package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Streams are where a command reads and writes; tests pass buffers.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// outputFormat is the value of --output.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputJSON  outputFormat = "json"
)

func parseOutput(s string) (outputFormat, error) {
	switch s {
	case "", "table", "text":
		return outputTable, nil
	case "json":
		return outputJSON, nil
	}
	return "", usageError{fmt.Errorf("--output %q is not supported; use table or json", s)}
}

// printJSON writes v as indented JSON with a trailing newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table prints aligned columns for people.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(headers...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = safeText(strings.ReplaceAll(strings.ReplaceAll(c, "\t", " "), "\n", " "))
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// truncate shortens s to n characters with an ellipsis.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// shortDigest is the first 12 hex characters, as docker shows image IDs.
func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) < 12 {
		return d
	}
	return hex[:12]
}

// printList writes items one per line, the first after label and the rest
// aligned under it; nothing when there are none. Items can come from a
// registry or from records written by older versions, so each is passed
// through printable.
func printList(w io.Writer, label string, items []string) {
	for i, it := range items {
		if i > 0 {
			label = strings.Repeat(" ", utf8.RuneCountInString(label))
		}
		fmt.Fprintf(w, "%s%s\n", label, printable(it))
	}
}

// printable returns s unchanged when every character of it prints as
// itself, else s quoted as Go quotes strings: a newline could forge a line
// of output and an escape sequence could drive the terminal (retitle it,
// hide text, plant a hyperlink), while the quoted form shows them as
// visible escapes (\n, \x1b, \u202e) and is plainly not a normal value.
func printable(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// safeText returns text for the terminal with every character that does not
// print as itself, newlines and tabs apart, shown as its escape (\x1b,
// \u202e): text from a registry (a description, a SKILL.md body, a file
// name) must not be able to drive the terminal.
func safeText(s string) string {
	clean := true
	for _, r := range s {
		if r != '\n' && r != '\t' && (r == utf8.RuneError || !strconv.IsPrint(r)) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r != '\n' && r != '\t' && (r == utf8.RuneError || !strconv.IsPrint(r)) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
