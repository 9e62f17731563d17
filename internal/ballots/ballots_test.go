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
		"local.a.2026-05-07,1,\"POLYGON((-5 50,-3 50,-3 52,-5 52,-5 50),(-4.2 50.8,-3.8 50.8,-3.8 51.2,-4.2 51.2,-4.2 50.8))\",Organisation\r\n" +
		"local.a.b.2026-05-07,2,\"MULTIPOLYGON(((-5 50,-4.6 50,-4.6 50.4,-5 50.4,-5 50)),((-1 54,-0.6 54,-0.6 54.4,-1 54.4,-1 54)))\",Division\r\n" +
		"local.a.c.2026-05-07,,,None\r\n" +
		"local.a.2026-05-07,1,\"POLYGON((1 56,1.2 56,1.2 56.2,1 56.2,1 56))\",Organisation\r\n"
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
		{orb.Point{-4.8, 50.2}, []string{"local.a.2026-05-07", "local.a.b.2026-05-07"}},
		{orb.Point{-4, 51}, nil}, // in the hole
		{orb.Point{-3, 51}, nil}, // on the boundary
		{orb.Point{-0.8, 54.2}, []string{"local.a.b.2026-05-07"}},
		{orb.Point{1.1, 56.1}, []string{"local.a.2026-05-07"}},
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
		{"missing header", "x.2026,1,\"POLYGON((-5 50,-4.8 50,-4.8 50.2,-5 50))\",Division\r\n", []string{"b.csv:1:", "header"}},
		{"bad wkt", hdr + "ok.2026,1,\"POLYGON((-5 50,-4.8 50,-4.8 50.2,-5 50))\",Division\r\nbad.2026,1,\"POLYGON((-5 50,-4.8 50,-4.8 x,-5 50))\",Division\r\n", []string{"b.csv:3:", "election bad.2026", "geography_text"}},
		{"empty geometry", hdr + "e.2026,1,,Division\r\n", []string{"b.csv:2:", "election e.2026", "empty geometry"}},
		{"columns", hdr + "e.2026,1,Division\r\n", []string{"b.csv:2:", "got 3 columns"}},
		{"source_table", hdr + "e.2026,1,\"POLYGON((-5 50,-4.8 50,-4.8 50.2,-5 50))\",Ward\r\n", []string{"b.csv:2:", "source_table"}},
		{"election_id trailing space", hdr + "e.2026 ,1,\"POLYGON((-5 50,-4.8 50,-4.8 50.2,-5 50))\",Division\r\n", []string{"b.csv:2:", "field election_id", "surrounding whitespace"}},
		{"swapped lat/lon", hdr + "e.2026,1,\"POLYGON((50 -5,50 -4.8,50.2 -4.8,50 -5))\",Division\r\n", []string{"b.csv:2:", "election e.2026", "geography_text", "swapped"}},
		{"non-UTF-8", hdr + "e\xff.2026,1,\"POLYGON((-5 50,-4.8 50,-4.8 50.2,-5 50))\",Division\r\n", []string{"b.csv:2:", "UTF-8"}},
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

// A byte-order mark is skipped, as the AddressBase reader does; a piece
// that is not OGC-valid (a bow-tie) is read and reported with its line.
func TestReadBOMAndInvalidPiece(t *testing.T) {
	in := "\ufeff" + hdr +
		"ok.2026,1,\"POLYGON((-5 50,-4.8 50,-4.8 50.2,-5 50))\",Division\r\n" +
		"bowtie.2026,2,\"POLYGON((-5 50,-4.8 50.2,-4.8 50,-5 50.2,-5 50))\",Division\r\n"
	var n int
	st, err := ballots.Read(strings.NewReader(in), "b.csv", func(ballots.Piece) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(st.Invalid) != 1 {
		t.Fatalf("pieces %d, invalid %+v; want 2 pieces, 1 invalid", n, st.Invalid)
	}
	if iv := st.Invalid[0]; iv.File != "b.csv" || iv.Line != 3 || iv.ID != "bowtie.2026" || iv.Reason == "" {
		t.Errorf("invalid piece %+v", iv)
	}
}
