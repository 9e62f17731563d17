// Package layers_test checks every layer's declaration against the rules a
// deployable layer keeps.
package layers_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

var settings = layer.Settings{
	Names:    layer.NamesFor("production"),
	Vars:     tables.Vars{Environment: "production", Release: "current", BallotsPrefix: "ballots-with-wkt/"},
	Buckets:  tables.Buckets{AddressBase: "pollingstations.private.data", EE: "ee.data-cache.production"},
	Schedule: "cron(0 3 * * ? *)",
	EEDatabase: layer.DatabaseParams{
		Host: "/dc-data-baker/ee-db/host", User: "/dc-data-baker/ee-db/user", Name: "/dc-data-baker/ee-db/name", Password: "/dc-data-baker/ee-db/password",
	},
}

func specs(t *testing.T) map[string]layer.Spec {
	t.Helper()
	all, err := layers.Specs(settings)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]layer.Spec{}
	for _, s := range all {
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		out[s.Name] = s
	}
	return out
}

// The bake runs a layer only after the layers whose folders it reads, and
// no two layers write one folder.
func TestBakeLayersWriteDistinctFolders(t *testing.T) {
	owner := map[string]string{}
	for _, l := range layers.Bake() {
		for _, f := range l.Folders {
			if o, ok := owner[f]; ok {
				t.Errorf("%s and %s both write %s", o, l.Name, f)
			}
			owner[f] = l.Name
		}
	}
	if len(owner) < 3 {
		t.Fatalf("only %d folders declared", len(owner))
	}
}

// Every layer that reads addressbase_partitioned and AddressBase, which
// switches it to a new run and deletes older runs, name each other as
// conflicts, so the guard never lets their runs overlap.
func TestReadersOfAddressBaseConflictWithIt(t *testing.T) {
	all := specs(t)
	ab := all["addressbase"]
	readers := 0
	for name, s := range all {
		if name == ab.Name || !readsPartitioned(s) {
			continue
		}
		readers++
		if !slices.Contains(s.Conflicts, ab.StateMachine) {
			t.Errorf("%s reads addressbase_partitioned but does not conflict with %s", name, ab.StateMachine)
		}
		if !slices.Contains(ab.Conflicts, s.StateMachine) {
			t.Errorf("addressbase does not conflict with %s, which reads addressbase_partitioned", s.StateMachine)
		}
	}
	if readers < 2 {
		t.Errorf("%d layers read addressbase_partitioned, want CurrentElections and BoundaryReviews at least", readers)
	}
}

// readsPartitioned reports whether one of s's queries reads addressbase_partitioned.
func readsPartitioned(s layer.Spec) bool {
	for _, q := range s.Queries {
		for _, v := range q.Values {
			if v == "addressbase_partitioned" {
				return true
			}
		}
	}
	return false
}

// Every table's location, as production deploys it.
func TestTableLocations(t *testing.T) {
	want := map[string]string{
		"addressbase_cleaned_raw": "s3://pollingstations.private.data/addressbase/current/addressbase_cleaned/",
		"addressbase_partitioned": "s3://pollingstations.private.data/addressbase/production/addressbase_partitioned/",
		// Created at the table's home; each run points it at its prefix.
		"addressbase_partitioned_staging":                "s3://pollingstations.private.data/addressbase/production/addressbase_partitioned/",
		"current_ballots":                                "s3://ee.data-cache.production/ballots-with-wkt/",
		"current_ballots_joined_to_address_base":         "s3://pollingstations.private.data/addressbase/production/current_ballots_joined_to_address_base/",
		"current_ballots_joined_to_address_base_staging": "s3://pollingstations.private.data/addressbase/production/current_ballots_joined_to_address_base/",
		// Production's own folder too: the project writes this export itself.
		"current_boundary_reviews":                                "s3://ee.data-cache.production/boundary-reviews-production/",
		"boundary_review_address_changes":                         "s3://pollingstations.private.data/addressbase/production/boundary_review_address_changes/",
		"boundary_review_address_changes_staging":                 "s3://pollingstations.private.data/addressbase/production/boundary_review_address_changes/",
		"current_boundary_reviews_joined_to_address_base":         "s3://pollingstations.private.data/addressbase/production/current_boundary_reviews_joined_to_address_base/",
		"current_boundary_reviews_joined_to_address_base_staging": "s3://pollingstations.private.data/addressbase/production/current_boundary_reviews_joined_to_address_base/",
	}
	seen := 0
	for _, s := range specs(t) {
		for _, tb := range s.Tables {
			got, err := tb.Location(s.Vars)
			if err != nil || got != want[tb.Name] {
				t.Errorf("%s: Location = %q, %v; want %q", tb.Name, got, err, want[tb.Name])
			}
			seen++
		}
	}
	if seen != len(want) {
		t.Errorf("%d tables declared, want %d", seen, len(want))
	}
}

// Every named query renders from its template with exactly its values, in
// the stack's database, and every table that names a query names one of
// its layer's.
func TestQueriesRender(t *testing.T) {
	for name, s := range specs(t) {
		queries := map[string]bool{}
		for _, q := range s.Queries {
			queries[q.Name] = true
			sql, err := dcsql.Render(q.Template, q.Values)
			if err != nil {
				t.Errorf("%s %s: %v", name, q.Name, err)
				continue
			}
			if !strings.Contains(sql, `"`+settings.Names.Database+`".`) {
				t.Errorf("%s %s: does not name the database %s", name, q.Name, settings.Names.Database)
			}
		}
		for _, tb := range s.Tables {
			if tb.Query != "" && !queries[tb.Query] {
				t.Errorf("%s: table %s names query %s, which the layer does not declare", name, tb.Name, tb.Query)
			}
		}
	}
}

// Check refuses the mistakes a new layer could make.
func TestCheckRefusesBadSpecs(t *testing.T) {
	good, err := currentelections.Spec(settings)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*layer.Spec)
		want   string
	}{
		{"no flow", func(s *layer.Spec) { s.Flow = nil }, "Flow are required"},
		{"unknown role", func(s *layer.Spec) { s.Calls = append(s.Calls, "mystery") }, "calls mystery, which is neither shared nor its own"},
		{"owned but never called", func(s *layer.Spec) { s.Calls = s.Calls[:len(s.Calls)-1] }, "owns publish-outcodes but never calls it"},
		{"shadows a shared role", func(s *layer.Spec) { s.Functions = append(s.Functions, layer.Function{Role: layer.Query}) }, "shadows a shared one"},
		{"run-scoped table without its twin", func(s *layer.Spec) {
			s.Tables = append(s.Tables, tables.Table{Name: "t", RunScoped: true})
		}, "run-scoped table t needs its staging twin t_staging"},
		{"grant for a role not called", func(s *layer.Spec) {
			s.Grants = append(s.Grants, layer.Grant{Role: layer.ExportBoundaryReviews, Sid: "X"})
		}, "grant X is for export-boundary-reviews, which it does not call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			s.Calls = append([]layer.Role(nil), good.Calls...)
			s.Functions = append([]layer.Function(nil), good.Functions...)
			s.Grants = append([]layer.Grant(nil), good.Grants...)
			s.Tables = append([]tables.Table(nil), good.Tables...)
			tc.mutate(&s)
			if err := s.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
