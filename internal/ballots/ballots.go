// Package ballots reads Every Election's current ballots CSV (header
// election_id,geography_id,geography_text,source_table; WKT in EPSG:4326)
// and builds a point-in-polygon index keyed by election_id.
package ballots

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
)

// Header is the exact header row EE writes.
var Header = []string{"election_id", "geography_id", "geography_text", "source_table"}

// Piece is one row of the CSV: one piece of a ballot's geography. A ballot
// usually spans many rows because EE subdivides large geographies.
type Piece struct {
	ElectionID  string
	DivisionID  string
	SourceTable string
	Line        int
	Geom        orb.MultiPolygon
	// Invalid is why the piece is not OGC-valid, or "". Such a piece is
	// used as given and reported (the contract's "OGC validity").
	Invalid string
}

// Stats counts what Read saw.
type Stats struct {
	Rows        int `json:"rows"`
	Pieces      int `json:"pieces"`
	SkippedNone int `json:"skipped_none"`
	Elections   int `json:"elections"`
	// Invalid lists the pieces that are not OGC-valid, in file order.
	Invalid []validate.InvalidPiece `json:"invalid_pieces,omitempty"`
}

// ParseError names the file, line and (when known) the election of bad input.
type ParseError struct {
	File       string
	Line       int
	ElectionID string
	Err        error
}

func (e *ParseError) Error() string {
	if e.ElectionID != "" {
		return fmt.Sprintf("%s:%d: election %s: %v", e.File, e.Line, e.ElectionID, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Read streams the pieces of r to fn. Rows whose source_table is None carry
// no geometry and are skipped (counted in Stats.SkippedNone).
func Read(r io.Reader, name string, fn func(Piece) error) (Stats, error) {
	var st Stats
	c := csv.NewReader(validate.SkipBOM(r))
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	ids := map[string]struct{}{}
	for first := true; ; first = false {
		f, err := c.Read()
		if err == io.EOF {
			if first {
				return st, &ParseError{File: name, Line: 1, Err: errors.New("empty file: want header " + strings.Join(Header, ","))}
			}
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return st, &ParseError{File: name, Line: pe.StartLine, Err: pe.Err}
			}
			return st, fmt.Errorf("%s: read csv: %w", name, err)
		}
		line, _ := c.FieldPos(0)
		if first {
			if strings.Join(f, ",") != strings.Join(Header, ",") {
				return st, &ParseError{File: name, Line: line, Err: fmt.Errorf("header is %q, want %q", strings.Join(f, ","), strings.Join(Header, ","))}
			}
			continue
		}
		st.Rows++
		fail := func(id string, format string, args ...any) (Stats, error) {
			return st, &ParseError{File: name, Line: line, ElectionID: id, Err: fmt.Errorf(format, args...)}
		}
		if len(f) != len(Header) {
			return fail("", "got %d columns, want %d (%s)", len(f), len(Header), strings.Join(Header, ","))
		}
		for i, v := range f {
			if !utf8.ValidString(v) {
				return fail("", "field %s: invalid UTF-8 byte sequence", Header[i])
			}
		}
		p := Piece{ElectionID: f[0], DivisionID: f[1], SourceTable: f[3], Line: line}
		if err := validate.ElectionID(p.ElectionID); err != nil {
			return fail("", "field election_id: %w", err)
		}
		switch p.SourceTable {
		case "None":
			// A ballot without a geography (e.g. a by-election being set
			// up): it cannot contain any address, so it is skipped.
			st.SkippedNone++
			continue
		case "Organisation", "Division":
		default:
			return fail(p.ElectionID, "field source_table: %q is not Organisation, Division or None", p.SourceTable)
		}
		if strings.TrimSpace(f[2]) == "" {
			return fail(p.ElectionID, "field geography_text: empty geometry for a %s row", p.SourceTable)
		}
		mp, err := geo.ParseWKT(f[2])
		if err != nil {
			return fail(p.ElectionID, "field geography_text: %w", err)
		}
		if err := validate.Geometry(mp); err != nil {
			return fail(p.ElectionID, "field geography_text: %w", err)
		}
		p.Geom = mp
		if p.Invalid = validate.OGCValid(mp); p.Invalid != "" {
			st.Invalid = append(st.Invalid, validate.InvalidPiece{File: name, Line: line, ID: p.ElectionID, Reason: p.Invalid})
		}
		st.Pieces++
		ids[p.ElectionID] = struct{}{}
		if err := fn(p); err != nil {
			return st, err
		}
	}
	st.Elections = len(ids)
	return st, nil
}

// Index reads r and returns a built geo.Index keyed by election_id.
func Index(r io.Reader, name string) (*geo.Index, Stats, error) {
	ix := geo.NewIndex()
	st, err := Read(r, name, func(p Piece) error {
		ix.Add(p.ElectionID, p.Geom)
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	ix.Build()
	return ix, st, nil
}

// IndexFile opens path and calls Index.
func IndexFile(path string) (*geo.Index, Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("open ballots: %w", err)
	}
	defer f.Close()
	return Index(f, path)
}
