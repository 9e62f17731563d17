package manifest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"addressbase/production/current_elections_parquet/":       "addressbase/production/current_elections_manifest/manifest.json",
		"addressbase/production/current_boundary_reviews_parquet": "addressbase/production/current_boundary_reviews_manifest/manifest.json",
		"current_elections_parquet/":                              "current_elections_manifest/manifest.json",
	} {
		if got := manifest.Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("x", 201)
	if got := manifest.ItemKey(long); !strings.HasPrefix(got, "sha256:") || len(got) != 7+64 {
		t.Errorf("ItemKey of 201 bytes = %q, want its sha256", got)
	}
	if got := manifest.ItemKey("local.a.2026-05-07"); got != "local.a.2026-05-07" {
		t.Errorf("ItemKey of a ballot ID = %q", got)
	}
}

// TestCheck: each rule on its own, and a negative threshold switches its
// check off.
func TestCheck(t *testing.T) {
	prev := &manifest.Manifest{ListColumn: "ballot_ids", Totals: manifest.Totals{Outcodes: 10, UPRNs: 100, RowsWithItems: 50}}
	run := func(tot manifest.Totals, ch manifest.Changes) *manifest.Manifest {
		ch.Previous, ch.ShareBefore, ch.ShareAfter = true, prev.Totals.Share(), tot.Share()
		return &manifest.Manifest{ListColumn: "ballot_ids", Totals: tot, Changes: ch}
	}
	tests := []struct {
		name string
		prev *manifest.Manifest
		next *manifest.Manifest
		th   manifest.Thresholds
		want []string
	}{
		{"plausible", prev, run(manifest.Totals{Outcodes: 10, UPRNs: 100, RowsWithItems: 55, Areas: 3, Pieces: 9}, manifest.Changes{OutcodesChanged: 2, ChangedShare: 0.2}), manifest.Thresholds{}, nil},
		{"share moves 10.0 points: not more than allowed", prev, run(manifest.Totals{Outcodes: 10, UPRNs: 100, RowsWithItems: 60}, manifest.Changes{}), manifest.Thresholds{}, nil},
		{"share moves 11 points", prev, run(manifest.Totals{Outcodes: 10, UPRNs: 100, RowsWithItems: 61}, manifest.Changes{}), manifest.Thresholds{},
			[]string{"the share of UPRNs with ballot_ids moved from 50.0% (50 of 100) to 61.0% (61 of 100), by 11.0 points, more than the 10.0 allowed"}},
		{"share check off", prev, run(manifest.Totals{Outcodes: 10, UPRNs: 100, RowsWithItems: 90}, manifest.Changes{}), manifest.Thresholds{ShareMove: -1}, nil},
		{"no address inside any area, first run", nil, &manifest.Manifest{Totals: manifest.Totals{UPRNs: 100, Areas: 2, Pieces: 5}}, manifest.Thresholds{},
			[]string{"the input has 2 areas with geometry (5 pieces) but none of the 100 addresses is inside any: swapped longitude and latitude, or the wrong file?"}},
		{"no areas, no addresses with items: plausible", nil, &manifest.Manifest{Totals: manifest.Totals{UPRNs: 100}}, manifest.Thresholds{}, nil},
		{"invalid pieces over 0.1%", nil, &manifest.Manifest{Totals: manifest.Totals{UPRNs: 100, RowsWithItems: 5, Areas: 2, Pieces: 1000, InvalidPieces: 2}}, manifest.Thresholds{},
			[]string{"2 of 1000 input pieces (0.2%) are not OGC-valid, more than the 0.1% allowed"}},
		{"changed outcodes", prev, run(manifest.Totals{Outcodes: 10, UPRNs: 100, RowsWithItems: 50}, manifest.Changes{OutcodesChanged: 3, OutcodesAdded: 1, ChangedShare: 0.3}), manifest.Thresholds{},
			[]string{"3 of 10 outcodes (30.0%) changed content (1 added, 0 removed), more than the 25.0% allowed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, manifest.Check(tc.prev, tc.next, tc.th)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}
