package trinopg_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews/reviewstest"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// TestReviewsSQLAgreesWithBakeOnSynth runs both engines of the
// BoundaryReviews layer on 20 synthetic reviews over 3,000 addresses (every
// change scenario and organisation-only reviews, see
// TestReviewInputsGiveEveryScenario): the SQL's joined table and the bake's
// must be the same text, element for element.
func TestReviewsSQLAgreesWithBakeOnSynth(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("1-2.5 minutes of PostGIS: skipped with -short")
	}
	dir := t.TempDir()
	var ab, ballotsCSV, reviewsCSV bytes.Buffer
	opts := synth.Options{Seed: 1, Addresses: 3000, Ballots: 200, Reviews: 20, MinVertices: 8, MaxVertices: 32}
	if _, err := synth.GenerateWithReviews(opts, &ab, &ballotsCSV, &reviewsCSV); err != nil {
		t.Fatal(err)
	}
	abPath, reviewsPath := filepath.Join(dir, "addressbase_cleaned.csv"), filepath.Join(dir, "boundary_reviews.csv")
	if err := errors.Join(os.WriteFile(abPath, ab.Bytes(), 0o644), os.WriteFile(reviewsPath, reviewsCSV.Bytes(), 0o644)); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "out")
	if _, err := bake.Run(context.Background(), bake.Options{
		Inputs: map[string]string{addressbase.Input: abPath, boundaryreviews.ReviewsInput: reviewsPath},
		Out:    out, Logger: slog.New(slog.DiscardHandler), KeepIntermediate: true,
	}, []bake.Layer{addressbase.Bake, boundaryreviews.Bake}); err != nil {
		t.Fatal(err)
	}
	bakeText, lists := reviewstest.BakedText(t, out)

	l := newLake(t, newDatabase(t))
	if err := errors.Join(l.put(raw, "part-0.csv", ab.Bytes()), l.put(reviews, boundaryreviews.ReviewsFile, reviewsCSV.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := l.addressBaseLayer(); err != nil {
		t.Fatal(err)
	}
	if err := l.boundaryReviewsLayer(); err != nil {
		t.Fatal(err)
	}
	sqlText, _, err := l.boundaryReviewsText()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bakeText, sqlText) {
		t.Fatalf("joined tables differ (-bake +sql):\n%.5000s", cmp.Diff(string(bakeText), string(sqlText)))
	}
	t.Logf("%d joined rows, %d bytes of text, identical", len(lists), len(sqlText))
}
