package sql_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/validate"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

var sample = validate.With(map[string]string{
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

func TestEveryTemplateRendersWithoutDeployPlaceholders(t *testing.T) {
	names := dcsql.Names()
	if len(names) < 4 {
		t.Fatalf("Names() = %v, want the layer queries", names)
	}
	for _, name := range names {
		got, err := dcsql.Render(name, sample)
		if err != nil {
			t.Fatalf("Render(%q): %v", name, err)
		}
		if strings.Contains(got, "{{") || strings.Contains(got, "}}") || strings.Contains(got, "<no value>") {
			t.Errorf("Render(%q) left a deploy-time placeholder:\n%s", name, got)
		}
	}
}

func TestRenderNamesTheMissingValue(t *testing.T) {
	_, err := dcsql.Render("addressbase/partition-addressbase-cleaned", validate.With(map[string]string{"database": "d", "source_table": "s"}))
	if err == nil || !strings.Contains(err.Error(), "runs_location") {
		t.Fatalf("Render without runs_location: err = %v, want one naming runs_location", err)
	}
}

func TestRenderRefusesQuoteInValue(t *testing.T) {
	vals := map[string]string{"database": "d", "source_table": "s", "runs_location": "s3://b/p'; DROP"}
	if _, err := dcsql.Render("addressbase/partition-addressbase-cleaned", vals); err == nil {
		t.Fatal("Render accepted a value with a quote")
	}
}

func TestRuntimePlaceholdersAndFill(t *testing.T) {
	rendered, err := dcsql.Render("boundaryreviews/uprn-to-boundary-reviews-first-letter", sample)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"first_letter", "run"}, dcsql.RuntimePlaceholders(rendered)); diff != "" {
		t.Errorf("RuntimePlaceholders (-want +got):\n%s", diff)
	}
	filled, err := dcsql.Fill(rendered, map[string]string{"first_letter": "M", "run": "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first_letter = 'M'", "/runs/r-1/first_letter=M/'"} {
		if !strings.Contains(filled, want) {
			t.Errorf("filled SQL lacks %q", want)
		}
	}
	_, err = dcsql.Fill(rendered, map[string]string{"other": "x"})
	if err == nil || !strings.Contains(err.Error(), "first_letter") {
		t.Errorf("Fill without first_letter: err = %v, want one naming it", err)
	}
}

func TestHashFollowsTheSQL(t *testing.T) {
	a, _ := dcsql.Render("gates/gate-uprns", sample)
	again, _ := dcsql.Render("gates/gate-uprns", sample)
	b := strings.Replace(a, "count(*)", "count(1)", 1)
	if dcsql.Hash(a) != dcsql.Hash(again) {
		t.Fatal("Hash of the same rendering differs")
	}
	if dcsql.Hash(a) == dcsql.Hash(b) {
		t.Fatal("Hash did not change when the SQL changed")
	}
}
