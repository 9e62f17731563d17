package trinopg_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews/reviewstest"
)

// brFixtures are the hand-worked boundary reviews fixtures: review 7 has
// old and new wards (DIW) and divisions (CED) giving every change
// scenario; review 12 is organisation-only and overlaps review 7.
var brFixtures = filepath.Join(fixtures, "boundary_reviews")

// loadReviews places the fixtures' AddressBase CSV and reviews CSV (its
// data rows reversed when reversed is true) at their tables' locations.
func (l *lake) loadReviews(reversed bool) error {
	ab, err := os.ReadFile(filepath.Join(brFixtures, "addressbase.csv"))
	if err != nil {
		return err
	}
	csv, err := os.ReadFile(filepath.Join(brFixtures, "reviews.csv"))
	if err != nil {
		return err
	}
	if reversed {
		lines := strings.SplitAfter(string(csv), "\n") // the last is ""
		slices.Reverse(lines[1 : len(lines)-1])
		csv = []byte(strings.Join(lines, ""))
	}
	return errors.Join(l.put(raw, "part-0.csv", ab), l.put(reviews, boundaryreviews.ReviewsFile, csv))
}

// boundaryReviewsLayer runs MakeBoundaryReviewsParquet's queries in order,
// in a new run whose prefixes the staging twins point at, and switches both
// tables to the run when the gates pass.
func (l *lake) boundaryReviewsLayer() error {
	run := map[string]string{flows.RunPlaceholder: l.newRun(changes, brJoined)}
	if _, err := l.run(boundaryreviews.QueryChanges, run); err != nil {
		return err
	}
	if err := l.perLetter(boundaryreviews.QueryJoinLetter, run); err != nil {
		return err
	}
	for _, g := range []string{boundaryreviews.QueryGateOneSource, boundaryreviews.QueryGateUPRNs, boundaryreviews.QueryGateRawUPRNs, boundaryreviews.QueryGateConflicts} {
		if err := l.gate(g); err != nil {
			return err
		}
	}
	l.switchTo(run[flows.RunPlaceholder], changes, brJoined)
	return nil
}

// boundaryReviewsText is the joined table as reviewstest.Text renders it,
// and its rows' elements.
func (l *lake) boundaryReviewsText() ([]byte, [][]string, error) {
	res, err := l.w.Exec(context.Background(), fmt.Sprintf(
		`SELECT uprn, postcode, boundary_reviews FROM "%s"."%s"`, database, brJoined.Name))
	if err != nil {
		return nil, nil, err
	}
	rows := make([]reviewstest.Row, len(res.Rows))
	for i, r := range res.Rows {
		list, ok := r[2].([]string)
		if !ok {
			return nil, nil, fmt.Errorf("uprn %v: boundary_reviews is %v, want a list", r[0], r[2])
		}
		rows[i] = reviewstest.Row{UPRN: r[0].(string), Postcode: r[1].(string), BoundaryReviews: list}
	}
	text, lists := reviewstest.Text(rows)
	return text, lists, nil
}

// wantBoundaryReviews is the hand-worked result (golden; -update rewrites
// it, and the rewrite must then be checked by hand).
var wantBoundaryReviews = filepath.Join(brFixtures, "want_boundary_reviews.txt")

var boundaryReviewScenarios = []scenario{
	{"boundary reviews on the fixtures give the hand-worked elements", func(l *lake) error {
		if err := l.loadReviews(false); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		if err := l.boundaryReviewsLayer(); err != nil {
			return err
		}
		got, lists, err := l.boundaryReviewsText()
		if err != nil {
			return err
		}
		if golden.Updating() {
			if err := os.WriteFile(wantBoundaryReviews, got, 0o644); err != nil {
				return err
			}
		}
		want, err := os.ReadFile(wantBoundaryReviews)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			return fmt.Errorf("%s (-want +got):\n%s", wantBoundaryReviews, diff)
		}
		return reviewstest.CheckElements(lists)
	}},
	{"boundary reviews: a row that breaks a rule of a valid row fails the join, naming its review and field", func(l *lake) error {
		// The local bake's reader refuses the same rows (internal/layers/boundaryreviews, TestBakeRejectsBadReviews).
		const org = `12,beta-2027,CURRENT,Consultation open,,,,Beta,Beta Borough Council,E07000888,`
		if err := l.loadReviews(false); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		csv, err := os.ReadFile(filepath.Join(brFixtures, "reviews.csv"))
		if err != nil {
			return err
		}
		for _, tc := range []struct{ row, want string }{
			{org + `organisation,,,,,,,"POLYGON((51.6 0.6,51.6 1.2,52 1.2,52 0.6,51.6 0.6))"`, "boundary reviews: review 12 (division ): field geometry is outside longitude -9.0..2.5, latitude 49.0..61.5 (swapped lon/lat?)"},
			{org + `organisation,,,,,,,"POLYGON((0.6 0,1.2 0,1.2 1,0.6 0))"`, "boundary reviews: review 12 (division ): field geometry is outside longitude"},
			{org + `organisation,,,,,,,`, "boundary reviews: review 12: field geometry is empty"},
			{org + `proposed,,,,,,,"POLYGON((0.6 51.6,1.2 51.6,1.2 52,0.6 52,0.6 51.6))"`, "boundary reviews: review 12: field divisionset_generation proposed is not old, new or organisation"},
		} {
			if err := l.put(reviews, boundaryreviews.ReviewsFile, append(slices.Clone(csv), tc.row+"\n"...)); err != nil {
				return err
			}
			_, err = l.run(boundaryreviews.QueryChanges, map[string]string{flows.RunPlaceholder: l.newRun(changes)})
			if err := wantErr(err, "GENERIC_USER_ERROR: "+tc.want); err != nil {
				return fmt.Errorf("row %s: %w", tc.row, err)
			}
		}
		return nil
	}},
	{"boundary reviews: the CSV's rows in another order give identical bytes", func(l *lake) error {
		if err := l.loadReviews(true); err != nil {
			return err
		}
		if err := l.addressBaseLayer(); err != nil {
			return err
		}
		if err := l.boundaryReviewsLayer(); err != nil {
			return err
		}
		got, _, err := l.boundaryReviewsText()
		if err != nil {
			return err
		}
		want, err := os.ReadFile(wantBoundaryReviews)
		if err != nil {
			return err
		}
		if !bytes.Equal(want, got) {
			return fmt.Errorf("reversed reviews CSV: joined table differs from %s:\n%s", wantBoundaryReviews, cmp.Diff(string(want), string(got)))
		}
		return nil
	}},
}

func init() { scenarios = append(scenarios, boundaryReviewScenarios...) }
