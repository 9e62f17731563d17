package trinopg_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// TestReviewInputsGiveEveryScenario runs the BoundaryReviews SQL on the
// reviews that `databaker synth --reviews` writes and on the quick-start
// sample: the real join must give every change scenario and an
// organisation-only review, so both exercise all of the layer. That is
// checked with the engine the cloud runs rather than by restating the
// generator's logic.
func TestReviewInputsGiveEveryScenario(t *testing.T) {
	t.Parallel()
	sample := filepath.Join("..", "..", "testdata", "sample")
	cases := []struct {
		name  string
		files func(t *testing.T) (addressbase, reviews []byte)
	}{
		{"synth", func(t *testing.T) ([]byte, []byte) {
			if testing.Short() {
				t.Skip("1-2.5 minutes of PostGIS: skipped with -short")
			}
			// Short sides keep PostgreSQL's point-in-polygon tests quick;
			// the scenarios do not depend on them (internal/synth checks
			// the CSV with realistic pieces).
			var ab, ballotsCSV, reviewsCSV bytes.Buffer
			opts := synth.Options{Seed: 1, Addresses: 3000, Ballots: 200, Reviews: 20, MinVertices: 8, MaxVertices: 32}
			if _, err := synth.GenerateWithReviews(opts, &ab, &ballotsCSV, &reviewsCSV); err != nil {
				t.Fatal(err)
			}
			return ab.Bytes(), reviewsCSV.Bytes()
		}},
		{"sample", func(t *testing.T) ([]byte, []byte) {
			ab, err := os.ReadFile(filepath.Join(sample, "addressbase_cleaned.csv"))
			if err != nil {
				t.Fatal(err)
			}
			reviewsCSV, err := os.ReadFile(filepath.Join(sample, "boundary_reviews.csv"))
			if err != nil {
				t.Fatal(err)
			}
			return ab, reviewsCSV
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ab, reviewsCSV := tc.files(t)
			l := newLake(t, newDatabase(t))
			if err := errors.Join(l.put(raw, "part-0.csv", ab), l.put(reviews, "boundary_reviews.csv", reviewsCSV)); err != nil {
				t.Fatal(err)
			}
			if err := l.addressBaseLayer(); err != nil {
				t.Fatal(err)
			}
			if err := l.boundaryReviewsLayer(); err != nil {
				t.Fatal(err)
			}
			got, err := l.scenarioCounts()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("addresses per change scenario: %v", got)
			for _, want := range []string{"NO_CHANGE", "NAME_CHANGED", "BOUNDARY_CHANGED", "BOTH_CHANGED", "organisation"} {
				if got[want] == 0 {
					t.Errorf("no address has %s (got %v)", want, got)
				}
			}
			// (The fixture tests check the elements' JSON.)
			_, lists, err := l.boundaryReviewsText()
			if err != nil {
				t.Fatal(err)
			}
			reviewed, multi := 0, 0
			for _, list := range lists {
				if len(list) > 0 {
					reviewed++
				}
				if len(list) > 1 {
					multi++
				}
			}
			t.Logf("%d of %d joined rows have a review, %d two or more", reviewed, len(lists), multi)
			if reviewed == 0 {
				t.Fatal("no address under any review")
			}
		})
	}
}

// scenarioCounts counts the addresses of each change_scenario in the
// changes table, those of organisation-only rows as "organisation".
func (l *lake) scenarioCounts() (map[string]int64, error) {
	res, err := l.w.Exec(context.Background(), fmt.Sprintf(
		`SELECT coalesce(change_scenario, 'organisation'), count(DISTINCT uprn) FROM "%s"."%s" GROUP BY 1`, database, changes.Name))
	if err != nil {
		return nil, err
	}
	got := map[string]int64{}
	for _, r := range res.Rows {
		n, ok := r[1].(int64)
		if !ok {
			return nil, fmt.Errorf("count is %T %v, want int64", r[1], r[1])
		}
		got[r[0].(string)] = n
	}
	return got, nil
}
