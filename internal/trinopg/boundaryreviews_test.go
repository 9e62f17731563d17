package trinopg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
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

// boundaryReviewsLayer runs MakeBoundaryReviewsParquet's queries in order.
func (l *lake) boundaryReviewsLayer() error {
	if _, err := l.run(boundaryreviews.QueryChanges, nil); err != nil {
		return err
	}
	if err := l.repair(changes); err != nil {
		return err
	}
	if err := l.perLetter(boundaryreviews.QueryJoinLetter, brJoined); err != nil {
		return err
	}
	for _, g := range []string{boundaryreviews.QueryGateOneSource, boundaryreviews.QueryGateUPRNs, boundaryreviews.QueryGateRawUPRNs, boundaryreviews.QueryGateConflicts} {
		if err := l.gate(g); err != nil {
			return err
		}
	}
	return nil
}

// boundaryReviewsText is the joined table as text, sorted by UPRN: a line
// per address (uprn, postcode, number of reviews), then one indented line
// per boundary_reviews element.
func (l *lake) boundaryReviewsText() ([]byte, [][]string, error) {
	res, err := l.w.Exec(context.Background(), fmt.Sprintf(
		`SELECT uprn, postcode, boundary_reviews FROM "%s"."%s"`, database, brJoined.Name))
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(res.Rows, func(a, b []any) int { return strings.Compare(a[0].(string), b[0].(string)) })
	var buf bytes.Buffer
	var elements [][]string
	for _, r := range res.Rows {
		list, ok := r[2].([]string)
		if !ok {
			return nil, nil, fmt.Errorf("uprn %v: boundary_reviews is %v, want a list", r[0], r[2])
		}
		fmt.Fprintf(&buf, "%s %s %d\n", r[0], r[1], len(list))
		for _, e := range list {
			fmt.Fprintf(&buf, "  %s\n", e)
		}
		elements = append(elements, list)
	}
	return buf.Bytes(), elements, nil
}

// The data contract's key order of an element, of its
// boundary_review_details and of each change.
var (
	elementKeys = []string{"boundary_review_id", "slug", "status", "boundary_review_details", "changes"}
	detailKeys  = []string{"consultation_url", "legislation_title", "effective_date", "organisation_name", "organisation_official_name", "organisation_gss"}
	changeKeys  = []string{
		"division_type", "old_division_slug", "old_division_name", "old_division_official_identifier", "old_divisionset_pmtiles_url",
		"new_division_slug", "new_division_name", "new_division_official_identifier", "new_divisionset_pmtiles_url", "change_scenario",
	}
)

// objectKeys reads one JSON object's keys in order, and each nested
// object's (by key) and each object in a nested array's (key + "[]").
func objectKeys(dec *json.Decoder, path string, out map[string][][]string) error {
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		k := t.(string)
		keys = append(keys, k)
		if err := valueKeys(dec, path+"."+k, out); err != nil {
			return err
		}
	}
	out[path] = append(out[path], keys)
	_, err := dec.Token() // }
	return err
}

func valueKeys(dec *json.Decoder, path string, out map[string][][]string) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		return objectKeys(dec, path, out)
	case json.Delim('['):
		for dec.More() {
			if err := valueKeys(dec, path+"[]", out); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}

// checkElements decodes every element and checks its keys are the
// contract's, in its order, that boundary_review_id is a number, and that
// elements are sorted by it and changes by division_type.
func checkElements(lists [][]string) error {
	for _, list := range lists {
		prev := -1.0
		for _, e := range list {
			dec := json.NewDecoder(strings.NewReader(e))
			dec.UseNumber()
			keys := map[string][][]string{}
			if err := valueKeys(dec, "", keys); err != nil {
				return fmt.Errorf("%s: %w", e, err)
			}
			for path, want := range map[string][]string{"": elementKeys, ".boundary_review_details": detailKeys, ".changes[]": changeKeys} {
				for _, got := range keys[path] {
					if !slices.Equal(got, want) {
						return fmt.Errorf("%s: keys of %q are %v, want %v", e, path, got, want)
					}
				}
			}
			var v struct {
				ID      float64 `json:"boundary_review_id"`
				Changes []struct {
					DivisionType string `json:"division_type"`
				}
			}
			if err := json.Unmarshal([]byte(e), &v); err != nil {
				return fmt.Errorf("%s: %w", e, err)
			}
			if v.ID <= prev {
				return fmt.Errorf("%v: elements not sorted by boundary_review_id", list)
			}
			prev = v.ID
			if !slices.IsSortedFunc(v.Changes, func(a, b struct {
				DivisionType string `json:"division_type"`
			}) int {
				return strings.Compare(a.DivisionType, b.DivisionType)
			}) {
				return fmt.Errorf("%s: changes not sorted by division_type", e)
			}
		}
	}
	return nil
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
		return checkElements(lists)
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
