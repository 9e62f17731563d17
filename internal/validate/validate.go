// Package validate is the one definition of a valid input row (the data
// contract's "What a valid input row is"): the AddressBase uprn, postcode
// and location, and the ballots' election_id and geometry. The local bake's
// readers, the outcode Lambda and the Athena SQL all use it: Go calls the
// functions, and the SQL templates are rendered with SQLValues, whose
// patterns and ranges are the constants below. The Go checks are hand-written
// for speed (tens of millions of rows) and tested to agree with the patterns.
package validate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// The patterns use only anchors, bracket expressions, ranges, ?, | and \xHH
// escapes, which Go's RE2, Trino's regexp_like (Joni) and PostgreSQL read the
// same way. They use no braces, so they can be template values (sql.Render
// refuses braces).
const (
	// OutcodePattern is a UK outcode: [A-Z]{1,2}[0-9][A-Z0-9]?.
	OutcodePattern = `[A-Z][A-Z]?[0-9][A-Z0-9]?`
	// IncodePattern is a UK incode: [0-9][A-Z]{2}.
	IncodePattern = `[0-9][A-Z][A-Z]`
	// PostcodePattern is a whole postcode: upper case, one space.
	PostcodePattern = `^` + OutcodePattern + ` ` + IncodePattern + `$`
	// MaxUPRNDigits is the most digits a numeric UPRN has.
	MaxUPRNDigits = 12
	// FillerPrefix starts an ONSPD filler row's uprn, e.g. ONSPD-TE11ST.
	FillerPrefix = "ONSPD-"
	// ElectionIDPattern is a non-empty election_id with no surrounding
	// whitespace and no control characters (ASCII whitespace is \t..\r and
	// space, so "space or control" is \x00-\x20 and \x7f).
	ElectionIDPattern = `^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$`
)

// UPRNPattern is 1 to MaxUPRNDigits ASCII digits, or an ONSPD filler: the
// prefix and a postcode with its space removed.
var UPRNPattern = `^([0-9]` + strings.Repeat(`[0-9]?`, MaxUPRNDigits-1) + `|` + FillerPrefix + OutcodePattern + IncodePattern + `)$`

// The UK and Northern Ireland with a margin, in EPSG:4326 degrees. A point
// outside (swapped lon/lat, (0, 0), another reference system) is an error.
const (
	MinLon, MaxLon = -9.0, 2.5
	MinLat, MaxLat = 49.0, 61.5
)

// SQLValues are the template values that carry these rules into the SQL
// templates: {{.uprn_pattern}}, {{.uprn_max_digits}}, {{.postcode_pattern}},
// {{.election_id_pattern}}, {{.min_lon}}, {{.max_lon}}, {{.min_lat}},
// {{.max_lat}}.
func SQLValues() map[string]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	return map[string]string{
		"uprn_pattern":        UPRNPattern,
		"uprn_max_digits":     strconv.Itoa(MaxUPRNDigits),
		"postcode_pattern":    PostcodePattern,
		"election_id_pattern": ElectionIDPattern,
		"min_lon":             f(MinLon),
		"max_lon":             f(MaxLon),
		"min_lat":             f(MinLat),
		"max_lat":             f(MaxLat),
	}
}

// With returns values plus SQLValues, for a template that checks rows.
func With(values map[string]string) map[string]string {
	out := SQLValues()
	for k, v := range values {
		out[k] = v
	}
	return out
}

// Text is a field's value as a string or as bytes (the outcode Lambda
// reads parquet values as bytes).
type Text interface{ ~string | ~[]byte }

// UPRN checks a uprn against UPRNPattern.
func UPRN[S Text](s S) error {
	if uprnOK(s) {
		return nil
	}
	switch {
	case len(s) == 0:
		return errors.New("empty")
	case len(s) >= len(FillerPrefix) && string(s[:len(FillerPrefix)]) == FillerPrefix:
		return fmt.Errorf("%q is not an ONSPD filler (%s then a postcode without its space)", s, FillerPrefix)
	case len(s) > MaxUPRNDigits:
		return fmt.Errorf("%q has %d characters, want 1 to %d digits", s, len(s), MaxUPRNDigits)
	}
	return fmt.Errorf("%q is not 1 to %d digits (no sign, space, exponent or byte-order mark) or %s<postcode>", s, MaxUPRNDigits, FillerPrefix)
}

func uprnOK[S Text](s S) bool {
	if len(s) > len(FillerPrefix) && string(s[:len(FillerPrefix)]) == FillerPrefix {
		pc := s[len(FillerPrefix):]
		n := len(pc) - 3
		return n >= 2 && outcode(pc[:n]) && incode(pc[n:])
	}
	if len(s) == 0 || len(s) > MaxUPRNDigits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return false
		}
	}
	return true
}

// Postcode checks a postcode against PostcodePattern and returns its
// outcode, the only part of a row that becomes part of a file name.
func Postcode(s string) (string, error) {
	if err := PostcodeText(s); err != nil {
		return "", err
	}
	return s[:strings.IndexByte(s, ' ')], nil
}

// PostcodeText is Postcode for a string or bytes, without the outcode.
func PostcodeText[S Text](s S) error {
	sp := -1
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			sp = i
			break
		}
	}
	if sp < 0 || !outcode(s[:sp]) || !incode(s[sp+1:]) {
		return fmt.Errorf("%q is not a UK postcode (upper case, one space: outcode %s, incode %s)", s, OutcodePattern, IncodePattern)
	}
	return nil
}

// Outcode reports whether s is a UK outcode (OutcodePattern).
func Outcode(s string) bool { return outcode(s) }

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }
func digit(c byte) bool { return c >= '0' && c <= '9' }

func outcode[S Text](s S) bool {
	// [A-Z][A-Z]?[0-9][A-Z0-9]?
	if len(s) < 2 || len(s) > 4 || !upper(s[0]) {
		return false
	}
	i := 1
	if upper(s[i]) {
		i++
	}
	if i >= len(s) || !digit(s[i]) {
		return false
	}
	i++
	if i < len(s) && (upper(s[i]) || digit(s[i])) {
		i++
	}
	return i == len(s)
}

func incode[S Text](s S) bool {
	return len(s) == 3 && digit(s[0]) && upper(s[1]) && upper(s[2])
}

// Point checks that lon, lat is finite and inside the UK and Northern
// Ireland (MinLon..MaxLon, MinLat..MaxLat).
func Point(lon, lat float64) error {
	if inRange(lon, lat) {
		return nil
	}
	msg := fmt.Sprintf("point (%v %v) is outside longitude %.1f..%.1f, latitude %.1f..%.1f", lon, lat, MinLon, MaxLon, MinLat, MaxLat)
	switch {
	case math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0):
		msg = fmt.Sprintf("point (%v %v) is not finite", lon, lat)
	case inRange(lat, lon):
		msg += ": longitude and latitude look swapped (want lon lat)"
	case lon == 0 && lat == 0:
		msg += ": (0, 0) is not a real location"
	}
	return errors.New(msg)
}

// inRange is written so that NaN fails it, as in the SQL.
func inRange(lon, lat float64) bool {
	return lon >= MinLon && lon <= MaxLon && lat >= MinLat && lat <= MaxLat
}

// Geometry checks a ballot piece: at least one polygon, closed rings of at
// least four points, and every coordinate checked by Point.
func Geometry(mp orb.MultiPolygon) error {
	if len(mp) == 0 {
		return errors.New("no polygon")
	}
	for i, p := range mp {
		if len(p) == 0 {
			return fmt.Errorf("polygon %d has no ring", i+1)
		}
		for j, r := range p {
			if len(r) < 4 {
				return fmt.Errorf("polygon %d ring %d has %d points, want at least 4", i+1, j+1, len(r))
			}
			if r[0] != r[len(r)-1] {
				return fmt.Errorf("polygon %d ring %d is not closed", i+1, j+1)
			}
			for k, pt := range r {
				if err := Point(pt[0], pt[1]); err != nil {
					return fmt.Errorf("polygon %d ring %d point %d: %w", i+1, j+1, k+1, err)
				}
			}
		}
	}
	return nil
}

// ElectionID checks an election_id against ElectionIDPattern.
func ElectionID(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if cntrl(s[i]) {
			return fmt.Errorf("%q contains a control character", s)
		}
	}
	if space(s[0]) || space(s[len(s)-1]) {
		return fmt.Errorf("%q has surrounding whitespace", s)
	}
	return nil
}

// space and cntrl are ASCII whitespace and control characters, as the
// pattern reads them.
func space(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
func cntrl(c byte) bool { return c < 0x20 || c == 0x7f }

// bom is the UTF-8 byte-order mark.
const bom = "\ufeff"

// SkipBOM returns a reader of r without a leading UTF-8 byte-order mark.
// Every CSV reader calls it, so a file with a BOM is read the same as one
// without (CRLF line ends are handled by encoding/csv itself). A BOM
// anywhere else stays, and fails the field it is in.
func SkipBOM(r io.Reader) io.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	if b, err := br.Peek(len(bom)); err == nil && string(b) == bom {
		_, _ = br.Discard(len(bom))
	}
	return br
}
