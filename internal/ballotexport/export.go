package ballotexport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
)

// Header is the CSV header row fixed by the data contract. The Glue table
// calls these columns election_id, division_id, geometry, source_table.
var Header = []string{"election_id", "geography_id", "geography_text", "source_table"}

// Source tables named in the source_table column.
const (
	SourceDivision     = "Division"
	SourceOrganisation = "Organisation"
	SourceNone         = "None"
)

// ExportSQL selects one row per subdivided geography piece of each
// approved current ballot. $1 is the earliest poll_open_date (a date) that
// counts as current.
//
// Schema (DemocracyClub/EveryElection, Django models):
//   - elections_election: election_id, poll_open_date, group_type (NULL
//     for a ballot), current (nullable boolean), current_status (the
//     latest moderation status, kept in step with
//     elections_moderationhistory since migration 0069; EE's own export
//     filters on it), division_geography_id, organisation_geography_id.
//   - organisations_divisiongeographysubdivided and
//     organisations_organisationgeographysubdivided: id, geography
//     (PolygonField, SRID 4326, filled by ST_Subdivide of the
//     MultiPolygon in organisations_{division,organisation}geography, so
//     at most 256 vertices each), division_geography_id /
//     organisation_geography_id.
//
// "Current" is EE's rule: poll_open_date on or after $1 OR current is
// true, and never when current is explicitly false. Cancelled ballots are
// kept, as EE does: voters are still shown them.
//
// Differences from EE's query, on purpose:
//   - EE LEFT JOINs both subdivided tables at once, which multiplies the
//     rows of a ballot that has both geographies and labels them all
//     "Organisation" while COALESCE picks the division geometry. Here a
//     ballot uses its division geography when it has pieces, else its
//     organisation geography, else one "None" row with empty geometry.
//   - Rows without an election_id (EE allows NULL, using tmp_election_id
//     for drafts) are skipped: nothing downstream can key on them.
//   - Each piece goes through ST_MakeValid and only its polygonal part is
//     kept (ST_CollectionExtract type 3), as the boundary reviews export
//     does: a self-intersecting piece becomes a valid MULTIPOLYGON, and a
//     collapsed sliver becomes empty and is dropped (counted in Stats).
//     The engines then meet only valid pieces from this export.
//   - A deterministic ORDER BY: election_id in byte order (COLLATE "C",
//     whatever the database's locale), then geography_id, so identical
//     data gives identical bytes.
const ExportSQL = `
WITH ballots AS (
    SELECT e.election_id, e.division_geography_id, e.organisation_geography_id
    FROM elections_election e
    WHERE e.current_status = 'Approved'
      AND e.group_type IS NULL
      AND e.election_id IS NOT NULL
      AND (e.poll_open_date >= $1::date OR e.current)
      AND e.current IS DISTINCT FROM false
)
SELECT b.election_id,
       g.id,
       ST_AsText(ST_CollectionExtract(ST_MakeValid(g.geography), 3)),
       ST_SRID(g.geography),
       COALESCE(g.source_table, 'None')
FROM ballots b
LEFT JOIN LATERAL (
    SELECT d.id, d.geography, 'Division' AS source_table
    FROM organisations_divisiongeographysubdivided d
    WHERE d.division_geography_id = b.division_geography_id
    UNION ALL
    SELECT o.id, o.geography, 'Organisation' AS source_table
    FROM organisations_organisationgeographysubdivided o
    WHERE o.organisation_geography_id = b.organisation_geography_id
      AND NOT EXISTS (
          SELECT 1 FROM organisations_divisiongeographysubdivided d2
          WHERE d2.division_geography_id = b.division_geography_id)
) g ON true
ORDER BY b.election_id COLLATE "C", g.id`

// querier is the part of *pgx.Conn the export uses.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var _ querier = (*pgx.Conn)(nil)

// Stats counts what WriteCSV wrote.
type Stats struct {
	Rows     int64 `json:"rows"`      // data rows, not counting the header
	Ballots  int64 `json:"ballots"`   // distinct election_ids
	NoneRows int64 `json:"none_rows"` // ballots without any geography
	// EmptyPieces counts pieces with no polygonal part left after
	// ST_MakeValid (a collapsed sliver): not written.
	EmptyPieces int64 `json:"empty_pieces,omitempty"`
}

// WriteCSV streams the export for ballots polling on or after since (or
// flagged current) to w, one row at a time. Like EE's Python csv writer it
// quotes only where needed and ends lines with CRLF. A piece whose
// geometry is NULL or not in SRID 4326 is an error naming the row.
func WriteCSV(ctx context.Context, q querier, w io.Writer, since time.Time) (Stats, error) {
	var st Stats
	rows, err := q.Query(ctx, ExportSQL, since.Format(time.DateOnly))
	if err != nil {
		return st, fmt.Errorf("query current ballots: %w", err)
	}
	defer rows.Close()

	cw, err := eeexport.NewCSV(w, Header)
	if err != nil {
		return st, err
	}
	var (
		electionID, source string
		geoID              *int64
		wkt                *string
		srid               *int32
		last               string
		rec                = make([]string, 4)
	)
	for rows.Next() {
		if err := rows.Scan(&electionID, &geoID, &wkt, &srid, &source); err != nil {
			return st, fmt.Errorf("export row %d: scan: %w", st.Rows+1, err)
		}
		rec[0], rec[1], rec[2], rec[3] = electionID, "", "", source
		if source == SourceNone {
			st.NoneRows++
		} else {
			if wkt != nil && eeexport.IsEmptyWKT(*wkt) {
				st.EmptyPieces++
				continue
			}
			if err := checkPiece(geoID, wkt, srid); err != nil {
				return st, fmt.Errorf("export row %d (election_id %s, source_table %s, geography_id %s): %w",
					st.Rows+1, electionID, source, idString(geoID), err)
			}
			rec[1], rec[2] = strconv.FormatInt(*geoID, 10), *wkt
		}
		if err := cw.Write(rec); err != nil {
			return st, fmt.Errorf("write csv row %d: %w", st.Rows+1, err)
		}
		st.Rows++
		if electionID != last {
			st.Ballots++
			last = electionID
		}
	}
	return st, eeexport.FinishCSV(cw, rows, "current ballots", st.Rows)
}

func checkPiece(id *int64, wkt *string, srid *int32) error {
	switch {
	case id == nil:
		return errors.New("geography_id is NULL")
	case wkt == nil || *wkt == "":
		return errors.New("geography is NULL or empty")
	}
	return eeexport.CheckSRID(srid)
}

func idString(id *int64) string {
	if id == nil {
		return "NULL"
	}
	return strconv.FormatInt(*id, 10)
}
