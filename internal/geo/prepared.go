package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// bandEdges is the edge count from which a ring gets y-band buckets; smaller
// rings are scanned linearly.
const bandEdges = 16

// edgesPerBand is the target number of edges per y-band.
const edgesPerBand = 4

// preparedRing buckets a ring's edges by y-band, so a query only tests the
// edges whose y-range can include the point's y. Edges are stored as int32
// indices into the ring (edge k runs from pts[k] to pts[k+1]), which keeps
// the index small: the ring's points are shared, not copied.
type preparedRing struct {
	bound     orb.Bound
	pts       orb.Ring // closed: pts[0] == pts[len-1]
	y0, invH  float64
	bandStart []int32 // len nb+1, offsets into edges
	edges     []int32
}

func prepareRing(r orb.Ring) preparedRing {
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r[:len(r):len(r)], r[0]) // close a copy; never modify the caller's ring
	}
	pr := preparedRing{bound: ringBound(r), pts: r}
	n := len(r) - 1 // edges
	if n < 1 {
		pr.bandStart = []int32{0, 0}
		return pr
	}
	h := pr.bound.Max[1] - pr.bound.Min[1]
	nb := n / edgesPerBand
	if n < bandEdges || h <= 0 || nb < 2 || math.IsInf(float64(nb)/h, 0) {
		nb = 1
	} else {
		pr.y0 = pr.bound.Min[1]
		pr.invH = float64(nb) / h
	}
	counts := make([]int32, nb+1)
	for k := 0; k < n; k++ {
		a, b := r[k], r[k+1]
		if a == b {
			continue // zero-length edge: its point is also an endpoint of a neighbour
		}
		lo, hi := pr.band(min(a[1], b[1]), nb), pr.band(max(a[1], b[1]), nb)
		for bd := lo; bd <= hi; bd++ {
			counts[bd+1]++
		}
	}
	for bd := 1; bd <= nb; bd++ {
		counts[bd] += counts[bd-1]
	}
	pr.bandStart = counts
	pr.edges = make([]int32, counts[nb])
	fill := make([]int32, nb)
	copy(fill, counts[:nb])
	for k := 0; k < n; k++ {
		a, b := r[k], r[k+1]
		if a == b {
			continue
		}
		lo, hi := pr.band(min(a[1], b[1]), nb), pr.band(max(a[1], b[1]), nb)
		for bd := lo; bd <= hi; bd++ {
			pr.edges[fill[bd]] = int32(k)
			fill[bd]++
		}
	}
	return pr
}

// band maps y to a band index; it is monotone in y, so an edge registered
// in bands band(minY)..band(maxY) is found by any y within its range.
func (pr *preparedRing) band(y float64, nb int) int {
	if nb <= 1 {
		return 0
	}
	b := int((y - pr.y0) * pr.invH)
	if b < 0 {
		return 0
	}
	if b >= nb {
		return nb - 1
	}
	return b
}

// locate is ringLocate restricted to the edges of p's y-band.
func (pr *preparedRing) locate(px, py float64) (in, on bool) {
	nb := len(pr.bandStart) - 1
	b := pr.band(py, nb)
	pts := pr.pts
	for _, k := range pr.edges[pr.bandStart[b]:pr.bandStart[b+1]] {
		a, e := pts[k], pts[k+1]
		if (a[1] > py) == (e[1] > py) && a[1] != py && e[1] != py {
			continue // fast reject: edge entirely above or below p's line
		}
		cross, onEdge := edgeTest(a[0], a[1], e[0], e[1], px, py)
		if onEdge {
			return false, true
		}
		if cross {
			in = !in
		}
	}
	return in, false
}

type preparedPolygon struct {
	outer preparedRing
	holes []preparedRing
}

func (pp *preparedPolygon) contains(px, py float64) bool {
	b := &pp.outer.bound
	if !(px > b.Min[0] && px < b.Max[0] && py > b.Min[1] && py < b.Max[1]) {
		return false // outside or on the bounding box (or NaN), so not strictly inside
	}
	in, on := pp.outer.locate(px, py)
	if on || !in {
		return false
	}
	for i := range pp.holes {
		h := &pp.holes[i]
		if px < h.bound.Min[0] || px > h.bound.Max[0] || py < h.bound.Min[1] || py > h.bound.Max[1] {
			continue
		}
		in, on := h.locate(px, py)
		if on || in {
			return false
		}
	}
	return true
}

// Prepared is a multipolygon preprocessed for fast repeated Contains calls
// (y-band edge buckets per ring). It shares the rings' points with the
// multipolygon it was made from, which must not be modified afterwards.
// It is safe for concurrent use.
type Prepared struct {
	bound orb.Bound
	polys []preparedPolygon
}

// Prepare preprocesses mp for repeated containment queries.
func Prepare(mp orb.MultiPolygon) *Prepared {
	p := &Prepared{}
	first := true
	for _, poly := range mp {
		if len(poly) == 0 {
			continue
		}
		pp := preparedPolygon{outer: prepareRing(poly[0])}
		for _, h := range poly[1:] {
			pp.holes = append(pp.holes, prepareRing(h))
		}
		for _, r := range append([]preparedRing{pp.outer}, pp.holes...) {
			if len(r.pts) == 0 {
				continue
			}
			if first {
				p.bound, first = r.bound, false
			} else {
				p.bound = p.bound.Union(r.bound)
			}
		}
		p.polys = append(p.polys, pp)
	}
	return p
}

// Bound returns the bounding box of the prepared geometry.
func (p *Prepared) Bound() orb.Bound { return p.bound }

// Contains reports whether the geometry strictly contains pt, with the same
// semantics as the package-level Contains.
func (p *Prepared) Contains(pt orb.Point) bool {
	for i := range p.polys {
		if p.polys[i].contains(pt[0], pt[1]) {
			return true
		}
	}
	return false
}

func ringBound(r orb.Ring) orb.Bound {
	if len(r) == 0 {
		return orb.Bound{}
	}
	b := orb.Bound{Min: r[0], Max: r[0]}
	for _, p := range r[1:] {
		b.Min[0], b.Max[0] = min(b.Min[0], p[0]), max(b.Max[0], p[0])
		b.Min[1], b.Max[1] = min(b.Min[1], p[1]), max(b.Max[1], p[1])
	}
	return b
}
