package trinopg

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/sqlcheck"
)

// Kind is what a statement does.
type Kind int

const (
	Select Kind = iota + 1 // a query whose rows go to the caller
	Unload                 // a query whose rows are written to Location
	Repair                 // MSCK REPAIR TABLE Table
)

// Statement is one Athena statement translated for PostgreSQL.
type Statement struct {
	Kind Kind
	// SQL is the PostgreSQL query (Select and Unload).
	SQL string
	// Location is UNLOAD's TO location; PartitionedBy its partition columns.
	Location      string
	PartitionedBy []string
	// Database and Table name MSCK REPAIR TABLE's table.
	Database, Table string
}

// Functions are the functions a query may call: PostgreSQL built-ins that
// behave as their Trino namesakes for the arguments the templates pass, and
// those functions.sql defines. Keywords that precede a parenthesis are
// listed too.
var Functions = []string{
	// keywords
	"and", "as", "from", "in", "join", "not", "on", "or", "select", "where", "with",
	// built-ins with Trino's semantics
	"array_agg", "cast", "chr", "coalesce", "concat_ws", "count", "format",
	"nullif", "split_part", "st_contains", "st_point", "st_xmax", "st_xmin", "st_ymax", "st_ymin",
	"starts_with", "substr", "sum",
	// defined in functions.sql
	"array_join", "array_sort", "crc32", "fail", "json_format", "regexp_extract", "regexp_like",
	"slice", "st_geometryfromtext", "to_utf8",
}

var (
	msck      = regexp.MustCompile(`(?is)^\s*MSCK\s+REPAIR\s+TABLE\s+("[^"]+"|\w+)\s*\.\s*("[^"]+"|\w+)\s*;?\s*$`)
	call      = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	arrayType = regexp.MustCompile(`(?i)\bAS\s+array\s*\(\s*varchar\s*\)`)
	double    = regexp.MustCompile(`(?i)\bAS\s+double\b(\s+precision\b)?`)
	formatLit = regexp.MustCompile(`(?i)\bformat\s*\(\s*'`)
	castOpen  = regexp.MustCompile(`(?i)\bCAST\s*\(`)
	asJSON    = regexp.MustCompile(`(?i)\s+AS\s+JSON\s*$`)
	prop      = regexp.MustCompile(`^\s*(\w+)\s*=\s*(?:'([^']*)'|ARRAY\s*\[([^\]]*)\])\s*(?:,|$)`)
	quotedArg = regexp.MustCompile(`^\s*'([^']*)'\s*$`)
	trinoOnly = regexp.MustCompile(`->|\bTRY\b|\bUNNEST\b|\bLAMBDA\b|\bINTERVAL\b|\bTIMESTAMP\b|::`)
)

// Translate turns one rendered, filled Athena statement into PostgreSQL.
func Translate(athena string) (Statement, error) {
	if sqlcheck.IsRepair(athena) {
		m := msck.FindStringSubmatch(stripComments(athena))
		if m == nil {
			return Statement{}, errors.New("trinopg: MSCK REPAIR TABLE must name a table as database.table")
		}
		return Statement{Kind: Repair, Database: unquote(m[1]), Table: unquote(m[2])}, nil
	}
	if sqlcheck.IsUnload(athena) {
		u, err := sqlcheck.SplitUnload(athena)
		if err != nil {
			return Statement{}, fmt.Errorf("trinopg: %w", err)
		}
		parts, err := unloadProps(u.Props)
		if err != nil {
			return Statement{}, err
		}
		q, err := translateQuery(u.Query)
		if err != nil {
			return Statement{}, err
		}
		return Statement{Kind: Unload, SQL: q, Location: u.Location, PartitionedBy: parts}, nil
	}
	q, err := translateQuery(athena)
	if err != nil {
		return Statement{}, err
	}
	return Statement{Kind: Select, SQL: q}, nil
}

// unloadProps checks UNLOAD's WITH list and returns partitioned_by.
func unloadProps(props string) ([]string, error) {
	var parts []string
	seen := map[string]bool{}
	for rest := props; strings.TrimSpace(rest) != ""; {
		m := prop.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("trinopg: cannot read UNLOAD property list %q at %q", props, rest)
		}
		rest = rest[len(m[0]):]
		key := strings.ToLower(m[1])
		if seen[key] {
			return nil, fmt.Errorf("trinopg: UNLOAD property %s given twice", key)
		}
		seen[key] = true
		switch {
		case key == "format" && strings.EqualFold(m[2], "PARQUET"):
		case key == "compression" && strings.EqualFold(m[2], "SNAPPY"):
		case key == "partitioned_by" && m[3] != "":
			for _, c := range strings.Split(m[3], ",") {
				q := quotedArg.FindStringSubmatch(c)
				if q == nil {
					return nil, fmt.Errorf("trinopg: partitioned_by element %q is not a quoted column name", c)
				}
				parts = append(parts, q[1])
			}
		default:
			return nil, fmt.Errorf("trinopg: UNLOAD property %s = %s%s is not supported", m[1], m[2], m[3])
		}
	}
	if !seen["format"] {
		return nil, errors.New("trinopg: UNLOAD without format = 'PARQUET' is not supported")
	}
	return parts, nil
}

// translateQuery applies the syntax translations to a query and refuses
// calls and syntax it does not know.
func translateQuery(q string) (string, error) {
	code := mask(q)
	if m := trinoOnly.FindString(code); m != "" {
		return "", fmt.Errorf("trinopg: unsupported syntax %q", m)
	}
	// array(varchar) is a type, not a call.
	calls := arrayType.ReplaceAllStringFunc(code, func(m string) string { return strings.Repeat(" ", len(m)) })
	for _, m := range call.FindAllStringSubmatch(calls, -1) {
		if !slices.Contains(Functions, strings.ToLower(m[1])) {
			return "", fmt.Errorf("trinopg: %s(...) is not a known function: define it in functions.sql with Trino's semantics, or add it to Functions once checked", m[1])
		}
	}
	// Edits are made right to left, so earlier offsets stay valid.
	type edit struct {
		at, end int
		with    string
	}
	var edits []edit
	for _, m := range arrayType.FindAllStringIndex(code, -1) {
		edits = append(edits, edit{m[0], m[1], "AS varchar[]"})
	}
	for _, m := range double.FindAllStringSubmatchIndex(code, -1) {
		if m[2] < 0 { // not already "double precision"
			edits = append(edits, edit{m[0], m[1], "AS double precision"})
		}
	}
	for _, m := range formatLit.FindAllStringIndex(code, -1) {
		end := m[1] + strings.IndexByte(q[m[1]:], '\'')
		edits = append(edits, edit{m[1], end, strings.ReplaceAll(q[m[1]:end], "%d", "%s")})
	}
	// CAST(x AS JSON) makes a varchar a JSON string and a number a JSON
	// number in Trino; PostgreSQL's cast would parse the text as JSON
	// instead, and its to_json(x) is Trino's cast.
	for _, m := range castOpen.FindAllStringIndex(code, -1) {
		end := closingParen(code, m[1])
		if end < 0 {
			return "", fmt.Errorf("trinopg: unbalanced CAST( at %q", q[m[0]:])
		}
		if as := asJSON.FindStringIndex(code[m[1]:end]); as != nil {
			edits = append(edits, edit{m[0], m[1], "to_json("}, edit{m[1] + as[0], end, ""})
		}
	}
	slices.SortFunc(edits, func(a, b edit) int { return b.at - a.at })
	for _, e := range edits {
		q = q[:e.at] + e.with + q[e.end:]
	}
	return q, nil
}

// closingParen returns the offset of the parenthesis that closes the one
// open before from in masked code, or -1.
func closingParen(code string, from int) int {
	depth := 1
	for i := from; i < len(code); i++ {
		switch code[i] {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// mask returns q with string literals, quoted identifiers and comments
// replaced by spaces, so patterns match code only. Offsets are kept.
func mask(q string) string {
	b := []byte(q)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\'' || b[i] == '"':
			quote := b[i]
			for i++; i < len(b); i++ {
				if b[i] == quote {
					if i+1 < len(b) && b[i+1] == quote {
						b[i], b[i+1] = ' ', ' '
						i++
						continue
					}
					break
				}
				b[i] = ' '
			}
		case b[i] == '-' && i+1 < len(b) && b[i+1] == '-':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		}
	}
	return string(b)
}

var comment = regexp.MustCompile(`--[^\n]*`)

func stripComments(s string) string { return comment.ReplaceAllString(s, "") }

func unquote(id string) string { return strings.Trim(id, `"`) }
