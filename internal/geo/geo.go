// Package geo parses the WKT/EWKT strings of the data contract and answers
// strict point-in-polygon questions (Athena ST_Contains semantics) quickly.
package geo

import (
	"errors"

	"github.com/paulmach/orb"
)

// ErrEmpty is returned (wrapped) by ParseWKT for an empty geometry string.
var ErrEmpty = errors.New("empty geometry")

// ParseWKT parses POLYGON or MULTIPOLYGON WKT (EPSG:4326, lon lat, no SRID), holes allowed.
func ParseWKT(s string) (orb.MultiPolygon, error) {
	return nil, errors.New("geo: ParseWKT not implemented yet")
}

// ParseEWKTPoint parses AddressBase's `SRID=4326;POINT(lon lat)`.
func ParseEWKTPoint(s string) (lon, lat float64, err error) {
	return 0, 0, errors.New("geo: ParseEWKTPoint not implemented yet")
}

// Contains reports whether mp strictly contains p.
func Contains(mp orb.MultiPolygon, p orb.Point) bool { return false }

// Index answers "which geometries contain this point".
type Index struct{}

// NewIndex returns an empty Index.
func NewIndex() *Index { return &Index{} }

// Add registers one piece of geometry under id.
func (ix *Index) Add(id string, mp orb.MultiPolygon) {}

// Build prepares the index; call after all Adds.
func (ix *Index) Build() {}

// Containing appends the ids whose geometry strictly contains p.
func (ix *Index) Containing(p orb.Point, dst []string) []string { return dst }
