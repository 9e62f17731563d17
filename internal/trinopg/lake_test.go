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
}

// newLake starts an empty lake on database dsn (newDatabase). Lakes may
// share a database one after another: a new warehouse loads every table
// it reads afresh.
func newLake(t testing.TB, dsn string) *lake {
	t.Helper()
	root := t.TempDir()
	l := &lake{ab: blob.NewDir(filepath.Join(root, "ab")), ee: blob.NewDir(filepath.Join(root, "ee")), source: location(raw)}
	w, err := trinopg.Open(context.Background(), dsn, trinopg.Catalog{
		Database: database,
		Tables:   []tables.Table{raw, parts, ballots, joined, reviews, changes, brJoined},
		Vars:     vars,
		Stores:   map[string]blob.Store{buckets.AddressBase: l.ab, buckets.EE: l.ee},
		// The join reads current_ballots.geometry as WKT.
		SpatialIndexes: map[string]string{ballots.Name: "geometry", reviews.Name: "geometry"},
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

// repair runs the state machines' MSCK REPAIR TABLE.
func (l *lake) repair(t tables.Table) error {
	_, err := l.w.Exec(context.Background(), "MSCK REPAIR TABLE "+database+"."+t.Name)
	return err
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

// partition runs the partition query with the run-time source location.
func (l *lake) partition() (trinopg.Result, error) {
	return l.run(addressbase.QueryPartition, map[string]string{raw.Name + "_location": l.source})
}

// addressBaseLayer runs MakeAddressBasePartitioned's queries in order.
func (l *lake) addressBaseLayer() error {
	if _, err := l.partition(); err != nil {
		return err
	}
	if err := l.repair(parts); err != nil {
		return err
	}
	for _, g := range []string{addressbase.QueryGateOneSource, addressbase.QueryGateUPRNs} {
		if err := l.gate(g); err != nil {
			return err
		}
	}
	return nil
}

// joinLetters runs the join, which writes every letter at once, then the
// repair.
func (l *lake) joinLetters() error {
	if _, err := l.run(currentelections.QueryJoin, nil); err != nil {
		return err
	}
	return l.repair(joined)
}

// perLetter runs the named query for every letter of
// addressbase_partitioned, as a state machine's letters Map does, then
// repairs t.
func (l *lake) perLetter(query string, t tables.Table) error {
	objs, err := l.ab.List(context.Background(), keyPrefix(parts))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, o := range objs {
		dir := strings.Split(strings.TrimPrefix(o.Key, keyPrefix(parts)), "/")[0]
		letter, ok := strings.CutPrefix(dir, "first_letter=")
		if !ok || seen[letter] {
			continue
		}
		seen[letter] = true
		if _, err := l.run(query, map[string]string{"first_letter": letter}); err != nil {
			return err
		}
	}
	return l.repair(t)
}

// joinedGates are the CurrentElections gates, in the Parallel's order.
var joinedGates = []string{currentelections.QueryGateOneSource, currentelections.QueryGateUPRNs, currentelections.QueryGateRawUPRNs, currentelections.QueryGateConflicts}

// currentElectionsLayer runs MakeCurrentElectionsParquet's queries in order.
func (l *lake) currentElectionsLayer() error {
	if err := l.joinLetters(); err != nil {
		return err
	}
	for _, g := range joinedGates {
		if err := l.gate(g); err != nil {
			return err
		}
	}
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
