package validate

import (
	"fmt"

	"github.com/paulmach/orb"
	sf "github.com/peterstace/simplefeatures/geom"
)

// InvalidPiece reports an input geometry piece that is not OGC-valid: where
// it is, whose it is (an election_id, or a boundary review's id), and why.
type InvalidPiece struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

func (p InvalidPiece) String() string {
	return fmt.Sprintf("%s:%d: %s: not OGC-valid: %s", p.File, p.Line, p.ID, p.Reason)
}

// OGCValid returns "" when mp is a valid OGC MultiPolygon, else the reason
// (e.g. a self-intersecting ring). An invalid ballot piece is not an error:
// the contract says it is used as given and reported (see
// bake.Summary.InvalidPieces). The check is simplefeatures' Validate.
func OGCValid(mp orb.MultiPolygon) string {
	polys := make([]sf.Polygon, len(mp))
	for i, p := range mp {
		rings := make([]sf.LineString, len(p))
		for j, r := range p {
			xy := make([]float64, 0, 2*len(r))
			for _, pt := range r {
				xy = append(xy, pt[0], pt[1])
			}
			rings[j] = sf.NewLineString(sf.NewSequence(xy, sf.DimXY))
		}
		polys[i] = sf.NewPolygon(rings)
	}
	if err := sf.NewMultiPolygon(polys).Validate(); err != nil {
		return err.Error()
	}
	return ""
}
