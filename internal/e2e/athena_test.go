package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/athenafake"
	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
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
	t       *testing.T
	w       *trinopg.Warehouse
	queries []athenafake.NamedQuery
}

// foreignID is the execution scenario.foreignQuery adds.
const foreignID = "exec-foreign"

var databases atomic.Int64

// catalogTables are the tables the machines read and write, as the layers
// declare them.
func catalogTables() []tables.Table {
	partitioned, joined := addressbase.Partitioned(buckets), currentelections.Joined(buckets)
	return []tables.Table{addressbase.Raw(buckets), partitioned, partitioned.Staging(), currentelections.Ballots(buckets), joined, joined.Staging()}
}

func newFakeAthena(t *testing.T, client *s3.Client, glue *awsfake.Glue, sc scenario) *fakeAthena {
	t.Helper()
	all := catalogTables()
	raw, partitioned, ballotsTable, joined := all[0], all[1], all[3], all[4]
	for tb, want := range map[*tables.Table]string{&raw: cleanedPrefix, &partitioned: partitionedPrefix, &joined: joinedPrefix, &ballotsTable: "ballots-with-wkt/"} {
		if got := prefix(t, *tb); got != want {
			t.Fatalf("table %s prefix %q, the test uses %q", tb.Name, got, want)
		}
	}
	// The named queries exactly as the layers declare them.
	specs, err := layers.Specs(layer.Settings{Names: layer.NamesFor("production"), Vars: vars, Buckets: buckets, Schedule: "rate(1 day)"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAthena{t: t}
	for _, spec := range specs {
		for _, q := range spec.Queries {
			sql, err := dcsql.Render(q.Template, q.Values)
			if err != nil {
				t.Fatal(err)
			}
			f.queries = append(f.queries, athenafake.NamedQuery{NamedQueryID: fmt.Sprintf("nq-%d", len(f.queries)+1), Name: q.Name, Database: database, QueryString: sql, WorkGroup: workgroup})
		}
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
		Tables:         all,
		Vars:           vars,
		Stores:         map[string]blob.Store{abBucket: blob.NewS3(client, abBucket), eeBucket: blob.NewS3(client, eeBucket)},
		SpatialIndexes: map[string]string{ballotsTable.Name: "geometry"},
		// Athena reads a table where Glue says it is now.
		Locate: func(_ context.Context, table string) (string, error) { return glue.Location(table) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.w.Close(context.Background()) })

	engine := athenafake.Executing{Warehouse: f.w, Fail: map[string]string{}}
	if sc.fail != "" {
		engine.Fail[f.sqlOf(sc.fail)] = failMessage(sc.fail)
	}
	var hold []string
	for _, label := range sc.hold {
		hold = append(hold, f.sqlOf(label))
	}
	f.Server = athenafake.New(t, athenafake.Options{
		NamedQueries: f.queries, Engine: engine, WorkGroup: workgroup, Database: database,
		RefuseStarts: sc.throttleStarts, Hold: hold, RefuseStops: sc.refuseStops,
	})
	if sc.foreignQuery != "" {
		tag, err := athenaquery.ExecutionTag(sc.foreignQuery)
		if err != nil {
			t.Fatal(err)
		}
		f.AddExecution(foreignID, "SELECT 1"+tag, athenafake.Status{State: "RUNNING"})
	}
	return f
}

// failMessage is the error Athena reports for scenario.fail's query.
func failMessage(label string) string {
	return "GENERIC_INTERNAL_ERROR: fake failure of " + label
}

// fill returns a named query's SQL as run_athena_query starts it, without
// the execution tag.
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

// runtimeValues are the values the machines fill queries with: the
// letter, the cleaned table's location from the Glue step, and the name of
// e.run's execution.
func runtimeValues(letter string) map[string]string {
	return map[string]string{"first_letter": letter, "addressbase_cleaned_raw_location": abSource, "run": execID[strings.LastIndex(execID, ":")+1:]}
}

// sqlOf returns the SQL of label, "name" or "name/letter".
func (f *fakeAthena) sqlOf(label string) string {
	name, letter, _ := strings.Cut(label, "/")
	return f.fill(f.t, name, runtimeValues(letter))
}

// seedAddressBase runs the AddressBase layer's partition query on csv into
// a run's prefix and points addressbase_partitioned at it, as the
// CurrentElections layer finds them after an AddressBase run.
func (e *env) seedAddressBase(csv []byte) {
	e.t.Helper()
	e.put(abBucket, cleanedPrefix+"part-0.csv", csv)
	values := runtimeValues("")
	values[flows.RunPlaceholder] = "seed"
	if _, err := e.athena.w.Exec(context.Background(), e.athena.fill(e.t, addressbase.QueryPartition, values)); err != nil {
		e.t.Fatalf("seed addressbase_partitioned: %v", err)
	}
	if _, err := gluetable.Switch(context.Background(), glue.NewFromConfig(e.glue.Config()), database, addressbase.PartitionedName,
		tables.RunPrefix("s3://"+abBucket+"/"+partitionedPrefix, "seed")); err != nil {
		e.t.Fatalf("seed addressbase_partitioned: %v", err)
	}
}

// label names a started query as "name" or "name/letter", "msck", or
// "foreign" for scenario.foreignQuery's.
func (f *fakeAthena) label(id, query string) string {
	if id == foreignID {
		return "foreign"
	}
	sql := athenafake.WithoutTrailingComments(query)
	if strings.HasPrefix(sql, "MSCK REPAIR TABLE ") {
		return "msck"
	}
	for _, q := range f.queries {
		re := filledPattern(q.QueryString)
		m := re.FindStringSubmatch(sql)
		if m == nil {
			continue
		}
		if i := re.SubexpIndex("first_letter"); i > 0 {
			return q.Name + "/" + m[i]
		}
		return q.Name
	}
	return "unknown SQL: " + query
}

// filledPattern matches rendered SQL with its run-time placeholders filled
// by any value (a run's name differs with every execution); the first
// {first_letter} is captured by name.
func filledPattern(rendered string) *regexp.Regexp {
	named := map[string]bool{}
	re := regexp.MustCompile(`\\\{([A-Za-z_][A-Za-z0-9_]*)\\\}`).ReplaceAllStringFunc(regexp.QuoteMeta(rendered), func(m string) string {
		name := m[2 : len(m)-2]
		if name == "first_letter" && !named[name] {
			named[name] = true
			return "(?P<first_letter>[^']*)"
		}
		return "[^']*"
	})
	return regexp.MustCompile("^" + re + "$")
}

// started lists the queries the machines started, in order, by label.
func (f *fakeAthena) started() []string {
	var out []string
	for _, s := range f.Started() {
		out = append(out, f.label("", s.QueryString))
	}
	return out
}

// states returns each query's label and current state, in start order.
func (f *fakeAthena) states() []string {
	var out []string
	for _, x := range f.Executions() {
		out = append(out, f.label(x.ID, x.Query)+" "+x.State)
	}
	return out
}

// release runs the held query label on the warehouse and lets it end.
func (f *fakeAthena) release(label string) {
	f.t.Helper()
	n, err := f.Release(f.sqlOf(label))
	if err != nil || n == 0 {
		f.t.Fatalf("release %s: %d queries released, error %v", label, n, err)
	}
}
