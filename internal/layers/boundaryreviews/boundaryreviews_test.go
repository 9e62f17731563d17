package boundaryreviews_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layer/layertest"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

var settings = layer.Settings{
	Names:    layer.NamesFor("development"),
	Vars:     tables.Vars{Environment: "development", Release: "current", BallotsPrefix: "ballots-with-wkt-development/"},
	Buckets:  tables.Buckets{AddressBase: "pollingstations.private.data", EE: "ee.data-cache.production"},
	Schedule: "cron(0 3 * * ? *)",
	EEDatabase: layer.DatabaseParams{
		Host: "/dc-data-baker/ee-db/host", User: "/dc-data-baker/ee-db/user", Name: "/dc-data-baker/ee-db/name", Password: "/dc-data-baker/ee-db/password",
	},
}

// The layer's declaration is deployable: Check passes, every query
// renders in the stack's database, the state machine is valid ASL, and
// its tables, output and export key are where the contract puts them.
func TestSpecRenders(t *testing.T) {
	s, err := boundaryreviews.Spec(settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	changesHome := "s3://pollingstations.private.data/addressbase/development/boundary_review_address_changes/"
	joinedHome := "s3://pollingstations.private.data/addressbase/development/current_boundary_reviews_joined_to_address_base/"
	// Both intermediate tables are run-scoped: each query writes under the
	// run's own prefix, and what reads a run reads it through a twin.
	wantSQL := map[string][]string{
		boundaryreviews.QueryChanges:       {"TO '" + changesHome + "runs/{run}/'"},
		boundaryreviews.QueryJoinLetter:    {"TO '" + joinedHome + "runs/{run}/first_letter={first_letter}/'", `."` + boundaryreviews.ChangesName + `_staging"`},
		boundaryreviews.QueryGateOneSource: {boundaryreviews.JoinedName + "_staging"},
		boundaryreviews.QueryGateUPRNs:     {boundaryreviews.JoinedName + "_staging"},
		boundaryreviews.QueryGateRawUPRNs:  {boundaryreviews.JoinedName + "_staging"},
		boundaryreviews.QueryGateConflicts: {boundaryreviews.JoinedName + "_staging"},
	}
	for _, q := range s.Queries {
		sql, err := dcsql.Render(q.Template, q.Values)
		if err != nil {
			t.Errorf("%s: %v", q.Name, err)
			continue
		}
		if !strings.Contains(sql, `"`+settings.Names.Database+`".`) {
			t.Errorf("%s: does not name the database %s", q.Name, settings.Names.Database)
		}
		for _, w := range wantSQL[q.Name] {
			if !strings.Contains(sql, w) {
				t.Errorf("%s: does not contain %s", q.Name, w)
			}
		}
		delete(wantSQL, q.Name)
	}
	if len(wantSQL) > 0 {
		t.Errorf("queries not declared: %v", wantSQL)
	}
	// A twin starts at its table's home; each run points it at its prefix.
	want := map[string]string{
		boundaryreviews.ReviewsName:              "s3://ee.data-cache.production/boundary-reviews-development/",
		boundaryreviews.ChangesName:              changesHome,
		boundaryreviews.ChangesName + "_staging": changesHome,
		boundaryreviews.JoinedName:               joinedHome,
		boundaryreviews.JoinedName + "_staging":  joinedHome,
	}
	for _, tb := range s.Tables {
		if got, err := tb.Location(s.Vars); err != nil || got != want[tb.Name] {
			t.Errorf("%s: Location = %q, %v; want %q", tb.Name, got, err, want[tb.Name])
		}
	}
	if got := s.Locations[0].URI(); got != "s3://pollingstations.private.data/addressbase/development/current_boundary_reviews_parquet/" {
		t.Errorf("output location %s", got)
	}
	export := s.Functions[slices.IndexFunc(s.Functions, func(f layer.Function) bool { return f.Role == layer.ExportBoundaryReviews })]
	if export.Env["KEY"] != "boundary-reviews-development/current_boundary_reviews.csv" || export.Env["DB_PASSWORD_PARAM"] != settings.EEDatabase.Password {
		t.Errorf("export env %v", export.Env)
	}
	if !slices.Equal(s.Triggers.Events, []string{"boundary_change_set_changed", "elections_set_changed"}) {
		t.Errorf("trigger events %v", s.Triggers.Events)
	}

	sm := s.Flow(layer.Runtime{Lambdas: s.Lambdas(func(r layer.Role) string { return layertest.Lambdas[r] }), FailureTopicArn: "arn:aws:sns:eu-west-2:123456789012:failures"})
	if err := sm.Check(); err != nil {
		t.Fatal(err)
	}
	def, err := sm.Render()
	if err != nil {
		t.Fatal(err)
	}
	if err := nodetool.ValidateASL(t.Context(), map[string][]byte{s.StateMachine: def}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{boundaryreviews.QueryChanges, boundaryreviews.QueryJoinLetter, boundaryreviews.QueryGateConflicts, `"boundary_reviews"`, "export_boundary_reviews"} {
		if !strings.Contains(string(def), name) {
			t.Errorf("state machine never names %s", name)
		}
	}
}
