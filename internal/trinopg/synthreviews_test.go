package trinopg_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// TestSynthReviewsGiveEveryScenario runs the BoundaryReviews SQL on a
// small synthetic data set with 20 reviews: the real join must give every
// change scenario and an organisation-only review, so the synthetic reviews
// exercise all of the layer at scale.
func TestSynthReviewsGiveEveryScenario(t *testing.T) {
	t.Parallel()
	var ab, ballotsCSV, reviewsCSV bytes.Buffer
	// Short sides keep PostgreSQL's point-in-polygon tests quick; the
	// scenarios do not depend on them (internal/synth checks the CSV
	// with realistic pieces).
	opts := synth.Options{Seed: 1, Addresses: 3000, Ballots: 200, Reviews: 20, MinVertices: 8, MaxVertices: 32}
	if _, err := synth.GenerateWithReviews(opts, &ab, &ballotsCSV, &reviewsCSV); err != nil {
		t.Fatal(err)
	}

	l := newLake(t, newDatabase(t))
	if err := errors.Join(l.put(raw, "part-0.csv", ab.Bytes()), l.put(reviews, "boundary_reviews.csv", reviewsCSV.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := l.addressBaseLayer(); err != nil {
		t.Fatal(err)
	}
	if err := l.boundaryReviewsLayer(); err != nil {
		t.Fatal(err)
	}

	// Addresses per scenario, organisation-only rows as "organisation".
	res, err := l.w.Exec(context.Background(), fmt.Sprintf(
		`SELECT coalesce(change_scenario, 'organisation'), count(DISTINCT uprn) FROM "%s"."%s" GROUP BY 1 ORDER BY 1`, database, changes.Name))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range res.Rows {
		got[r[0].(string)] = toInt64(t, r[1])
	}
	t.Logf("addresses per change scenario: %v", got)
	for _, want := range []string{"NO_CHANGE", "NAME_CHANGED", "BOUNDARY_CHANGED", "BOTH_CHANGED", "organisation"} {
		if got[want] == 0 {
			t.Errorf("no address has %s in the synthetic reviews (got %v)", want, got)
		}
	}

	text, lists, err := l.boundaryReviewsText()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkElements(lists); err != nil {
		t.Fatal(err)
	}
	reviewed, elements := 0, 0
	for _, list := range lists {
		if len(list) > 0 {
			reviewed++
		}
		elements += len(list)
	}
	if reviewed == 0 {
		t.Fatalf("no address under any synthetic review:\n%.2000s", text)
	}
	t.Logf("%d of %d joined rows have a review (%d elements)", reviewed, len(lists), elements)
}

func toInt64(t *testing.T, v any) int64 {
	t.Helper()
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int:
		return int64(n)
	}
	t.Fatalf("count is %T %v, want an integer", v, v)
	return 0
}
