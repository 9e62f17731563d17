// Package geo parses the WKT/EWKT strings of the data contract and answers
// strict point-in-polygon questions (Athena ST_Contains semantics) quickly.
package geo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// ErrEmpty is returned (wrapped) by ParseWKT for an empty geometry string or
// an EMPTY geometry. Callers that must skip such rows can test errors.Is.
var ErrEmpty = errors.New("empty geometry")

// ParseWKT parses POLYGON or MULTIPOLYGON WKT (EPSG:4326, lon lat, no SRID),
// holes allowed. Keywords are case-insensitive and a leading "SRID=4326;" is
// tolerated. Every ring must be closed and have at least 4 points; coordinates
// must be finite. Errors name the byte offset and what was expected.
func ParseWKT(s string) (orb.MultiPolygon, error) {
	p := wktParser{s: s}
	p.skipSpace()
	if p.i == len(p.s) {
		return nil, fmt.Errorf("parse WKT: %w", ErrEmpty)
	}
	if len(p.s)-p.i >= 5 && strings.EqualFold(p.s[p.i:p.i+5], "SRID=") {
		semi := strings.IndexByte(p.s[p.i:], ';')
		if semi < 0 {
			return nil, fmt.Errorf("parse WKT: SRID prefix without ';'")
		}
		if srid := p.s[p.i+5 : p.i+semi]; srid != "4326" {
			return nil, fmt.Errorf("parse WKT: SRID %q not supported, want 4326", srid)
		}
		p.i += semi + 1
		p.skipSpace()
	}
	kw := p.word()
	var mp orb.MultiPolygon
	switch strings.ToUpper(kw) {
	case "POLYGON":
		if p.empty() {
			return nil, fmt.Errorf("parse WKT: %w (POLYGON EMPTY)", ErrEmpty)
		}
		poly, err := p.polygon(0)
		if err != nil {
			return nil, fmt.Errorf("parse WKT POLYGON: %w", err)
		}
		mp = orb.MultiPolygon{poly}
	case "MULTIPOLYGON":
		if p.empty() {
			return nil, fmt.Errorf("parse WKT: %w (MULTIPOLYGON EMPTY)", ErrEmpty)
		}
		var err error
		mp, err = p.multiPolygon()
		if err != nil {
			return nil, fmt.Errorf("parse WKT MULTIPOLYGON: %w", err)
		}
	case "":
		return nil, fmt.Errorf("parse WKT: expected geometry type at offset %d, found %s", p.i, p.found())
	default:
		return nil, fmt.Errorf("parse WKT: unsupported geometry type %q (want POLYGON or MULTIPOLYGON)", kw)
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("parse WKT: unexpected %s after geometry", p.found())
	}
	return mp, nil
}

type wktParser struct {
	s string
	i int
}

func (p *wktParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// word reads an ASCII letter run.
func (p *wktParser) word() string {
	p.skipSpace()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// empty consumes an optional EMPTY keyword.
func (p *wktParser) empty() bool {
	save := p.i
	if w := p.word(); strings.EqualFold(w, "EMPTY") {
		return true
	}
	p.i = save
	return false
}

// found describes the input at the cursor for error messages.
func (p *wktParser) found() string {
	if p.i >= len(p.s) {
		return "end of input"
	}
	end := min(p.i+12, len(p.s))
	return fmt.Sprintf("%q at offset %d", p.s[p.i:end], p.i)
}

func (p *wktParser) expect(c byte) error {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return nil
	}
	return fmt.Errorf("expected '%c', found %s", c, p.found())
}

// next reports whether another element follows (',') or the list ended (')').
func (p *wktParser) next() (bool, error) {
	p.skipSpace()
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case ',':
			p.i++
			return true, nil
		case ')':
			p.i++
			return false, nil
		}
	}
	return false, fmt.Errorf("expected ',' or ')', found %s", p.found())
}

func (p *wktParser) multiPolygon() (orb.MultiPolygon, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	var mp orb.MultiPolygon
	for {
		poly, err := p.polygon(len(mp))
		if err != nil {
			return nil, err
		}
		mp = append(mp, poly)
		more, err := p.next()
		if err != nil {
			return nil, fmt.Errorf("after polygon %d: %w", len(mp)-1, err)
		}
		if !more {
			return mp, nil
		}
	}
}

func (p *wktParser) polygon(idx int) (orb.Polygon, error) {
	if err := p.expect('('); err != nil {
		return nil, fmt.Errorf("polygon %d: %w", idx, err)
	}
	var poly orb.Polygon
	for {
		r, err := p.ring()
		if err != nil {
			return nil, fmt.Errorf("polygon %d ring %d: %w", idx, len(poly), err)
		}
		poly = append(poly, r)
		more, err := p.next()
		if err != nil {
			return nil, fmt.Errorf("polygon %d after ring %d: %w", idx, len(poly)-1, err)
		}
		if !more {
			return poly, nil
		}
	}
}

func (p *wktParser) ring() (orb.Ring, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	var r orb.Ring
	for {
		x, err := p.number()
		if err != nil {
			return nil, fmt.Errorf("point %d x: %w", len(r), err)
		}
		y, err := p.number()
		if err != nil {
			return nil, fmt.Errorf("point %d y: %w", len(r), err)
		}
		r = append(r, orb.Point{x, y})
		more, err := p.next()
		if err != nil {
			return nil, fmt.Errorf("after point %d: %w", len(r)-1, err)
		}
		if !more {
			break
		}
	}
	if len(r) < 4 {
		return nil, fmt.Errorf("ring has %d points, need at least 4", len(r))
	}
	if r[0] != r[len(r)-1] {
		return nil, fmt.Errorf("ring not closed: first point %v != last point %v", r[0], r[len(r)-1])
	}
	return r, nil
}

func (p *wktParser) number() (float64, error) {
	p.skipSpace()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' ||
			(c|0x20 >= 'a' && c|0x20 <= 'z') { // letters so "NaN"/"Inf" reach the finite check
			p.i++
			continue
		}
		break
	}
	tok := p.s[start:p.i]
	if tok == "" {
		p.i = start
		return 0, fmt.Errorf("expected number, found %s", p.found())
	}
	v, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q at offset %d", tok, start)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("non-finite number %q at offset %d", tok, start)
	}
	return v, nil
}

// ParseEWKTPoint parses AddressBase's `SRID=4326;POINT(lon lat)`. Numbers
// without a leading zero (`.5956009`, `-.5`) are accepted; the SRID prefix is
// optional but, when present, must be 4326. It does not allocate on success.
func ParseEWKTPoint(s string) (lon, lat float64, err error) {
	if lon, lat, ok := parsePlainPoint(s); ok {
		return lon, lat, nil
	}
	return parseEWKTPoint(s)
}

// pointPrefix starts every AddressBase location.
const pointPrefix = "SRID=4326;POINT("

// parsePlainPoint is ParseEWKTPoint's fast path, for the form that every
// AddressBase row has: pointPrefix, two plain decimals (decimal) and one
// space between them, ")". It gives parseEWKTPoint's result, and ok is
// false for anything else.
func parsePlainPoint(s string) (lon, lat float64, ok bool) {
	if len(s) <= len(pointPrefix) || s[:len(pointPrefix)] != pointPrefix || s[len(s)-1] != ')' {
		return 0, 0, false
	}
	body := s[len(pointPrefix) : len(s)-1]
	sp := strings.IndexByte(body, ' ')
	if sp < 0 {
		return 0, 0, false
	}
	if lon, ok = decimal(body[:sp]); !ok {
		return 0, 0, false
	}
	if lat, ok = decimal(body[sp+1:]); !ok {
		return 0, 0, false
	}
	return lon, lat, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// decimal parses -?[0-9]*(.[0-9]*)? with 1 to 15 digits as
// strconv.ParseFloat does: the digits as an integer and the power of ten
// are both exact in a float64, so one division rounds the value once,
// correctly (strconv's own exact path). ok is false for anything else.
func decimal(t string) (v float64, ok bool) {
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits >= len(pow10) {
		return 0, false
	}
	v = float64(m) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

// parseEWKTPoint is ParseEWKTPoint for any form it accepts.
func parseEWKTPoint(s string) (lon, lat float64, err error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, 0, errors.New("parse EWKT point: empty location")
	}
	if len(rest) >= 5 && strings.EqualFold(rest[:5], "SRID=") {
		semi := strings.IndexByte(rest, ';')
		if semi < 0 {
			return 0, 0, fmt.Errorf("parse EWKT point %q: SRID prefix without ';'", s)
		}
		if rest[5:semi] != "4326" {
			return 0, 0, fmt.Errorf("parse EWKT point %q: SRID %q not supported, want 4326", s, rest[5:semi])
		}
		rest = strings.TrimLeft(rest[semi+1:], " ")
	}
	if len(rest) < 5 || !strings.EqualFold(rest[:5], "POINT") {
		return 0, 0, fmt.Errorf("parse EWKT point %q: want POINT(lon lat)", s)
	}
	rest = strings.TrimSpace(rest[5:])
	if len(rest) < 2 || rest[0] != '(' || rest[len(rest)-1] != ')' {
		return 0, 0, fmt.Errorf("parse EWKT point %q: want POINT(lon lat)", s)
	}
	body := strings.TrimSpace(rest[1 : len(rest)-1])
	sp := strings.IndexAny(body, " \t")
	if sp < 0 {
		return 0, 0, fmt.Errorf("parse EWKT point %q: want two coordinates", s)
	}
	xs, ys := body[:sp], strings.TrimLeft(body[sp:], " \t")
	if lon, err = parseCoord(xs); err != nil {
		return 0, 0, fmt.Errorf("parse EWKT point %q: lon: %w", s, err)
	}
	if lat, err = parseCoord(ys); err != nil {
		return 0, 0, fmt.Errorf("parse EWKT point %q: lat: %w", s, err)
	}
	return lon, lat, nil
}

func parseCoord(t string) (float64, error) {
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", t)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("non-finite number %q", t)
	}
	return v, nil
}
