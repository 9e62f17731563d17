package trinopg_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/trinopg"
)

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     trinopg.Statement
	}{
		{"types and format", `SELECT CAST(x AS double), CAST(ARRAY[] AS array(varchar)), format('%d rows, e.g. %s', count(*), 'a %d') FROM "db"."t"`,
			trinopg.Statement{Kind: trinopg.Select, SQL: `SELECT CAST(x AS double precision), CAST(ARRAY[] AS varchar[]), format('%s rows, e.g. %s', count(*), 'a %d') FROM "db"."t"`}},
		{"unload", "-- c\nUNLOAD (SELECT a, b FROM \"db\".\"t\")\nTO 's3://b/p/'\nWITH (format = 'PARQUET', compression = 'SNAPPY', partitioned_by = ARRAY['b'])",
			trinopg.Statement{Kind: trinopg.Unload, SQL: `SELECT a, b FROM "db"."t"`, Location: "s3://b/p/", PartitionedBy: []string{"b"}}},
		{"msck", "MSCK REPAIR TABLE dc_data_baker.addressbase_partitioned",
			trinopg.Statement{Kind: trinopg.Repair, Database: "dc_data_baker", Table: "addressbase_partitioned"}},
		{"literals and comments are not code", "SELECT 'mystery(' AS x -- other(\nFROM \"db\".\"t\"",
			trinopg.Statement{Kind: trinopg.Select, SQL: "SELECT 'mystery(' AS x -- other(\nFROM \"db\".\"t\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := trinopg.Translate(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Translate (-want +got):\n%s", diff)
			}
		})
	}
}

// Syntax the layer does not know fails loudly instead of being guessed.
func TestTranslateRefusesTheUnknown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT approx_distinct(uprn) FROM t", "approx_distinct(...) is not a known function"},
		{"SELECT transform(a, x -> x + 1) FROM t", `unsupported syntax "->"`},
		{"SELECT TRY(CAST(a AS double)) FROM t", `unsupported syntax "TRY"`},
		{"SELECT a::text FROM t", `unsupported syntax "::"`},
		{"UNLOAD (SELECT 1) TO 's3://b/p/' WITH (format = 'ORC')", "UNLOAD property format = ORC is not supported"},
		{"UNLOAD (SELECT 1) TO 's3://b/p/' WITH (compression = 'SNAPPY')", "UNLOAD without format = 'PARQUET'"},
		{"UNLOAD (SELECT 1) TO 's3://b/p/' WITH (format = 'PARQUET', field_delimiter = ',')", "field_delimiter"},
		{"UNLOAD (SELECT 1) TO 's3://b/p/'", "must be followed by TO"},
		{"MSCK REPAIR TABLE t", "must name a table as database.table"},
	} {
		_, err := trinopg.Translate(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Translate(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}
