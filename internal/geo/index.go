package geo

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// cellsPerPiece is the target number of grid cells per indexed piece.
const cellsPerPiece = 4

// maxCells caps the grid size.
const maxCells = 1 << 22

// Index answers "which geometries contain this point" with a uniform grid
// over the pieces' bounding boxes, then an exact prepared containment test
// on each candidate. Build it with Add and Build; after Build, Containing is
// safe for concurrent use.
type Index struct {
	pending []pendingPiece

	ids    []string // distinct ids in sorted order; a piece refers to one by ordinal
	pieces []piece

	bound          orb.Bound
	nx, ny         int
	invW, invH     float64
	cellStart      []int32 // len nx*ny+1, offsets into cellPieces
	cellPieces     []int32 // piece indices, sorted by id ordinal within each cell
	built, isEmpty bool
}

type pendingPiece struct {
	id string
	mp orb.MultiPolygon
}

type piece struct {
	ord   int32
	bound orb.Bound
	prep  *Prepared
}

// NewIndex returns an empty Index.
func NewIndex() *Index { return &Index{} }

// Add registers one piece of geometry under id. The same id may be added
// many times (one ballot is often many WKT pieces); a point is then inside
// id if any one piece strictly contains it. Add after Build is ignored.
func (ix *Index) Add(id string, mp orb.MultiPolygon) {
	if ix.built || len(mp) == 0 {
		return
	}
	ix.pending = append(ix.pending, pendingPiece{id: id, mp: mp})
}

// Len reports the number of distinct ids indexed (after Build).
func (ix *Index) Len() int { return len(ix.ids) }

// Build prepares the pieces and the grid; call it once, after all Adds.
func (ix *Index) Build() {
	if ix.built {
		return
	}
	ix.built = true
	ids := make([]string, 0, len(ix.pending))
	for _, pp := range ix.pending {
		ids = append(ids, pp.id)
	}
	slices.Sort(ids)
	ix.ids = slices.Compact(ids)

	ix.pieces = make([]piece, 0, len(ix.pending))
	first := true
	for _, pp := range ix.pending {
		ord, _ := slices.BinarySearch(ix.ids, pp.id)
		prep := Prepare(pp.mp)
		if len(prep.polys) == 0 {
			continue
		}
		ix.pieces = append(ix.pieces, piece{ord: int32(ord), bound: prep.bound, prep: prep})
		if first {
			ix.bound, first = prep.bound, false
		} else {
			ix.bound = ix.bound.Union(prep.bound)
		}
	}
	ix.pending = nil
	// Pieces sorted by id ordinal make every cell list sorted too, so
	// Containing emits sorted, distinct ids without sorting.
	slices.SortStableFunc(ix.pieces, func(a, b piece) int { return int(a.ord) - int(b.ord) })
	if len(ix.pieces) == 0 {
		ix.isEmpty = true
		return
	}

	w, h := ix.bound.Max[0]-ix.bound.Min[0], ix.bound.Max[1]-ix.bound.Min[1]
	cells := min(max(cellsPerPiece*len(ix.pieces), 1), maxCells)
	switch {
	case w <= 0 && h <= 0:
		ix.nx, ix.ny = 1, 1
	case w <= 0:
		ix.nx, ix.ny = 1, cells
	case h <= 0:
		ix.nx, ix.ny = cells, 1
	default:
		ix.nx = max(1, int(math.Sqrt(float64(cells)*w/h)))
		ix.ny = max(1, cells/ix.nx)
	}
	if w > 0 {
		ix.invW = float64(ix.nx) / w
	}
	if h > 0 {
		ix.invH = float64(ix.ny) / h
	}

	counts := make([]int32, ix.nx*ix.ny+1)
	for i := range ix.pieces {
		x0, y0, x1, y1 := ix.cellRange(ix.pieces[i].bound)
		for cy := y0; cy <= y1; cy++ {
			for cx := x0; cx <= x1; cx++ {
				counts[cy*ix.nx+cx+1]++
			}
		}
	}
	for c := 1; c < len(counts); c++ {
		counts[c] += counts[c-1]
	}
	ix.cellStart = counts
	ix.cellPieces = make([]int32, counts[len(counts)-1])
	fill := slices.Clone(counts[:len(counts)-1])
	for i := range ix.pieces {
		x0, y0, x1, y1 := ix.cellRange(ix.pieces[i].bound)
		for cy := y0; cy <= y1; cy++ {
			for cx := x0; cx <= x1; cx++ {
				c := cy*ix.nx + cx
				ix.cellPieces[fill[c]] = int32(i)
				fill[c]++
			}
		}
	}
}

func (ix *Index) cellX(x float64) int {
	c := int((x - ix.bound.Min[0]) * ix.invW)
	return min(max(c, 0), ix.nx-1)
}

func (ix *Index) cellY(y float64) int {
	c := int((y - ix.bound.Min[1]) * ix.invH)
	return min(max(c, 0), ix.ny-1)
}

func (ix *Index) cellRange(b orb.Bound) (x0, y0, x1, y1 int) {
	return ix.cellX(b.Min[0]), ix.cellY(b.Min[1]), ix.cellX(b.Max[0]), ix.cellY(b.Max[1])
}

// Containing appends to dst the ids whose geometry strictly contains p, in
// sorted order and without duplicates, and returns the extended slice. It
// does not allocate beyond growing dst. Before Build it returns dst unchanged.
func (ix *Index) Containing(p orb.Point, dst []string) []string {
	if !ix.built || ix.isEmpty {
		return dst
	}
	x, y := p[0], p[1]
	b := &ix.bound
	if !(x > b.Min[0] && x < b.Max[0] && y > b.Min[1] && y < b.Max[1]) {
		return dst // also rejects NaN
	}
	c := ix.cellY(y)*ix.nx + ix.cellX(x)
	last := int32(-1)
	for _, pi := range ix.cellPieces[ix.cellStart[c]:ix.cellStart[c+1]] {
		pc := &ix.pieces[pi]
		if pc.ord == last {
			continue // this id already matched through another piece
		}
		if x <= pc.bound.Min[0] || x >= pc.bound.Max[0] || y <= pc.bound.Min[1] || y >= pc.bound.Max[1] {
			continue
		}
		if pc.prep.Contains(p) {
			dst = append(dst, ix.ids[pc.ord])
			last = pc.ord
		}
	}
	return dst
}
