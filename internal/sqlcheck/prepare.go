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
	unloadTail   = regexp.MustCompile(`(?is)^\s*TO\s+'([^']*)'\s+WITH\s*\(`)
)

// Prepare returns the statement to give the parser for one Athena query.
func Prepare(name, query string) (Statement, error) {
	switch {
	case IsRepair(query):
		return Statement{Name: name, Dialect: Hive, SQL: query}, nil
	case IsUnload(query):
		sql, err := unloadAsCTAS(query)
		if err != nil {
			return Statement{}, fmt.Errorf("%s: %w", name, err)
		}
		return Statement{Name: name, Dialect: Trino, SQL: sql}, nil
	}
	return Statement{Name: name, Dialect: Trino, SQL: query}, nil
}

// body returns where the statement starts, after comments and space.
func body(query string) int { return len(leadingNoise.FindString(query)) }

// IsRepair reports whether query is an MSCK REPAIR TABLE statement.
func IsRepair(query string) bool { return msckHead.MatchString(query[body(query):]) }

// IsUnload reports whether query is an UNLOAD statement.
func IsUnload(query string) bool { return unloadHead.MatchString(query[body(query):]) }

// Unload is an `UNLOAD (q) TO 'loc' WITH (props)` statement taken apart.
// The offsets index the original query.
type Unload struct {
	Start      int    // where UNLOAD begins
	Query      string // q
	QueryAt    int    // q's offset
	QueryClose int    // the offset of the parenthesis closing q
	Location   string // loc, as written
	Props      string // props, whitespace collapsed
}

// SplitUnload takes an UNLOAD statement apart. Anything after the WITH list
// but a semicolon is an error.
func SplitUnload(query string) (Unload, error) {
	start := body(query)
	if !unloadHead.MatchString(query[start:]) {
		return Unload{}, errors.New("not an UNLOAD statement")
	}
	open := start + len(unloadHead.FindString(query[start:])) - 1
	closeAt, err := matchParen(query, open)
	if err != nil {
		return Unload{}, fmt.Errorf("UNLOAD: %w", err)
	}
	rest := query[closeAt+1:]
	tail := unloadTail.FindStringSubmatch(rest)
	if tail == nil {
		return Unload{}, errors.New("UNLOAD (...) must be followed by TO '<location>' WITH (...)")
	}
	withOpen := closeAt + 1 + len(tail[0]) - 1
	withClose, err := matchParen(query, withOpen)
	if err != nil {
		return Unload{}, fmt.Errorf("UNLOAD WITH list: %w", err)
	}
	after := strings.TrimSpace(stripComments(query[withClose+1:]))
	if after != "" && after != ";" {
		return Unload{}, fmt.Errorf("unexpected text after the UNLOAD WITH list: %q", after)
	}
	return Unload{
		Start: start, Query: query[open+1 : closeAt], QueryAt: open + 1, QueryClose: closeAt,
		Location: tail[1], Props: strings.Join(strings.Fields(query[withOpen+1:withClose]), " "),
	}, nil
}

// unloadAsCTAS rewrites `UNLOAD (q) TO 'loc' WITH (props)` as
// `CREATE TABLE unload_check WITH (props) AS q`, keeping q at its original
// line numbers so that parser errors point at the template's lines.
func unloadAsCTAS(query string) (string, error) {
	u, err := SplitUnload(query)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(query[:u.Start])
	b.WriteString("CREATE TABLE unload_check WITH (" + u.Props + ") AS ")
	b.WriteString(u.Query)
	b.WriteString(blank(query[u.QueryClose:]))
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
