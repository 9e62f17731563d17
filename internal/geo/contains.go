package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// Contains reports whether mp strictly contains p (Athena ST_Contains
// semantics): a point on any ring's boundary (edge or vertex) is not
// contained, a point inside a hole is not contained, and a point strictly
// inside any part of a multipolygon is contained. Orientation tests are exact.
// Contains scans every edge; use Prepare or Index for repeated queries.
func Contains(mp orb.MultiPolygon, p orb.Point) bool {
	if !finite(p) {
		return false
	}
	for _, poly := range mp {
		if polygonContains(poly, p[0], p[1]) {
			return true
		}
	}
	return false
}

func polygonContains(poly orb.Polygon, px, py float64) bool {
	if len(poly) == 0 {
		return false
	}
	in, on := ringLocate(poly[0], px, py)
	if on || !in {
		return false
	}
	for _, hole := range poly[1:] {
		in, on := ringLocate(hole, px, py)
		if on || in {
			return false
		}
	}
	return true
}

// ringLocate reports whether (px,py) is inside ring r (crossing parity) and
// whether it lies on r's boundary. When on is true, in is meaningless.
func ringLocate(r orb.Ring, px, py float64) (in, on bool) {
	n := len(r)
	if n == 0 {
		return false, false
	}
	// Treat the ring as closed even if the last point does not repeat the first.
	prev := r[n-1]
	for _, cur := range r {
		cross, onEdge := edgeTest(prev[0], prev[1], cur[0], cur[1], px, py)
		if onEdge {
			return false, true
		}
		if cross {
			in = !in
		}
		prev = cur
	}
	return in, false
}

// edgeTest classifies point p against edge a-b for the crossing-number test
// with a ray towards +x: cross reports whether the ray crosses the edge under
// the half-open rule (exactly one endpoint strictly above p), on whether p
// lies on the closed segment. Both are exact.
func edgeTest(ax, ay, bx, by, px, py float64) (cross, on bool) {
	aAbove, bAbove := ay > py, by > py
	if aAbove != bAbove {
		// The edge spans py; p is on it iff collinear.
		o := orient(ax, ay, bx, by, px, py)
		if o == 0 {
			return false, true
		}
		// Upward edge with p to its left, or downward edge with p to its
		// right: the edge is to the right of p.
		return bAbove == (o > 0), false
	}
	if ay == py && by == py { // horizontal edge on p's line
		if (ax <= px && px <= bx) || (bx <= px && px <= ax) {
			return false, true
		}
		return false, false
	}
	// The edge touches py only at an endpoint (if at all).
	if (ay == py && ax == px) || (by == py && bx == px) {
		return false, true
	}
	return false, false
}

func finite(p orb.Point) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsInf(p[0], 0) && !math.IsInf(p[1], 0)
}
