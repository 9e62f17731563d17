package trinopg_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	"github.com/DemocracyClub/dc-data-baker/internal/trinopg"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

const fixtures = "../../testdata/fixtures"

// names are production's: the database is dc_data_baker.
var names = layer.NamesFor("production")

var database = names.Database

var (
	buckets = tables.Buckets{AddressBase: "ab-bucket", EE: "ee-bucket"}
	vars    = tables.Vars{Environment: "test", Release: "r1", BallotsPrefix: "ballots/"}
	raw     = addressbase.Raw(buckets)
	parts   = addressbase.Partitioned(buckets)
	ballots = currentelections.Ballots(buckets)
	joined  = currentelections.Joined(buckets)
	// The BoundaryReviews layer's tables (not yet in layers.All).
	reviews  = boundaryreviews.Reviews(buckets)
	changes  = boundaryreviews.Changes(buckets)
	brJoined = boundaryreviews.Joined(buckets)
)

var template struct {
	once sync.Once
	err  error
	n    atomic.Int64
}

// newDatabase returns the DSN of a fresh PostGIS database on the package's
// shared server, cloned from a template (much faster than CREATE EXTENSION).
func newDatabase(t testing.TB) string {
	t.Helper()
	s := pgtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	template.once.Do(func() { _, template.err = s.CreateDatabase(ctx, "trinopg_template", "postgis") })
	if template.err != nil {
		t.Fatal(template.err)
	}
	dsn, err := s.CloneDatabase(ctx, fmt.Sprintf("trinopg_%d", template.n.Add(1)), "trinopg_template")
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// lake is the cloud path on one machine: each bucket a folder, the Glue
// catalog the project's tables, Athena the warehouse.
type lake struct {
	w      *trinopg.Warehouse
	ab, ee *blob.Dir
	// sources replaces sql/ templates by name (mutation tests).
	sources map[string]string
	// source is the partition query's run-time addressbase_source; the
	// state machine reads it from Glue: the raw table's location.
	source string
	// locations are the run-scoped tables' current locations, as Glue
	// holds them; the others are where they are declared.
	locations map[string]string
	runs      int
}

// newLake starts an empty lake on database dsn (newDatabase). Lakes may
// share a database one after another: a new warehouse loads every table
// it reads afresh.
func newLake(t testing.TB, dsn string) *lake {
	t.Helper()
	root := t.TempDir()
	l := &lake{ab: blob.NewDir(filepath.Join(root, "ab")), ee: blob.NewDir(filepath.Join(root, "ee")), source: location(raw), locations: map[string]string{}}
	w, err := trinopg.Open(context.Background(), dsn, trinopg.Catalog{
		Database: database,
		Tables:   []tables.Table{raw, parts, parts.Staging(), ballots, joined, joined.Staging(), reviews, changes, changes.Staging(), brJoined, brJoined.Staging()},
		Vars:     vars,
		Stores:   map[string]blob.Store{buckets.AddressBase: l.ab, buckets.EE: l.ee},
		// The join reads current_ballots.geometry as WKT.
		SpatialIndexes: map[string]string{ballots.Name: "geometry", reviews.Name: "geometry"},
		Locate:         func(_ context.Context, table string) (string, error) { return l.locations[table], nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	l.w = w
	return l
}

func location(t tables.Table) string {
	loc, err := t.Location(vars)
	if err != nil {
		panic(err)
	}
	return loc
}

func keyPrefix(t tables.Table) string {
	p, err := t.KeyPrefix(vars)
	if err != nil {
		panic(err)
	}
	return p
}

// keyPrefix is a table's current key prefix in its bucket.
func (l *lake) keyPrefix(t tables.Table) string {
	if loc, ok := l.locations[t.Name]; ok {
		return strings.TrimPrefix(loc, "s3://"+t.Bucket+"/")
	}
	return keyPrefix(t)
}

// put stores a file's bytes under a table's location.
func (l *lake) put(t tables.Table, name string, data []byte) error {
	s := l.ab
	if t.Bucket == buckets.EE {
		s = l.ee
	}
	_, err := s.Put(context.Background(), keyPrefix(t)+name, data)
	return err
}

// run renders the named query as the components deploy it, fills its
// run-time values as run_athena_query does, and executes it.
func (l *lake) run(name string, runtime map[string]string) (trinopg.Result, error) {
	settings := layer.Settings{Names: names, Vars: vars, Buckets: buckets, Schedule: "rate(1 day)"}
	specs, err := layers.Specs(settings)
	if err != nil {
		return trinopg.Result{}, err
	}
	br, err := boundaryreviews.Spec(settings)
	if err != nil {
		return trinopg.Result{}, err
	}
	specs = append(specs, br)
	var queries []layer.NamedQuery
	for _, s := range specs {
		queries = append(queries, s.Queries...)
	}
	for _, q := range queries {
		if q.Name != name {
			continue
		}
		src, ok := l.sources[q.Template]
		if !ok {
			if src, err = dcsql.Source(q.Template); err != nil {
				return trinopg.Result{}, err
			}
		}
		rendered, err := dcsql.RenderSource(q.Template, src, q.Values)
		if err != nil {
			return trinopg.Result{}, err
		}
		ctx := athenaquery.Context{}
		for k, v := range runtime {
			ctx[k], _ = json.Marshal(v)
		}
		filled, err := athenaquery.Render(rendered, ctx)
		if err != nil {
			return trinopg.Result{}, err
		}
		res, err := l.w.Exec(context.Background(), filled)
		if err != nil {
			return res, fmt.Errorf("%s: %w", name, err)
		}
		return res, nil
	}
	return trinopg.Result{}, fmt.Errorf("no named query %s", name)
}

// gate runs a gate query and wants its one row, 'ok'.
func (l *lake) gate(name string) error {
	res, err := l.run(name, nil)
	if err != nil {
		return err
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != "ok" {
		return fmt.Errorf("%s: rows %v, want one 'ok'", name, res.Rows)
	}
	return nil
}

// runInto points t's staging twin at a new run's prefix and runs query
// into it with runtime and the run's name, as the state machines do; it
// returns the run's location.
func (l *lake) runInto(t tables.Table, query, runPlaceholder string, runtime map[string]string) (string, trinopg.Result, error) {
	run := l.newRun(t)
	loc := tables.RunPrefix(location(t), run)
	values := map[string]string{runPlaceholder: run}
	for k, v := range runtime {
		values[k] = v
	}
	res, err := l.run(query, values)
	return loc, res, err
}

// newRun names a new run and points the staging twin of each of ts at the
// run's prefix, as a state machine's first steps do.
func (l *lake) newRun(ts ...tables.Table) string {
	l.runs++
	run := fmt.Sprintf("lake-%d", l.runs)
	for _, t := range ts {
		l.locations[t.Staging().Name] = tables.RunPrefix(location(t), run)
	}
	return run
}

// switchTo points each of ts at run's prefix, as a state machine's switch
// steps do.
func (l *lake) switchTo(run string, ts ...tables.Table) {
	for _, t := range ts {
		l.locations[t.Name] = tables.RunPrefix(location(t), run)
	}
}

// partition runs the partition query into a new run's prefix with the
// run-time source location.
func (l *lake) partition() (string, trinopg.Result, error) {
	return l.runInto(parts, addressbase.QueryPartition, flows.RunPlaceholder, map[string]string{raw.Name + "_location": l.source})
}

// addressBaseLayer runs MakeAddressBasePartitioned's queries in order, and
// switches addressbase_partitioned to the run when its gates pass.
func (l *lake) addressBaseLayer() error {
	loc, _, err := l.partition()
	if err != nil {
		return err
	}
	for _, g := range []string{addressbase.QueryGateOneSource, addressbase.QueryGateUPRNs} {
		if err := l.gate(g); err != nil {
			return err
		}
	}
	l.locations[parts.Name] = loc
	return nil
}

// joinLetters runs the join, which writes every letter at once, into a new
// run's prefix, where the gates find it through the staging twin; it
// returns the run's location.
func (l *lake) joinLetters() (string, error) {
	loc, _, err := l.runInto(joined, currentelections.QueryJoin, flows.RunPlaceholder, nil)
	return loc, err
}

// perLetter runs the named query with runtime for every letter of
// addressbase_partitioned, as a state machine's letters Map does.
func (l *lake) perLetter(query string, runtime map[string]string) error {
	objs, err := l.ab.List(context.Background(), l.keyPrefix(parts))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, o := range objs {
		dir := strings.Split(strings.TrimPrefix(o.Key, l.keyPrefix(parts)), "/")[0]
		letter, ok := strings.CutPrefix(dir, "first_letter=")
		if !ok || seen[letter] {
			continue
		}
		seen[letter] = true
		values := map[string]string{"first_letter": letter}
		for k, v := range runtime {
			values[k] = v
		}
		if _, err := l.run(query, values); err != nil {
			return err
		}
	}
	return nil
}

// joinedGates are the CurrentElections gates, in the Parallel's order.
var joinedGates = []string{currentelections.QueryGateOneSource, currentelections.QueryGateUPRNs, currentelections.QueryGateRawUPRNs, currentelections.QueryGateConflicts}

// currentElectionsLayer runs MakeCurrentElectionsParquet's queries in order.
func (l *lake) currentElectionsLayer() error {
	loc, err := l.joinLetters()
	if err != nil {
		return err
	}
	for _, g := range joinedGates {
		if err := l.gate(g); err != nil {
			return err
		}
	}
	l.locations[joined.Name] = loc
	return nil
}

// load places an AddressBase CSV and a ballots CSV from testdata/fixtures
// (or absolute paths) at their tables' locations.
func (l *lake) load(addressbase, ballotsCSV string) error {
	for _, f := range []struct {
		t          tables.Table
		path, name string
	}{{raw, addressbase, "part-0.csv"}, {ballots, ballotsCSV, "current_elections.csv"}} {
		if !filepath.IsAbs(f.path) {
			f.path = filepath.Join(fixtures, f.path)
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		if err := l.put(f.t, f.name, b); err != nil {
			return err
		}
	}
	return nil
}
