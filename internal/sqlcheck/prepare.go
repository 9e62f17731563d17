// Package sqlcheck checks Athena SQL syntax with the npm dt-sql-parser.
//
// dt-sql-parser's Trino grammar has no UNLOAD or MSCK, both of which Athena
// accepts, so Prepare rewrites a statement into what the parser can check:
// an UNLOAD becomes a CTAS with the same WITH list and inner query (at the
// same line numbers), and MSCK REPAIR TABLE goes to the Hive grammar.
package sqlcheck

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Dialects understood by the checker script.
const (
	Trino = "trino"
	Hive  = "hive"
)

// Statement is one piece of SQL to check.
type Statement struct {
	Name    string `json:"name"`
	Dialect string `json:"dialect"`
	SQL     string `json:"sql"`
}

var (
	leadingNoise = regexp.MustCompile(`^(?:\s+|--[^\n]*(?:\n|$)|/\*(?s:.*?)\*/)*`)
	unloadHead   = regexp.MustCompile(`(?i)^UNLOAD\s*\(`)
	msckHead     = regexp.MustCompile(`(?i)^MSCK\s+REPAIR\s+TABLE\b`)
	unloadTail   = regexp.MustCompile(`(?is)^\s*TO\s+'[^']*'\s+WITH\s*\(`)
)

// Prepare returns the statement to give the parser for one Athena query.
func Prepare(name, query string) (Statement, error) {
	start := len(leadingNoise.FindString(query))
	body := query[start:]
	switch {
	case msckHead.MatchString(body):
		return Statement{Name: name, Dialect: Hive, SQL: query}, nil
	case unloadHead.MatchString(body):
		sql, err := unloadAsCTAS(query, start)
		if err != nil {
			return Statement{}, fmt.Errorf("%s: %w", name, err)
		}
		return Statement{Name: name, Dialect: Trino, SQL: sql}, nil
	}
	return Statement{Name: name, Dialect: Trino, SQL: query}, nil
}

// unloadAsCTAS rewrites `UNLOAD (q) TO 'loc' WITH (props)` as
// `CREATE TABLE unload_check WITH (props) AS q`, keeping q at its original
// line numbers so that parser errors point at the template's lines.
func unloadAsCTAS(query string, start int) (string, error) {
	open := start + len(unloadHead.FindString(query[start:])) - 1
	closeAt, err := matchParen(query, open)
	if err != nil {
		return "", fmt.Errorf("UNLOAD: %w", err)
	}
	inner := query[open+1 : closeAt]
	rest := query[closeAt+1:]
	tail := unloadTail.FindString(rest)
	if tail == "" {
		return "", errors.New("UNLOAD (...) must be followed by TO '<location>' WITH (...)")
	}
	withOpen := closeAt + 1 + len(tail) - 1
	withClose, err := matchParen(query, withOpen)
	if err != nil {
		return "", fmt.Errorf("UNLOAD WITH list: %w", err)
	}
	after := strings.TrimSpace(stripComments(query[withClose+1:]))
	if after != "" && after != ";" {
		return "", fmt.Errorf("unexpected text after the UNLOAD WITH list: %q", after)
	}
	props := strings.Join(strings.Fields(query[withOpen+1:withClose]), " ")
	var b strings.Builder
	b.WriteString(query[:start])
	b.WriteString("CREATE TABLE unload_check WITH (" + props + ") AS ")
	b.WriteString(inner)
	b.WriteString(blank(query[closeAt:]))
	return b.String(), nil
}

// blank replaces everything but newlines with spaces.
func blank(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		return ' '
	}, s)
}

func stripComments(s string) string {
	return regexp.MustCompile(`--[^\n]*`).ReplaceAllString(s, "")
}

// matchParen returns the index of the parenthesis closing the one at open,
// skipping string literals, quoted identifiers and comments.
func matchParen(s string, open int) (int, error) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c { // doubled quote escapes
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return 0, fmt.Errorf("unterminated %c quote starting at byte %d", c, i)
			}
			i = j
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return 0, fmt.Errorf("unterminated comment starting at byte %d", i)
			}
			i += 2 + end + 1
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("parenthesis at byte %d is never closed", open)
}
