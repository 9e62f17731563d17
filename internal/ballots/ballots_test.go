package ballots_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"

	"github.com/DemocracyClub/dc-data-baker/internal/ballots"
)

const hdr = "election_id,geography_id,geography_text,source_table\r\n"

func TestReadAndIndex(t *testing.T) {
	in := hdr +
		"local.a.2026-05-07,1,\"POLYGON((0 0,10 0,10 10,0 10,0 0),(4 4,6 4,6 6,4 6,4 4))\",Organisation\r\n" +
		"local.a.b.2026-05-07,2,\"MULTIPOLYGON(((0 0,2 0,2 2,0 2,0 0)),((20 20,22 20,22 22,20 22,20 20)))\",Division\r\n" +
		"local.a.c.2026-05-07,,,None\r\n" +
		"local.a.2026-05-07,1,\"POLYGON((30 30,31 30,31 31,30 31,30 30))\",Organisation\r\n"
	var got []string
	st, err := ballots.Read(strings.NewReader(in), "b.csv", func(p ballots.Piece) error {
		got = append(got, p.ElectionID+"/"+p.SourceTable)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"local.a.2026-05-07/Organisation", "local.a.b.2026-05-07/Division", "local.a.2026-05-07/Organisation"}, got); d != "" {
		t.Errorf("pieces (-want +got):\n%s", d)
	}
	if d := cmp.Diff(ballots.Stats{Rows: 4, Pieces: 3, SkippedNone: 1, Elections: 2}, st); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}

	ix, _, err := ballots.Index(strings.NewReader(in), "b.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    orb.Point
		want []string
	}{
		{orb.Point{1, 1}, []string{"local.a.2026-05-07", "local.a.b.2026-05-07"}},
		{orb.Point{5, 5}, nil},  // in the hole
		{orb.Point{10, 5}, nil}, // on the boundary
		{orb.Point{21, 21}, []string{"local.a.b.2026-05-07"}},
		{orb.Point{30.5, 30.5}, []string{"local.a.2026-05-07"}},
	} {
		if d := cmp.Diff(tc.want, ix.Containing(tc.p, nil)); d != "" {
			t.Errorf("Containing(%v) (-want +got):\n%s", tc.p, d)
		}
	}
}

func TestReadBad(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty file", "", []string{"b.csv:1:", "empty file"}},
		{"wrong header", "election_id,division_id,geometry,source_table\r\n", []string{"b.csv:1:", "header"}},
		{"missing header", "x.2026,1,\"POLYGON((0 0,1 0,1 1,0 0))\",Division\r\n", []string{"b.csv:1:", "header"}},
		{"bad wkt", hdr + "ok.2026,1,\"POLYGON((0 0,1 0,1 1,0 0))\",Division\r\nbad.2026,1,\"POLYGON((0 0,1 0,1 x,0 0))\",Division\r\n", []string{"b.csv:3:", "election bad.2026", "geography_text"}},
		{"empty geometry", hdr + "e.2026,1,,Division\r\n", []string{"b.csv:2:", "election e.2026", "empty geometry"}},
		{"columns", hdr + "e.2026,1,Division\r\n", []string{"b.csv:2:", "got 3 columns"}},
		{"source_table", hdr + "e.2026,1,\"POLYGON((0 0,1 0,1 1,0 0))\",Ward\r\n", []string{"b.csv:2:", "source_table"}},
		{"non-UTF-8", hdr + "e\xff.2026,1,\"POLYGON((0 0,1 0,1 1,0 0))\",Division\r\n", []string{"b.csv:2:", "UTF-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ballots.Index(strings.NewReader(tc.in), "b.csv")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
