// Package reviewstest holds what the boundary reviews layer's two engines'
// tests share: the joined table as text (the golden
// want_boundary_reviews.txt) and the check of the JSON elements against
// the data contract, so the SQL (internal/trinopg) and the bake are held
// to the same file and the same rules.
package reviewstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
)

// Row is the part of a joined table row the text shows.
type Row struct {
	UPRN, Postcode  string
	BoundaryReviews []string
}

// Text renders rows sorted by UPRN: a line per address (uprn, postcode,
// number of reviews), then one indented line per boundary_reviews element.
// It also returns each row's elements, in that order, for CheckElements.
func Text(rows []Row) ([]byte, [][]string) {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return strings.Compare(a.UPRN, b.UPRN) })
	var buf bytes.Buffer
	var lists [][]string
	for _, r := range rows {
		fmt.Fprintf(&buf, "%s %s %d\n", r.UPRN, r.Postcode, len(r.BoundaryReviews))
		for _, e := range r.BoundaryReviews {
			fmt.Fprintf(&buf, "  %s\n", e)
		}
		lists = append(lists, r.BoundaryReviews)
	}
	return buf.Bytes(), lists
}

// The data contract's key order of an element, of its
// boundary_review_details and of each change.
var (
	ElementKeys = []string{"boundary_review_id", "slug", "status", "boundary_review_details", "changes"}
	DetailKeys  = []string{"consultation_url", "legislation_title", "effective_date", "organisation_name", "organisation_official_name", "organisation_gss"}
	ChangeKeys  = []string{
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

type divisionType struct {
	DivisionType string `json:"division_type"`
}

// BakedText is the joined table the bake wrote under out, as Text renders
// it.
func BakedText(t testing.TB, out string) ([]byte, [][]string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(out, boundaryreviews.JoinedName, "first_letter=*", "*.parquet"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no joined table under %s: %v", out, err)
	}
	var rows []Row
	for _, p := range paths {
		rs, err := parquet.ReadFile[boundaryreviews.JoinedRow](p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			rows = append(rows, Row{UPRN: r.UPRN, Postcode: r.Postcode, BoundaryReviews: r.BoundaryReviews})
		}
	}
	return Text(rows)
}

// CheckElements decodes every element and checks its keys are the
// contract's, in its order, that boundary_review_id is a number, and that
// elements are sorted by it and changes by division_type.
func CheckElements(lists [][]string) error {
	for _, list := range lists {
		prev := -1.0
		for _, e := range list {
			dec := json.NewDecoder(strings.NewReader(e))
			dec.UseNumber()
			keys := map[string][][]string{}
			if err := valueKeys(dec, "", keys); err != nil {
				return fmt.Errorf("%s: %w", e, err)
			}
			for path, want := range map[string][]string{"": ElementKeys, ".boundary_review_details": DetailKeys, ".changes[]": ChangeKeys} {
				for _, got := range keys[path] {
					if !slices.Equal(got, want) {
						return fmt.Errorf("%s: keys of %q are %v, want %v", e, path, got, want)
					}
				}
			}
			var v struct {
				ID      float64 `json:"boundary_review_id"`
				Changes []divisionType
			}
			if err := json.Unmarshal([]byte(e), &v); err != nil {
				return fmt.Errorf("%s: %w", e, err)
			}
			if v.ID <= prev {
				return fmt.Errorf("%v: elements not sorted by boundary_review_id", list)
			}
			prev = v.ID
			if !slices.IsSortedFunc(v.Changes, func(a, b divisionType) int {
				return strings.Compare(a.DivisionType, b.DivisionType)
			}) {
				return fmt.Errorf("%s: changes not sorted by division_type", e)
			}
		}
	}
	return nil
}
