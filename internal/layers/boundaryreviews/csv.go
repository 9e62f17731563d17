package boundaryreviews

// The boundary reviews CSV (reviewcsv.Header), read by the local bake.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/reviewcsv"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
)

// The columns of reviewcsv.Header, by position.
const (
	colID = iota
	colSlug
	colStatus
	colLatestEvent
	colConsultationURL
	colLegislationTitle
	colEffectiveDate
	colOrganisationName
	colOrganisationOfficialName
	colOrganisationGSS
	colGeneration
	colDivisionSetID
	colPMTilesURL
	colDivisionType
	colDivisionSlug
	colDivisionName
	colDivisionOfficialIdentifier
	colGeometry
	nColumns
)

// reviewColumns are the columns that describe the review itself: every
// row of a review must agree on them (the SQL takes them DISTINCT, so a
// disagreement would give the address two elements for one review).
var reviewColumns = []int{
	colSlug, colStatus, colConsultationURL, colLegislationTitle, colEffectiveDate,
	colOrganisationName, colOrganisationOfficialName, colOrganisationGSS,
}

// review is one boundary review: its id and its columns in reviewColumns'
// order.
type review struct {
	id     int64
	fields []string
	line   int // the first row's line, for messages
}

// division is one old or new division of a review, or its organisation's
// area: what the SQL's hits table keeps of a piece (DISTINCT), so every
// piece with the same columns is one division.
type division struct {
	review     int // index in ReviewSet.reviews
	generation string
	pmtiles    string
	typ        string
	slug       string
	name       string
	identifier string
}

// ReviewSet is a parsed boundary reviews CSV: the reviews, their divisions
// and a point-in-polygon index of the divisions' pieces.
type ReviewSet struct {
	reviews   []review
	divisions []division
	index     *geo.Index // keyed by divisionKey(index in divisions)
	rows      int
}

// divisionKey is a division's id in the index.
func divisionKey(i int) string { return strconv.Itoa(i) }

// ReadReviewsFile opens path and calls ReadReviews.
func ReadReviewsFile(path string) (*ReviewSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open boundary reviews: %w", err)
	}
	defer f.Close()
	return ReadReviews(f, path)
}

// ReadReviews reads a boundary reviews CSV with its header row. Bad input
// fails with an addressbase.ParseError naming name, the line and the field:
// a header other than reviewcsv.Header, a boundary_review_id that is
// not an integer, a divisionset_generation other than old, new or
// organisation, rows of one review that disagree on the review's columns,
// and a geometry that is empty, not POLYGON or MULTIPOLYGON WKT, or has a
// vertex outside the UK's lon/lat range.
func ReadReviews(r io.Reader, name string) (*ReviewSet, error) {
	c := csv.NewReader(validate.SkipBOM(r))
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	rs := &ReviewSet{index: geo.NewIndex()}
	byID := map[int64]int{}
	divIndex := map[division]int{}
	header := strings.Join(reviewcsv.Header, ",")
	for first := true; ; first = false {
		f, err := c.Read()
		if err == io.EOF {
			if first {
				return nil, &addressbase.ParseError{File: name, Line: 1, Err: errors.New("empty file: want header " + header)}
			}
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &addressbase.ParseError{File: name, Line: pe.StartLine, Err: pe.Err}
			}
			return nil, fmt.Errorf("%s: read csv: %w", name, err)
		}
		line, _ := c.FieldPos(0)
		fail := func(col int, format string, args ...any) error {
			pe := &addressbase.ParseError{File: name, Line: line, Err: fmt.Errorf(format, args...)}
			if col >= 0 {
				pe.Field = reviewcsv.Header[col]
			}
			return pe
		}
		if first {
			if got := strings.Join(f, ","); got != header {
				return nil, fail(-1, "header is %q, want %q", got, header)
			}
			continue
		}
		rs.rows++
		if len(f) != nColumns {
			return nil, fail(-1, "got %d columns, want %d (%s)", len(f), nColumns, header)
		}
		for i, v := range f {
			if !utf8.ValidString(v) {
				return nil, fail(i, "invalid UTF-8 byte sequence")
			}
		}
		id, err := strconv.ParseInt(f[colID], 10, 64)
		if err != nil {
			return nil, fail(colID, "%q is not an integer", f[colID])
		}
		ri, ok := byID[id]
		if !ok {
			ri = len(rs.reviews)
			byID[id] = ri
			fields := make([]string, len(reviewColumns))
			for i, col := range reviewColumns {
				fields[i] = f[col]
			}
			rs.reviews = append(rs.reviews, review{id: id, fields: fields, line: line})
		} else {
			rv := rs.reviews[ri]
			for i, col := range reviewColumns {
				if f[col] != rv.fields[i] {
					return nil, fail(col, "review %d: %q here, but %q on line %d", id, f[col], rv.fields[i], rv.line)
				}
			}
		}
		gen := f[colGeneration]
		switch gen {
		case reviewcsv.GenerationOld, reviewcsv.GenerationNew, reviewcsv.GenerationOrganisation:
		default:
			return nil, fail(colGeneration, "review %d: %q is not old, new or organisation", id, gen)
		}
		if strings.TrimSpace(f[colGeometry]) == "" {
			// The export never writes a piece without geometry.
			return nil, fail(colGeometry, "review %d: empty geometry", id)
		}
		mp, err := geo.ParseWKT(f[colGeometry])
		if err != nil {
			return nil, fail(colGeometry, "review %d: %w", id, err)
		}
		if err := validate.Geometry(mp); err != nil {
			return nil, fail(colGeometry, "review %d: %w", id, err)
		}
		d := division{
			review: ri, generation: gen, pmtiles: f[colPMTilesURL], typ: f[colDivisionType],
			slug: f[colDivisionSlug], name: f[colDivisionName], identifier: f[colDivisionOfficialIdentifier],
		}
		di, ok := divIndex[d]
		if !ok {
			di = len(rs.divisions)
			divIndex[d] = di
			rs.divisions = append(rs.divisions, d)
		}
		rs.index.Add(divisionKey(di), mp)
	}
	rs.index.Build()
	return rs, nil
}
