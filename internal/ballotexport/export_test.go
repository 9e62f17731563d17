package ballotexport_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/ballots"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// connectAsEE logs in to db as EE's read-only export user.
func connectAsEE(t testing.TB, db eetest.DB) *pgx.Conn { return db.ConnectAsEE(t) }

func readGolden(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/current_elections.csv")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutBallots drops the golden rows of the given election ids.
func withoutBallots(golden string, ids ...string) string {
	var out strings.Builder
	for _, line := range strings.SplitAfter(golden, "\r\n") {
		keep := true
		for _, id := range ids {
			if strings.HasPrefix(line, id+",") {
				keep = false
			}
		}
		if keep {
			out.WriteString(line)
		}
	}
	return out.String()
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestWriteCSV(t *testing.T) {
	db := eetest.NewDB(t)
	conn := connectAsEE(t, db)
	golden := readGolden(t)

	tests := []struct {
		name  string
		since time.Time
		want  string
		stats ballotexport.Stats
	}{
		{
			name:  "30-day window from 2026-05-01",
			since: date("2026-04-01"),
			want:  golden,
			stats: ballotexport.Stats{Rows: 8, Ballots: 5, NoneRows: 1},
		},
		{
			name:  "window starting a day later drops the ballot on its first day",
			since: date("2026-04-02"),
			want:  withoutBallots(golden, "local.adur.marsh.2026-04-01"),
			stats: ballotexport.Stats{Rows: 7, Ballots: 4},
		},
		{
			name:  "far-future window keeps only ballots flagged current",
			since: date("2030-01-01"),
			want: withoutBallots(golden, "local.adur.marsh.2026-04-01",
				"local.adur.buckingham.2026-05-07", "local.adur.cokeham.2026-05-07"),
			stats: ballotexport.Stats{Rows: 3, Ballots: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			st, err := ballotexport.WriteCSV(context.Background(), conn, &buf, tt.since)
			if err != nil {
				t.Fatalf("WriteCSV: %v", err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("CSV (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.stats, st); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
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
			name: "NULL geometry piece mid-export",
			sql: `ALTER TABLE organisations_organisationgeographysubdivided ALTER COLUMN geography DROP NOT NULL;
			      INSERT INTO organisations_organisationgeographysubdivided (id, geography, organisation_geography_id) VALUES (0, NULL, 2);`,
			wantErr:  "export row 6 (election_id mayor.london.2026-05-07, source_table Organisation, geography_id 0): geography is NULL or empty",
			wantRows: 5,
		},
		{
			name:     "piece in British National Grid",
			sql:      `ALTER TABLE organisations_divisiongeographysubdivided ALTER COLUMN geography TYPE geometry(Polygon, 27700) USING ST_SetSRID(geography, 27700);`,
			wantErr:  "export row 1 (election_id local.adur.buckingham.2026-05-07, source_table Division, geography_id 101): geography has SRID 27700, want 4326 (lon lat)",
			wantRows: 0,
		},
		{
			name:    "missing table",
			sql:     `DROP TABLE organisations_divisiongeographysubdivided;`,
			wantErr: `query current ballots: ERROR: relation "organisations_divisiongeographysubdivided" does not exist`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := eetest.NewDB(t)
			db.Exec(t, tt.sql)
			conn := connectAsEE(t, db)
			st, err := ballotexport.WriteCSV(context.Background(), conn, &bytes.Buffer{}, date("2026-04-01"))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("WriteCSV error = %v, want it to contain %q", err, tt.wantErr)
			}
			if st.Rows != tt.wantRows {
				t.Errorf("rows written before the error = %d, want %d", st.Rows, tt.wantRows)
			}
		})
	}
}

// TestWriteCSVMakesPiecesValid: a ballot on Heene's division geography,
// whose pieces are a self-intersecting bow tie and a collapsed sliver (as
// real subdivided data has). The export repairs the bow tie into a valid
// MULTIPOLYGON and drops the sliver, counting it, so every piece it writes
// is OGC-valid by the engines' own check.
func TestWriteCSVMakesPiecesValid(t *testing.T) {
	db := eetest.NewDB(t)
	db.Exec(t, `INSERT INTO elections_election
	    (election_id, poll_open_date, group_type, current, current_status, division_geography_id, organisation_geography_id)
	    VALUES ('local.worthing.heene.2026-05-07', '2026-05-07', NULL, NULL, 'Approved', 34, NULL)`)
	conn := connectAsEE(t, db)
	var buf bytes.Buffer
	st, err := ballotexport.WriteCSV(context.Background(), conn, &buf, date("2026-04-01"))
	if err != nil {
		t.Fatal(err)
	}
	if st.EmptyPieces != 1 || st.Rows != 9 {
		t.Errorf("stats %+v, want 9 rows and 1 empty piece dropped", st)
	}
	var heene []ballots.Piece
	sst, err := ballots.Read(&buf, "export.csv", func(p ballots.Piece) error {
		if p.ElectionID == "local.worthing.heene.2026-05-07" {
			heene = append(heene, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sst.Invalid) != 0 {
		t.Errorf("the export wrote pieces that are not OGC-valid: %v", sst.Invalid)
	}
	if len(heene) != 1 || heene[0].DivisionID != "341" || len(heene[0].Geom) != 2 {
		t.Errorf("Heene's pieces %+v, want piece 341 only, as a two-part MULTIPOLYGON", heene)
	}
}
