package sqlcheck_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/sqlcheck"
)

func TestPrepare(t *testing.T) {
	tests := []struct {
		name, in string
		want     sqlcheck.Statement
	}{
		{
			name: "select stays trino",
			in:   "SELECT 1",
			want: sqlcheck.Statement{Name: "q", Dialect: sqlcheck.Trino, SQL: "SELECT 1"},
		},
		{
			name: "msck goes to hive",
			in:   "-- repair\nmsck repair table db.t",
			want: sqlcheck.Statement{Name: "q", Dialect: sqlcheck.Hive, SQL: "-- repair\nmsck repair table db.t"},
		},
		{
			name: "unload becomes ctas on the same lines",
			in: "-- c (with a paren\nUNLOAD (\n    SELECT ')' AS x, \"a)\" FROM t -- )\n)\nTO 's3://b/p/'\n" +
				"WITH (format = 'PARQUET',\n      partitioned_by = ARRAY['x']);\n",
			want: sqlcheck.Statement{Name: "q", Dialect: sqlcheck.Trino, SQL: "-- c (with a paren\n" +
				"CREATE TABLE unload_check WITH (format = 'PARQUET', partitioned_by = ARRAY['x']) AS \n" +
				"    SELECT ')' AS x, \"a)\" FROM t -- )\n" +
				blank(")\nTO 's3://b/p/'\nWITH (format = 'PARQUET',\n      partitioned_by = ARRAY['x']);\n")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqlcheck.Prepare("q", tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if strings.Count(got.SQL, "\n") != strings.Count(tc.in, "\n") {
				t.Errorf("line count changed: %d -> %d", strings.Count(tc.in, "\n"), strings.Count(got.SQL, "\n"))
			}
		})
	}
}

func TestPrepareRejectsMalformedUnload(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no TO", "UNLOAD (SELECT 1) WITH (format = 'PARQUET')", "must be followed by TO"},
		{"unclosed", "UNLOAD (SELECT (1", "never closed"},
		{"unterminated string", "UNLOAD (SELECT 'x)", "unterminated ' quote"},
		{"junk after", "UNLOAD (SELECT 1) TO 's3://b/' WITH (format = 'PARQUET') SELECT 2", "unexpected text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlcheck.Prepare("bad.sql", tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad.sql") {
				t.Fatalf("err = %v, want one naming bad.sql and containing %q", err, tc.want)
			}
		})
	}
}

// blank replaces everything but newlines with spaces, as Prepare does with
// the UNLOAD's tail.
func blank(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		return ' '
	}, s)
}
