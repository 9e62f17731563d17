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

type edge struct{ ax, ay, bx, by float64 }

// preparedRing holds a ring's edges bucketed by y-band, so a query only tests
// the edges whose y-range can include the point's y.
type preparedRing struct {
	bound     orb.Bound
	y0, invH  float64
	bandStart []int32 // len nb+1, offsets into edges
	edges     []edge
}

func prepareRing(r orb.Ring) preparedRing {
	pr := preparedRing{bound: r.Bound()}
	n := len(r)
	if n < 2 {
		return pr
	}
	all := make([]edge, 0, n)
	prev := r[n-1]
	for _, cur := range r {
		if prev != cur {
			all = append(all, edge{prev[0], prev[1], cur[0], cur[1]})
		}
		prev = cur
	}
	h := pr.bound.Max[1] - pr.bound.Min[1]
	nb := len(all) / edgesPerBand
	if len(all) < bandEdges || h <= 0 || nb < 2 {
		pr.bandStart = []int32{0, int32(len(all))}
		pr.edges = all
		return pr
	}
	pr.y0 = pr.bound.Min[1]
	pr.invH = float64(nb) / h
	if math.IsInf(pr.invH, 0) || math.IsNaN(pr.invH) {
		pr.invH = 0
		pr.bandStart = []int32{0, int32(len(all))}
		pr.edges = all
		return pr
	}
	counts := make([]int32, nb+1)
	for _, e := range all {
		lo, hi := pr.band(min(e.ay, e.by), nb), pr.band(max(e.ay, e.by), nb)
		for b := lo; b <= hi; b++ {
			counts[b+1]++
		}
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	pr.bandStart = counts
	pr.edges = make([]edge, counts[nb])
	fill := make([]int32, nb)
	copy(fill, counts[:nb])
	for _, e := range all {
		lo, hi := pr.band(min(e.ay, e.by), nb), pr.band(max(e.ay, e.by), nb)
		for b := lo; b <= hi; b++ {
			pr.edges[fill[b]] = e
			fill[b]++
		}
	}
	return pr
}

// band maps y to a band index; it is monotone in y, so an edge registered
// in bands band(minY)..band(maxY) is found by any y within its range.
func (pr *preparedRing) band(y float64, nb int) int {
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
	b := 0
	if nb > 1 {
		b = pr.band(py, nb)
	}
	for _, e := range pr.edges[pr.bandStart[b]:pr.bandStart[b+1]] {
		if (e.ay > py) == (e.by > py) && e.ay != py && e.by != py {
			continue // fast reject: edge entirely above or below p's line
		}
		cross, onEdge := edgeTest(e.ax, e.ay, e.bx, e.by, px, py)
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
// (y-band edge buckets per ring). It is safe for concurrent use.
type Prepared struct {
	bound orb.Bound
	polys []preparedPolygon
}

// Prepare preprocesses mp for repeated containment queries.
func Prepare(mp orb.MultiPolygon) *Prepared {
	p := &Prepared{bound: mp.Bound()}
	for _, poly := range mp {
		if len(poly) == 0 {
			continue
		}
		pp := preparedPolygon{outer: prepareRing(poly[0])}
		for _, h := range poly[1:] {
			pp.holes = append(pp.holes, prepareRing(h))
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
