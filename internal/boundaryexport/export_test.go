package boundaryexport_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/boundaryexport"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// today is eetest.Now's date, 2026-05-01.
var today = time.Date(eetest.Now.Year(), eetest.Now.Month(), eetest.Now.Day(), 0, 0, 0, 0, time.UTC)

// parse reads the CSV back as records, checking the header.
func parse(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("read CSV back: %v", err)
	}
	if diff := cmp.Diff(boundaryexport.Header, recs[0]); diff != "" {
		t.Fatalf("header (-want +got):\n%s", diff)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// summary lists, per review and generation, the division set, pmtiles URL
// and division slugs in row order: the selection, in one readable value.
func summary(rows []map[string]string) []string {
	var out []string
	for _, r := range rows {
		s := fmt.Sprintf("%s %s %s set=%s %s %s/%s gss=%s",
			r["boundary_review_id"], r["slug"], r["divisionset_generation"], r["divisionset_id"],
			r["divisionset_pmtiles_url"], r["division_type"], r["division_slug"], r["organisation_gss"])
		if n := len(out); n > 0 && strings.HasPrefix(out[n-1], s) {
			out[n-1] += "+"
			continue
		}
		out = append(out, s)
	}
	return out
}

const pm = boundaryexport.PMTilesBase

func TestWriteCSV(t *testing.T) {
	conn := eetest.NewDB(t).ConnectAsEE(t)
	// The rows of reviews 1, 2 and 5: every kind, and only MAP reviews.
	mapReviews := []string{
		"1 adur-2027 old set=10 " + pm + "adur_10_0a1b2c3d4e5f60718293a4b5c6d7e8f9.pmtiles DIW/buckingham gss=E07000223++",
		"1 adur-2027 old set=10 " + pm + "adur_10_0a1b2c3d4e5f60718293a4b5c6d7e8f9.pmtiles DIW/cokeham gss=E07000223",
		"1 adur-2027 new set=11  DIW/buckingham gss=E07000223",
		"1 adur-2027 new set=11  DIW/cokeham-and-marsh gss=E07000223",
		"2 gla-2026 organisation set=  / gss=E12000007+",
	}
	worthing2026 := []string{
		"5 worthing-2026 new set=31 " + pm + "worthing_31_f31f31f31f31f31f31f31f31f31f31f3.pmtiles DIW/central gss=E07000229",
		"5 worthing-2026 new set=31 " + pm + "worthing_31_f31f31f31f31f31f31f31f31f31f31f3.pmtiles DIW/marine gss=E07000229+",
	}
	worthing2028 := []string{
		"3 worthing-2028 old set=31 " + pm + "worthing_31_f31f31f31f31f31f31f31f31f31f31f3.pmtiles DIW/central gss=E07000229",
		"3 worthing-2028 old set=31 " + pm + "worthing_31_f31f31f31f31f31f31f31f31f31f31f3.pmtiles DIW/marine gss=E07000229+",
		"3 worthing-2028 new set=32 " + pm + "worthing_32_e32e32e32e32e32e32e32e32e32e32e3.pmtiles DIW/central gss=E07000229",
		"3 worthing-2028 new set=32 " + pm + "worthing_32_e32e32e32e32e32e32e32e32e32e32e3.pmtiles DIW/heene gss=E07000229",
	}
	cat := func(parts ...[]string) (out []string) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name    string
		sel     boundaryexport.Selection
		golden  string // testdata file, or "" to check the summary alone
		summary []string
		stats   boundaryexport.Stats
	}{
		{
			name:    "every visibility",
			sel:     boundaryexport.Selection{Today: today},
			golden:  "testdata/current_boundary_reviews.csv",
			summary: cat(mapReviews, worthing2028, worthing2026),
			stats:   boundaryexport.Stats{Rows: 16, Reviews: 4, DivisionsWithoutGeometry: 1, EmptyPieces: 1},
		},
		{
			name:    "MAP only leaves out the HIDDEN review",
			sel:     boundaryexport.Selection{Today: today, MapOnly: true},
			golden:  "testdata/map_only.csv",
			summary: cat(mapReviews, worthing2026),
			stats:   boundaryexport.Stats{Rows: 11, Reviews: 3},
		},
		{
			name: "a 16-day look-back keeps the review completed on 2026-04-15",
			sel:  boundaryexport.Selection{Today: today, CompletedLookbackDays: 16},
			summary: cat(mapReviews, worthing2028, worthing2026,
				[]string{"6 gla-2025 organisation set=  / gss=E12000007+"}),
			stats: boundaryexport.Stats{Rows: 18, Reviews: 5, DivisionsWithoutGeometry: 1, EmptyPieces: 1},
		},
		{
			name: "the day after worthing-2026 took effect, with set 30 ended",
			sel:  boundaryexport.Selection{Today: today.AddDate(0, 0, 1), MapOnly: true},
			summary: cat(mapReviews[:4],
				[]string{"2 gla-2026 organisation set=  / gss=E12000007+"}),
			stats: boundaryexport.Stats{Rows: 8, Reviews: 2},
		},
		{
			name: "once adur-2027 is in force, only the CURRENT reviews remain",
			sel:  boundaryexport.Selection{Today: time.Date(2027, 5, 7, 0, 0, 0, 0, time.UTC)},
			summary: []string{
				"2 gla-2026 organisation set=  / gss=E12000007+",
				"3 worthing-2028 old set=31 " + pm + "worthing_31_f31f31f31f31f31f31f31f31f31f31f3.pmtiles DIW/central gss=E07000229",
				"3 worthing-2028 old set=31 " + pm + "worthing_31_f31f31f31f31f31f31f31f31f31f31f3.pmtiles DIW/marine gss=E07000229+",
				worthing2028[2], worthing2028[3],
			},
			stats: boundaryexport.Stats{Rows: 7, Reviews: 2, DivisionsWithoutGeometry: 1, EmptyPieces: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			st, err := boundaryexport.WriteCSV(context.Background(), conn, &buf, tt.sel)
			if err != nil {
				t.Fatalf("WriteCSV: %v", err)
			}
			if tt.golden != "" {
				golden.Check(t, tt.golden, buf.Bytes())
			}
			if diff := cmp.Diff(tt.summary, summary(parse(t, buf.Bytes()))); diff != "" {
				t.Errorf("rows by review, generation and division (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stats, st); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOrganisationRows checks what a review without a new division set
// exports: the pieces of the geography in force today (not the one that
// ended in 2000), with every division column empty.
func TestOrganisationRows(t *testing.T) {
	conn := eetest.NewDB(t).ConnectAsEE(t)
	var buf bytes.Buffer
	if _, err := boundaryexport.WriteCSV(context.Background(), conn, &buf, boundaryexport.Selection{Today: today}); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	var got [][]string
	for _, r := range parse(t, buf.Bytes()) {
		if r["divisionset_generation"] == boundaryexport.GenerationOrganisation {
			got = append(got, []string{r["boundary_review_id"], r["latest_event"], r["effective_date"],
				r["organisation_name"], r["organisation_official_name"], r["organisation_gss"],
				r["divisionset_id"] + r["divisionset_pmtiles_url"] + r["division_type"] + r["division_slug"] +
					r["division_name"] + r["division_official_identifier"],
				r["geometry"]})
		}
	}
	const gla = "Greater London Authority"
	want := [][]string{
		{"2", "Draft recommendations, consultation open", "", gla, gla, "E12000007", "", "POLYGON((-0.5 51.3,-0.3 51.3,-0.3 51.5,-0.5 51.5,-0.5 51.3))"},
		{"2", "Draft recommendations, consultation open", "", gla, gla, "E12000007", "", "POLYGON((-0.2 51.4,0.1 51.4,0.1 51.6,-0.2 51.6,-0.2 51.4))"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("organisation rows (-want +got):\n%s", diff)
	}
}

func TestWriteCSVBadData(t *testing.T) {
	tests := []struct {
		name     string
		sql      string
		wantErr  string
		wantRows int64
	}{
		{
			name:     "piece in British National Grid",
			sql:      `ALTER TABLE organisations_divisiongeographysubdivided ALTER COLUMN geography TYPE geometry(Polygon, 27700) USING ST_SetSRID(geography, 27700);`,
			wantErr:  `boundary review 1, old division "buckingham", piece 101: geography has SRID 27700, want 4326 (lon lat)`,
			wantRows: 0,
		},
		{
			name:    "missing table",
			sql:     `DROP TABLE organisations_organisationboundaryreview;`,
			wantErr: `query boundary reviews: ERROR: relation "organisations_organisationboundaryreview" does not exist`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := eetest.NewDB(t)
			db.Exec(t, tt.sql)
			st, err := boundaryexport.WriteCSV(context.Background(), db.ConnectAsEE(t), &bytes.Buffer{}, boundaryexport.Selection{Today: today})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("WriteCSV error = %v, want it to contain %q", err, tt.wantErr)
			}
			if st.Rows != tt.wantRows {
				t.Errorf("rows written before the error = %d, want %d", st.Rows, tt.wantRows)
			}
		})
	}
}

func TestPMTilesURL(t *testing.T) {
	for _, tt := range []struct {
		slug string
		id   int64
		hash string
		want string
	}{
		{"adur", 10, "0a1b", "https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/adur_10_0a1b.pmtiles"},
		{"adur", 11, "", ""},
	} {
		if got := boundaryexport.PMTilesURL(tt.slug, tt.id, tt.hash); got != tt.want {
			t.Errorf("PMTilesURL(%q, %d, %q) = %q, want %q", tt.slug, tt.id, tt.hash, got, tt.want)
		}
	}
}
