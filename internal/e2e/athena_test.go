package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/athenafake"
	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	"github.com/DemocracyClub/dc-data-baker/internal/trinopg"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

// fakeAthena is the shared Athena fake with the stack's named queries,
// executing each started query (the real SQL) on a PostgreSQL warehouse
// whose tables are read from, and whose UNLOADs are written to, the fake S3.
type fakeAthena struct {
	*athenafake.Server
	w       *trinopg.Warehouse
	queries []athenafake.NamedQuery
}

var databases atomic.Int64

func newFakeAthena(t *testing.T, client *s3.Client, sc scenario) *fakeAthena {
	t.Helper()
	raw := tables.AddressBaseCleanedRaw(buckets)
	partitioned := tables.AddressBasePartitioned(buckets)
	ballotsTable := tables.CurrentBallots(buckets)
	joined := tables.CurrentBallotsJoined(buckets)
	for tb, want := range map[*tables.Table]string{&raw: cleanedPrefix, &partitioned: partitionedPrefix, &joined: joinedPrefix, &ballotsTable: "ballots-with-wkt/"} {
		if got := prefix(t, *tb); got != want {
			t.Fatalf("table %s prefix %q, the test uses %q", tb.Name, got, want)
		}
	}
	ab, err := tables.AddressBaseQueries(buckets, vars, database)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := tables.CurrentElectionsQueries(buckets, vars, database)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAthena{}
	for i, q := range append(ab, ce...) {
		sql, err := dcsql.Render(q.Template, q.Values)
		if err != nil {
			t.Fatal(err)
		}
		f.queries = append(f.queries, athenafake.NamedQuery{NamedQueryID: fmt.Sprintf("nq-%d", i+1), Name: q.Name, Database: database, QueryString: sql, WorkGroup: workgroup})
	}

	srv := pgtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, err := srv.CreateDatabase(ctx, fmt.Sprintf("athena_%d", databases.Add(1)), "postgis")
	if err != nil {
		t.Fatal(err)
	}
	f.w, err = trinopg.Open(ctx, dsn, trinopg.Catalog{
		Database:       database,
		Tables:         []tables.Table{raw, partitioned, ballotsTable, joined},
		Vars:           vars,
		Stores:         map[string]blob.Store{abBucket: blob.NewS3(client, abBucket), eeBucket: blob.NewS3(client, eeBucket)},
		SpatialIndexes: map[string]string{ballotsTable.Name: "geometry"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.w.Close(context.Background()) })

	engine := athenafake.Executing{Warehouse: f.w, Fail: map[string]string{}}
	if sc.failJoinLetter != "" {
		engine.Fail[f.fill(t, tables.QueryJoinLetter, map[string]string{"first_letter": sc.failJoinLetter})] =
			"GENERIC_INTERNAL_ERROR: fake failure joining first_letter=" + sc.failJoinLetter
	}
	f.Server = athenafake.New(t, athenafake.Options{
		NamedQueries: f.queries, Engine: engine, WorkGroup: workgroup, Database: database, RefuseStarts: sc.throttleStarts,
	})
	return f
}

// fill returns a named query's SQL as run_athena_query starts it.
func (f *fakeAthena) fill(t testing.TB, name string, runtime map[string]string) string {
	t.Helper()
	for _, q := range f.queries {
		if q.Name != name {
			continue
		}
		ctx := athenaquery.Context{}
		for k, v := range runtime {
			ctx[k], _ = json.Marshal(v)
		}
		sql, err := athenaquery.Render(q.QueryString, ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sql
	}
	t.Fatalf("no named query %s", name)
	return ""
}

// seedAddressBase runs the AddressBase layer's partition query and repair
// on csv, as the CurrentElections layer finds them after an AddressBase run.
func (e *env) seedAddressBase(csv []byte) {
	e.t.Helper()
	e.put(abBucket, cleanedPrefix+"part-0.csv", csv)
	for _, sql := range []string{
		e.athena.fill(e.t, tables.QueryPartitionAddressBase, map[string]string{"addressbase_cleaned_raw_location": abSource}),
		"MSCK REPAIR TABLE " + database + ".addressbase_partitioned",
	} {
		if _, err := e.athena.w.Exec(context.Background(), sql); err != nil {
			e.t.Fatalf("seed addressbase_partitioned: %v", err)
		}
	}
}

// identify finds which named query sql is, and the letter it was filled with.
func (f *fakeAthena) identify(sql string) (name, letter string, ok bool) {
	if strings.HasPrefix(sql, "MSCK REPAIR TABLE ") {
		return "msck", "", true
	}
	for _, q := range f.queries {
		for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
			ctx := map[string]string{"first_letter": string(c), "addressbase_cleaned_raw_location": abSource}
			if filled, err := dcsql.Fill(q.QueryString, ctx); err == nil && filled == sql {
				if len(dcsql.RuntimePlaceholders(q.QueryString)) == 0 || !strings.Contains(q.QueryString, "{first_letter}") {
					return q.Name, "", true
				}
				return q.Name, string(c), true
			}
		}
	}
	return "", "", false
}

// started lists the started queries in order as "name" or "name/letter".
func (f *fakeAthena) started() []string {
	var out []string
	for _, s := range f.Started() {
		name, letter, ok := f.identify(s.QueryString)
		if !ok {
			name = "unknown SQL: " + s.QueryString
		}
		if letter != "" {
			name += "/" + letter
		}
		out = append(out, name)
	}
	return out
}
