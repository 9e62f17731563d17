package addressbase

// The AddressBase cleaned CSV (no header, Python csv defaults, five columns;
// see docs/data-contract.md), read by the local bake and the tests.

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
)

// Columns is the number of columns in every AddressBase cleaned row.
const Columns = 5

// MaxRecordBytes bounds a row's fields, together: real rows are a few
// hundred bytes, and the bound keeps what one row can make the bake hold
// (a chunk of the file, a spill record) small.
const MaxRecordBytes = 64 << 10

// Record is one parsed AddressBase row with its derived fields.
type Record struct {
	UPRN        string
	Address     string
	Postcode    string
	AddressType string
	// Outcode is the part of the postcode before the space.
	Outcode string
	// FirstLetter is the first character of the postcode (the partition key).
	FirstLetter string
	Lon, Lat    float64
	// Line is the row's line in the file (1-based; a quoted field may
	// span lines, and this is the first).
	Line int
}

// ParseError names the file, line and (when known) field of bad input.
type ParseError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *ParseError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: field %s: %v", e.File, e.Line, e.Field, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrEmpty is returned (wrapped in a ParseError) for a file with no rows.
var ErrEmpty = errors.New("file has no rows")

var fieldNames = [Columns]string{"uprn", "address", "postcode", "location", "address_type"}

// Reader streams Records from an AddressBase cleaned CSV.
type Reader struct {
	name string
	csv  *csv.Reader
	rows int
}

// NewReader returns a Reader over r; name is used in error messages.
func NewReader(r io.Reader, name string) *Reader {
	c := csv.NewReader(validate.SkipBOM(r))
	c.FieldsPerRecord = -1 // checked here, to give a clearer message
	c.ReuseRecord = true
	return &Reader{name: name, csv: c}
}

// Rows returns the number of records read so far.
func (r *Reader) Rows() int { return r.rows }

// Read returns the next record, or io.EOF after the last one. An empty file
// is an error, not io.EOF.
func (r *Reader) Read() (Record, error) {
	fields, err := r.csv.Read()
	if err == io.EOF {
		if r.rows == 0 {
			return Record{}, &ParseError{File: r.name, Line: 1, Err: ErrEmpty}
		}
		return Record{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Record{}, &ParseError{File: r.name, Line: pe.StartLine, Err: pe.Err}
		}
		return Record{}, fmt.Errorf("%s: read csv: %w", r.name, err)
	}
	line, _ := r.csv.FieldPos(0)
	var rec Record
	if err := parse(&rec, r.name, fields, line, r.rows == 0, false); err != nil {
		return Record{}, err
	}
	r.rows++
	return rec, nil
}

// parse turns one CSV record's fields into a Record: the rules of a row,
// shared by Reader and ReadBatches. first says whether this is the file's
// first record, the only place a header row is looked for; validUTF8 says
// that the fields are known to be valid UTF-8 already. It fills every
// field of *rec, which may be an element of a batch, and only on success.
func parse(rec *Record, name string, f []string, line int, first, validUTF8 bool) error {
	for i, v := range f {
		if !validUTF8 && !utf8.ValidString(v) {
			field := fmt.Sprintf("%d", i+1)
			if i < Columns {
				field = fieldNames[i]
			}
			return fail(name, line, field, fmt.Errorf("invalid UTF-8 byte sequence in %q", v))
		}
	}
	if first && looksLikeHeader(f) {
		return fail(name, line, "", fmt.Errorf("first row looks like a header (%s); AddressBase cleaned files have no header row", strings.Join(f, ",")))
	}
	if len(f) != Columns {
		return fail(name, line, "", fmt.Errorf("got %d columns, want %d (uprn,address,postcode,location,address_type)", len(f), Columns))
	}
	if n := len(f[0]) + len(f[1]) + len(f[2]) + len(f[3]) + len(f[4]); n > MaxRecordBytes {
		return fail(name, line, "", fmt.Errorf("row of %d bytes; no AddressBase row is longer than %d", n, MaxRecordBytes))
	}
	if err := validate.UPRN(f[0]); err != nil {
		return fail(name, line, "uprn", err)
	}
	out, err := validate.Postcode(f[2])
	if err != nil {
		return fail(name, line, "postcode", err)
	}
	lon, lat, err := geo.ParseEWKTPoint(f[3])
	if err != nil {
		return fail(name, line, "location", err)
	}
	if err := validate.Point(lon, lat); err != nil {
		return fail(name, line, "location", err)
	}
	// Field by field: assigning a whole Record would copy it with a bulk
	// write barrier while the collector runs.
	rec.UPRN, rec.Address, rec.Postcode, rec.AddressType = f[0], f[1], f[2], f[4]
	rec.Outcode, rec.FirstLetter = out, f[2][:1]
	rec.Lon, rec.Lat, rec.Line = lon, lat, line
	// The fields are never written again (encoding/csv reuses only the
	// slice, ReadBatches's chunks are immutable), so no copy is needed.
	return nil
}

// looksLikeHeader reports whether a record is a header row (uprn,address,...).
// Such a row always fails the uprn rule too, so only the file's first
// record needs the clearer message.
func looksLikeHeader(f []string) bool {
	return len(f) >= 2 && strings.EqualFold(strings.TrimSpace(f[0]), "uprn") &&
		strings.EqualFold(strings.TrimSpace(f[1]), "address")
}

func fail(name string, line int, field string, err error) error {
	return &ParseError{File: name, Line: line, Field: field, Err: err}
}

// Lines returns the lines of path on which each of uprns occurs. It reads
// the whole file again, so it is for error reports found late (conflicting
// duplicates), where the rows no longer carry their line; carrying it
// through every row would cost each good run for the sake of a bad one.
func Lines(path string, uprns []string) (map[string][]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open addressbase: %w", err)
	}
	defer f.Close()
	want := make(map[string][]int, len(uprns))
	for _, u := range uprns {
		want[u] = nil
	}
	r := NewReader(bufio.NewReaderSize(f, 1<<20), path)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return want, nil
		}
		if err != nil {
			return nil, err
		}
		if ls, ok := want[rec.UPRN]; ok {
			want[rec.UPRN] = append(ls, rec.Line)
		}
	}
}
