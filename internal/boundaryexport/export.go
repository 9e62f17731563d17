// Package boundaryexport exports EveryElection's boundary reviews, with
// the old and new division geometries as WKT, to the boundary reviews CSV
// that the BoundaryReviews layer reads (see docs/data-contract.md,
// "Boundary reviews"). The export_boundary_reviews Lambda runs it.
package boundaryexport

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/reviewcsv"
)

// Header is the CSV header row fixed by the data contract.
var Header = reviewcsv.Header

// Values of the divisionset_generation column.
const (
	GenerationOld          = reviewcsv.GenerationOld
	GenerationNew          = reviewcsv.GenerationNew
	GenerationOrganisation = reviewcsv.GenerationOrganisation
)

// PMTilesBase is where EE publishes a division set's pmtiles.
const PMTilesBase = "https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/"

// PMTilesURL is the contract's pmtiles URL of a division set, or "" when
// EE has not generated its pmtiles (no hash).
func PMTilesURL(organisationSlug string, divisionSetID int64, md5Hash string) string {
	if md5Hash == "" {
		return ""
	}
	return PMTilesBase + organisationSlug + "_" + strconv.FormatInt(divisionSetID, 10) + "_" + md5Hash + ".pmtiles"
}

// ExportSQL selects one row per subdivided geometry piece of each selected
// review. $1 is today (a date), $2 the earliest effective_date of a
// COMPLETED review that is still exported (today, less any look-back), $3
// whether only public_visibility = 'MAP' reviews are exported.
//
// Tables (DemocracyClub/EveryElection, Django app organisations; see
// internal/ballotexport/eetest/schema.sql):
//   - a review is selected when it is CURRENT, or COMPLETED with an
//     effective_date on or after $2 (its new boundaries are not yet in
//     force); a NULL effective_date never qualifies.
//   - "in force today" is start_date <= $1 (or NULL, for a geography) and
//     end_date NULL or >= $1. When an organisation has several division
//     sets or geographies in force, the latest start_date (then id) wins,
//     so each review has at most one old set and one organisation area.
//   - old rows: the organisation's division set in force today, other
//     than the review's own (a review that takes effect today would
//     otherwise compare its set with itself).
//   - new rows: the review's division set, when it has one; else
//     organisation rows: the pieces of the organisation's geography in
//     force today, with the division columns empty.
//   - organisation_gss is the GSS code of that geography.
//
// Geometry: each piece goes through ST_MakeValid and only its polygonal
// part is kept (ST_CollectionExtract type 3), so a self-intersecting piece
// becomes a MULTIPOLYGON and a collapsed sliver becomes empty and is
// dropped (counted in Stats). A division with no pieces yields one row
// with a NULL geometry, which is counted and not written.
//
// Order: review id, generation (old, new, organisation), division type,
// division slug (byte order, whatever the database's locale), piece id,
// so identical data gives identical bytes.
const ExportSQL = `
WITH reviews AS (
    SELECT r.id, r.slug, r.status, r.latest_event, r.consultation_url,
           r.legislation_title, r.effective_date, r.organisation_id, r.divisionset_id,
           o.slug AS organisation_slug, o.common_name, o.official_name,
           og.id AS geography_id, og.gss
    FROM organisations_organisationboundaryreview r
    JOIN organisations_organisation o ON o.id = r.organisation_id
    LEFT JOIN LATERAL (
        SELECT g.id, g.gss
        FROM organisations_organisationgeography g
        WHERE g.organisation_id = r.organisation_id
          AND (g.start_date IS NULL OR g.start_date <= $1::date)
          AND (g.end_date IS NULL OR g.end_date >= $1::date)
        ORDER BY g.start_date DESC NULLS LAST, g.id DESC
        LIMIT 1
    ) og ON true
    WHERE (r.status = 'CURRENT' OR (r.status = 'COMPLETED' AND r.effective_date >= $2::date))
      AND (NOT $3::boolean OR r.public_visibility = 'MAP')
),
sets AS (
    SELECT r.id AS review_id, 1 AS rank, 'old' AS generation, ds.id AS divisionset_id, ds.pmtiles_md5_hash
    FROM reviews r
    JOIN LATERAL (
        SELECT s.id, s.pmtiles_md5_hash
        FROM organisations_organisationdivisionset s
        WHERE s.organisation_id = r.organisation_id
          AND s.start_date <= $1::date
          AND (s.end_date IS NULL OR s.end_date >= $1::date)
          AND s.id IS DISTINCT FROM r.divisionset_id
        ORDER BY s.start_date DESC, s.id DESC
        LIMIT 1
    ) ds ON true
    UNION ALL
    SELECT r.id, 2, 'new', s.id, s.pmtiles_md5_hash
    FROM reviews r
    JOIN organisations_organisationdivisionset s ON s.id = r.divisionset_id
),
pieces AS (
    SELECT s.review_id, s.rank, s.generation, s.divisionset_id, s.pmtiles_md5_hash,
           d.division_type, d.slug AS division_slug, d.name AS division_name,
           d.official_identifier AS division_official_identifier,
           p.id AS piece_id, p.geography
    FROM sets s
    JOIN organisations_organisationdivision d ON d.divisionset_id = s.divisionset_id
    LEFT JOIN organisations_divisiongeography g ON g.division_id = d.id
    LEFT JOIN organisations_divisiongeographysubdivided p ON p.division_geography_id = g.id
    UNION ALL
    SELECT r.id, 3, 'organisation', NULL, NULL, '', '', '', '', p.id, p.geography
    FROM reviews r
    JOIN organisations_organisationgeographysubdivided p ON p.organisation_geography_id = r.geography_id
    WHERE r.divisionset_id IS NULL
)
SELECT r.id, r.slug, r.status, r.latest_event, r.consultation_url, r.legislation_title,
       COALESCE(to_char(r.effective_date, 'YYYY-MM-DD'), ''),
       r.common_name, r.official_name, COALESCE(r.gss, ''), r.organisation_slug,
       p.generation, p.divisionset_id, COALESCE(p.pmtiles_md5_hash, ''),
       p.division_type, p.division_slug, p.division_name, p.division_official_identifier,
       p.piece_id,
       ST_AsText(ST_CollectionExtract(ST_MakeValid(p.geography), 3)),
       ST_SRID(p.geography)
FROM pieces p
JOIN reviews r ON r.id = p.review_id
ORDER BY r.id, p.rank, p.division_type COLLATE "C", p.division_slug COLLATE "C", p.piece_id`

// querier is the part of *pgx.Conn the export uses.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

var _ querier = (*pgx.Conn)(nil)

// Selection says which reviews are exported on a given day.
type Selection struct {
	Today time.Time // "today": which division sets and geographies are in force
	// CompletedLookbackDays keeps COMPLETED reviews that took effect up to
	// this many days before Today (0: only today or later, the contract).
	CompletedLookbackDays int
	MapOnly               bool // only reviews with public_visibility = 'MAP'
}

// Stats counts what WriteCSV wrote and skipped.
type Stats struct {
	Rows    int64 `json:"rows"`    // data rows, not counting the header
	Reviews int64 `json:"reviews"` // distinct reviews with at least one row
	// DivisionsWithoutGeometry counts divisions of an old or new set that
	// have no geometry pieces in EE, so no rows.
	DivisionsWithoutGeometry int64 `json:"divisions_without_geometry"`
	// EmptyPieces counts pieces with no polygonal part left after
	// ST_MakeValid (a collapsed sliver).
	EmptyPieces int64 `json:"empty_pieces"`
}

// WriteCSV streams the export for sel to w, one row at a time, quoting
// only where needed and ending lines with CRLF, as the ballots CSV does.
// A piece not in SRID 4326 is an error naming the row.
func WriteCSV(ctx context.Context, q querier, w io.Writer, sel Selection) (Stats, error) {
	var st Stats
	today := sel.Today.Format(time.DateOnly)
	since := sel.Today.AddDate(0, 0, -sel.CompletedLookbackDays).Format(time.DateOnly)
	rows, err := q.Query(ctx, ExportSQL, today, since, sel.MapOnly)
	if err != nil {
		return st, fmt.Errorf("query boundary reviews: %w", err)
	}
	defer rows.Close()

	cw, err := eeexport.NewCSV(w, Header)
	if err != nil {
		return st, err
	}
	var (
		reviewID, lastReview   int64
		orgSlug, hash          string
		divisionSetID, pieceID *int64
		wkt                    *string
		srid                   *int32
		rec                    = make([]string, len(Header))
		line                   int64
	)
	for rows.Next() {
		line++
		// rec's fields in Header order; divisionset_id, the pmtiles URL
		// and the geometry are filled below.
		if err := rows.Scan(&reviewID, &rec[1], &rec[2], &rec[3], &rec[4], &rec[5], &rec[6],
			&rec[7], &rec[8], &rec[9], &orgSlug, &rec[10], &divisionSetID, &hash,
			&rec[13], &rec[14], &rec[15], &rec[16], &pieceID, &wkt, &srid); err != nil {
			return st, fmt.Errorf("export result row %d: scan: %w", line, err)
		}
		if pieceID == nil {
			st.DivisionsWithoutGeometry++
			continue
		}
		if err := eeexport.CheckSRID(srid); err != nil {
			return st, fmt.Errorf("boundary review %d, %s division %q, piece %d: %w",
				reviewID, rec[10], rec[14], *pieceID, err)
		}
		if wkt == nil || *wkt == "" || eeexport.IsEmptyWKT(*wkt) {
			st.EmptyPieces++
			continue
		}
		rec[0] = strconv.FormatInt(reviewID, 10)
		rec[11], rec[12] = "", ""
		if divisionSetID != nil {
			rec[11] = strconv.FormatInt(*divisionSetID, 10)
			rec[12] = PMTilesURL(orgSlug, *divisionSetID, hash)
		}
		rec[17] = *wkt
		if err := cw.Write(rec); err != nil {
			return st, fmt.Errorf("write csv row %d: %w", st.Rows+1, err)
		}
		st.Rows++
		if reviewID != lastReview {
			st.Reviews++
			lastReview = reviewID
		}
	}
	return st, eeexport.FinishCSV(cw, rows, "boundary reviews", st.Rows)
}
