package sqlcheck_test

import (
	"github.com/DemocracyClub/dc-data-baker/internal/validate"

	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/sqlcheck"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

// deployValues are sample deploy-time values for every template.
var deployValues = validate.With(map[string]string{
	"database":          "dc_data_baker",
	"table":             "addressbase_partitioned",
	"source_table":      "addressbase_cleaned_raw",
	"target_table":      "addressbase_partitioned",
	"ballots_table":     "current_ballots",
	"addressbase_table": "addressbase_partitioned",
	"target_location":   "s3://pollingstations.private.data/addressbase/development/current_ballots_joined_to_address_base/",
	"runs_location":     "s3://pollingstations.private.data/addressbase/development/addressbase_partitioned/runs/",
	"reviews_table":     "current_boundary_reviews",
	"changes_table":     "boundary_review_address_changes",
	"list_column":       "ballot_ids",
})

// runtimeValues are sample values for the run-time {placeholders} the query
// Lambda fills; a new placeholder needs a sample here.
var runtimeValues = map[string]string{
	"first_letter":                     "M",
	"addressbase_cleaned_raw_location": "s3://pollingstations.private.data/addressbase/2026-11/addressbase_cleaned/",
	"run":                              "f3c1b0de-run",
}

var (
	bundleDir  string
	bundleOnce sync.Once
	checker    *sqlcheck.Checker
	checkerErr error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bundleDir != "" {
		os.RemoveAll(bundleDir)
	}
	os.Exit(code)
}

// newChecker bundles the checker once for all tests (esbuild takes seconds).
func newChecker(t *testing.T) *sqlcheck.Checker {
	t.Helper()
	nodetool.Require(t)
	bundleOnce.Do(func() {
		bundleDir, checkerErr = os.MkdirTemp("", "sqlcheck-")
		if checkerErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		checker, checkerErr = sqlcheck.New(ctx, bundleDir)
		t.Logf("esbuild bundle took %v", time.Since(start))
	})
	if checkerErr != nil {
		t.Fatal(checkerErr)
	}
	return checker
}

func check(t *testing.T, c *sqlcheck.Checker, stmts []sqlcheck.Statement) []sqlcheck.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := c.Check(ctx, stmts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dt-sql-parser checked %d statements in %v", len(stmts), time.Since(start))
	return res
}

// flowQueryStrings returns the literal QueryStrings (MSCK) in the layers'
// state machines, keyed by state name.
func flowQueryStrings(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sm := range []interface{ Render() ([]byte, error) }{
		addressbase.Flow(addressbase.FlowParams{Database: "dc_data_baker"}),
		currentelections.Flow(currentelections.FlowParams{Database: "dc_data_baker"}),
		boundaryreviews.Flow(boundaryreviews.FlowParams{Database: "dc_data_baker"}),
	} {
		b, err := sm.Render()
		if err != nil {
			t.Fatal(err)
		}
		var def map[string]any
		if err := json.Unmarshal(b, &def); err != nil {
			t.Fatal(err)
		}
		collectQueryStrings(def, out)
	}
	return out
}

func collectQueryStrings(v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if states, ok := v["States"].(map[string]any); ok {
			for name, s := range states {
				state, _ := s.(map[string]any)
				params, _ := state["Parameters"].(map[string]any)
				payload, _ := params["Payload"].(map[string]any)
				if q, ok := payload["QueryString"].(string); ok {
					out[name] = q
				}
			}
		}
		for _, x := range v {
			collectQueryStrings(x, out)
		}
	case []any:
		for _, x := range v {
			collectQueryStrings(x, out)
		}
	}
}

func TestEveryQueryParses(t *testing.T) {
	c := newChecker(t)
	var stmts []sqlcheck.Statement
	names := dcsql.Names()
	if len(names) < 4 {
		t.Fatalf("sql.Names() = %v, want at least the four layer templates", names)
	}
	for _, name := range names {
		rendered, err := dcsql.Render(name, deployValues)
		if err != nil {
			t.Fatalf("render sql/%s.sql: %v", name, err)
		}
		filled, err := dcsql.Fill(rendered, runtimeValues)
		if err != nil {
			t.Fatalf("sql/%s.sql: %v (add a sample value to runtimeValues)", name, err)
		}
		st, err := sqlcheck.Prepare("sql/"+name+".sql", filled)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, st)
	}
	// Every partitioned table is run-scoped and found by partition
	// projection: no state machine repairs one, or runs any SQL of its own.
	if msck := flowQueryStrings(t); len(msck) != 0 {
		t.Errorf("found %d QueryStrings in the state machines, want none: %v", len(msck), msck)
	}
	res := check(t, c, stmts)
	if f := sqlcheck.Failures(res); f != "" {
		t.Errorf("syntax errors:\n%s", f)
	}
}

// The checker must actually reject bad SQL, at the template's line.
func TestCheckerReportsErrors(t *testing.T) {
	c := newChecker(t)
	badUnload, err := sqlcheck.Prepare("bad-unload", "-- line 1\nUNLOAD (\n  SELECT a,,\n  FROM t\n)\nTO 's3://b/p/'\nWITH (format = 'PARQUET')")
	if err != nil {
		t.Fatal(err)
	}
	stmts := []sqlcheck.Statement{
		{Name: "good", Dialect: sqlcheck.Trino, SQL: "SELECT ST_Contains(ST_GeometryFromText('POINT (0 0)'), ST_Point(0, 0))"},
		{Name: "typo", Dialect: sqlcheck.Trino, SQL: "SELEC 1"},
		badUnload,
		{Name: "msck in trino", Dialect: sqlcheck.Trino, SQL: "MSCK REPAIR TABLE t"},
	}
	res := check(t, c, stmts)
	got := map[string]int{}
	for _, r := range res {
		got[r.Name] = len(r.Errors)
	}
	if got["good"] != 0 || got["typo"] == 0 || got["bad-unload"] == 0 || got["msck in trino"] == 0 {
		t.Fatalf("error counts = %v; want none only for good\n%s", got, sqlcheck.Failures(res))
	}
	if p := res[2].Errors[0]; p.Line != 3 {
		t.Errorf("bad-unload error at line %d, want 3 (the double comma): %s", p.Line, p)
	}
	if !strings.Contains(sqlcheck.Failures(res), "typo: line 1") {
		t.Errorf("Failures does not name the statement and line:\n%s", sqlcheck.Failures(res))
	}
}
