package ignore

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// segment is the compiled form of one slash-free piece of a pattern.
type segment struct {
	// globstar marks a "**" piece standing alone between slashes, which
	// matches any number of whole path segments.
	globstar bool
	toks     []token
}

type tokenKind uint8

const (
	tokLit   tokenKind = iota // exact text
	tokAny                    // "?"
	tokStar                   // "*" (also "**" that is not a whole segment)
	tokClass                  // "[...]"
)

type token struct {
	kind  tokenKind
	lit   string
	class *charClass
}

// compileGlob splits a pattern body (leading "/" and trailing "/" already
// removed) into segments. ok is false when the pattern ends in an unescaped
// backslash: git treats such a pattern as never matching, and guessing what
// the author meant would be worse than ignoring the line.
func compileGlob(p string) (segs []segment, ok bool) {
	var (
		toks      []token
		lit       strings.Builder
		stars     int  // unescaped stars in the current segment
		onlyStars bool // current segment so far consists only of unescaped stars
	)
	onlyStars = true
	flushLit := func() {
		if lit.Len() > 0 {
			toks = append(toks, token{kind: tokLit, lit: lit.String()})
			lit.Reset()
		}
	}
	endSeg := func() {
		flushLit()
		if onlyStars && stars >= 2 {
			segs = append(segs, segment{globstar: true})
		} else {
			segs = append(segs, segment{toks: toks})
		}
		toks, stars, onlyStars = nil, 0, true
	}
	for i := 0; i < len(p); {
		c := p[i]
		switch c {
		case '/':
			endSeg()
			i++
			continue
		case '\\':
			if i+1 >= len(p) {
				return nil, false
			}
			i++
			if p[i] == '/' {
				endSeg()
				i++
				continue
			}
			_, w := utf8.DecodeRuneInString(p[i:])
			lit.WriteString(p[i : i+w])
			i += w
		case '*':
			stars++
			i++
			// Runs of stars behave like one star inside a segment; only a
			// whole-segment run is a globstar, decided in endSeg.
			if len(toks) == 0 || toks[len(toks)-1].kind != tokStar || lit.Len() > 0 {
				flushLit()
				toks = append(toks, token{kind: tokStar})
			}
			continue
		case '?':
			flushLit()
			toks = append(toks, token{kind: tokAny})
			i++
		case '[':
			if cls, n, ok := parseClass(p[i:]); ok {
				flushLit()
				toks = append(toks, token{kind: tokClass, class: cls})
				i += n
			} else {
				lit.WriteByte('[')
				i++
			}
		default:
			_, w := utf8.DecodeRuneInString(p[i:])
			lit.WriteString(p[i : i+w])
			i += w
		}
		onlyStars = false
	}
	endSeg()
	// A trailing "/**" must match something inside the directory, not the
	// directory itself; requiring one more segment before the globstar
	// expresses that while keeping the matcher's "zero or more" rule.
	if n := len(segs); n > 1 && segs[n-1].globstar {
		segs = append(segs[:n-1], segment{toks: []token{{kind: tokStar}}}, segment{globstar: true})
	}
	return segs, true
}

// matchSegments matches compiled segments against path segments. Globstars
// match zero or more whole segments and every other segment matches exactly
// one, so backtracking only to the most recent globstar is sufficient; this
// keeps the match linear-ish instead of exponential in the number of "**".
func matchSegments(pat []segment, path []string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for {
		if pi < len(pat) {
			if pat[pi].globstar {
				starP, starS = pi, si
				pi++
				continue
			}
			if si < len(path) && matchSegment(pat[pi].toks, path[si]) {
				pi++
				si++
				continue
			}
		} else if si == len(path) {
			return true
		}
		if starP < 0 || starS >= len(path) {
			return false
		}
		starS++
		pi, si = starP+1, starS
	}
}

// matchSegment matches tokens against one slash-free path segment, using the
// same last-star backtracking as matchSegments: every non-star token has a
// fixed width in characters, so retrying from the latest star is enough.
func matchSegment(toks []token, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := &toks[ti]
			switch t.kind {
			case tokStar:
				starT, starS = ti, si
				ti++
				continue
			case tokLit:
				if strings.HasPrefix(s[si:], t.lit) {
					si += len(t.lit)
					ti++
					continue
				}
			case tokAny:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			case tokClass:
				if si < len(s) {
					r, w := utf8.DecodeRuneInString(s[si:])
					if t.class.matches(r) {
						si += w
						ti++
						continue
					}
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		ti, si = starT+1, starS
	}
}

type runeRange struct{ lo, hi rune }

type charClass struct {
	negated bool
	ranges  []runeRange
	named   []func(rune) bool
}

func (c *charClass) matches(r rune) bool {
	// Path segments never contain "/", but a pattern like "[!a]" must not
	// be able to claim one if a caller ever passes it through.
	if r == '/' {
		return false
	}
	in := false
	for _, rg := range c.ranges {
		if rg.lo <= r && r <= rg.hi {
			in = true
			break
		}
	}
	if !in {
		for _, f := range c.named {
			if f(r) {
				in = true
				break
			}
		}
	}
	return in != c.negated
}

var namedClasses = map[string]func(rune) bool{
	"alnum":  func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) },
	"alpha":  unicode.IsLetter,
	"blank":  func(r rune) bool { return r == ' ' || r == '\t' },
	"cntrl":  unicode.IsControl,
	"digit":  unicode.IsDigit,
	"graph":  func(r rune) bool { return unicode.IsGraphic(r) && !unicode.IsSpace(r) },
	"lower":  unicode.IsLower,
	"print":  unicode.IsPrint,
	"punct":  unicode.IsPunct,
	"space":  unicode.IsSpace,
	"upper":  unicode.IsUpper,
	"xdigit": func(r rune) bool { return r < utf8.RuneSelf && strings.ContainsRune("0123456789abcdefABCDEF", r) },
}

// parseClass parses a bracket expression at the start of p (p[0] == '[')
// and returns it with the number of bytes consumed. ok is false when the
// expression is unterminated or names an unknown [:class:]; the caller then
// treats the "[" literally instead of rejecting the whole pattern.
func parseClass(p string) (cls *charClass, n int, ok bool) {
	cls = &charClass{}
	i := 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		cls.negated = true
		i++
	}
	// next reads one possibly escaped character at p[i].
	next := func() (rune, bool) {
		if i >= len(p) {
			return 0, false
		}
		if p[i] == '\\' {
			i++
			if i >= len(p) {
				return 0, false
			}
		}
		r, w := utf8.DecodeRuneInString(p[i:])
		i += w
		return r, true
	}
	first := true
	for {
		if i >= len(p) {
			return nil, 0, false
		}
		// A "]" right after "[" or "[!" is a member, not the terminator.
		if p[i] == ']' && !first {
			return cls, i + 1, true
		}
		first = false
		if strings.HasPrefix(p[i:], "[:") {
			if end := strings.Index(p[i+2:], ":]"); end >= 0 {
				name := p[i+2 : i+2+end]
				// Only a name made of letters counts; otherwise "[:" is
				// just two members, as in git.
				if isLowerWord(name) {
					f, known := namedClasses[name]
					if !known {
						return nil, 0, false
					}
					cls.named = append(cls.named, f)
					i += 2 + end + 2
					continue
				}
			}
		}
		lo, ok := next()
		if !ok {
			return nil, 0, false
		}
		hi := lo
		// "-" forms a range only between two members; at either edge it is
		// literal.
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			i++
			if hi, ok = next(); !ok {
				return nil, 0, false
			}
		}
		cls.ranges = append(cls.ranges, runeRange{lo, hi})
	}
}

func isLowerWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}
