package geo

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
)

// cellsPerPiece is the target number of grid cells per indexed piece.
const cellsPerPiece = 64

// maxCells caps the grid size; cell<<1 must fit in an int32.
const maxCells = 1 << 24

// Index answers "which geometries contain this point". Build lays a uniform
// grid (about 64 cells per piece) over all pieces and lists, per cell, the
// pieces that may contain its points; a cell that a piece contains entirely
// is marked "full", so most lookups need no point-in-polygon test at all.
// The remaining candidates get a bounding-box check and an exact prepared
// (y-banded) containment test. Build it with Add and Build; after Build,
// Containing is safe for concurrent use and does not allocate.
type Index struct {
	pending []pendingPiece

	ids    []string // distinct ids in sorted order; a piece refers to one by ordinal
	pieces []piece

	bound          orb.Bound
	nx, ny         int
	invW, invH     float64
	cellStart      []int32     // len nx*ny+1, offsets into cellPieces
	cellPieces     []cellEntry // sorted by id ordinal within each cell
	built, isEmpty bool
}

type pendingPiece struct {
	id string
	mp orb.MultiPolygon
}

// cellEntry is one piece listed in a grid cell. The id ordinal is copied in
// so that full cells and already-matched ids need no access to the piece.
type cellEntry struct {
	ord   int32
	piece int32 // piece index i, or ^i when the piece strictly contains the whole cell
}

type piece struct {
	ord   int32
	bound orb.Bound
	prep  *Prepared
	mp    orb.MultiPolygon // only during Build
}

// NewIndex returns an empty Index.
func NewIndex() *Index { return &Index{} }

// Add registers one piece of geometry under id. The same id may be added
// many times (one ballot is often many WKT pieces); a point is then inside
// id if any one piece strictly contains it. The index keeps mp's points, so
// the caller must not modify them. Add after Build is ignored.
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
	// Prepare pieces in parallel; order is kept, so the build is deterministic.
	prepped := make([]*Prepared, len(ix.pending))
	parallelFor(len(ix.pending), func(i int) { prepped[i] = Prepare(ix.pending[i].mp) })
	ids := make([]string, 0, len(ix.pending))
	for i, pp := range ix.pending {
		prep := prepped[i]
		if len(prep.polys) == 0 || !finite(prep.bound.Min) || !finite(prep.bound.Max) {
			prepped[i] = nil // nothing to index, or coordinates ParseWKT would have rejected
			continue
		}
		ids = append(ids, pp.id)
	}
	slices.Sort(ids)
	ix.ids = slices.Compact(ids)

	ix.pieces = make([]piece, 0, len(ix.pending))
	first := true
	for i, pp := range ix.pending {
		prep := prepped[i]
		if prep == nil {
			continue
		}
		ord, _ := slices.BinarySearch(ix.ids, pp.id)
		ix.pieces = append(ix.pieces, piece{ord: int32(ord), bound: prep.bound, prep: prep, mp: pp.mp})
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

	// Classify each (piece, cell) pair in the piece's bounding box: a cell
	// no edge's bounding box reaches is uniformly inside or outside the
	// piece, so one exact test of a point in it decides the whole cell.
	// Outside cells get no entry; inside cells get a "full" entry that
	// Containing accepts without a point-in-polygon test.
	perPiece := make([][]int32, len(ix.pieces)) // cell<<1 | full, per piece
	parallelFor(len(ix.pieces), func(i int) { perPiece[i] = ix.classify(i) })
	counts := make([]int32, ix.nx*ix.ny+1)
	for _, es := range perPiece {
		for _, e := range es {
			counts[e>>1+1]++
		}
	}
	for c := 1; c < len(counts); c++ {
		counts[c] += counts[c-1]
	}
	ix.cellStart = counts
	ix.cellPieces = make([]cellEntry, counts[len(counts)-1])
	fill := slices.Clone(counts[:len(counts)-1])
	for i, es := range perPiece { // pieces in ord order, so each cell stays sorted
		for _, e := range es {
			v := int32(i)
			if e&1 == 1 {
				v = ^v
			}
			ix.cellPieces[fill[e>>1]] = cellEntry{ord: ix.pieces[i].ord, piece: v}
			fill[e>>1]++
		}
		ix.pieces[i].mp = nil
	}
}

// classify returns piece i's grid entries as cell<<1|full. A cell that no
// edge's bounding box reaches is uniformly inside or outside the piece, so
// one exact test of a point in it decides the whole cell: outside cells get
// no entry, inside cells a "full" entry that Containing accepts without a
// point-in-polygon test; the rest need the test.
func (ix *Index) classify(i int) []int32 {
	pc := &ix.pieces[i]
	x0, y0, x1, y1 := ix.cellRange(pc.bound)
	w, h := x1-x0+1, y1-y0+1
	mark := make([]bool, w*h)
	for _, poly := range pc.mp {
		for _, r := range poly {
			for k := range r {
				a, b := r[(k+len(r)-1)%len(r)], r[k] // includes the closing edge of unclosed rings
				ex0, ex1 := ix.cellX(min(a[0], b[0])), ix.cellX(max(a[0], b[0]))
				ey0, ey1 := ix.cellY(min(a[1], b[1])), ix.cellY(max(a[1], b[1]))
				for cy := ey0; cy <= ey1; cy++ {
					for cx := ex0; cx <= ex1; cx++ {
						mark[(cy-y0)*w+cx-x0] = true
					}
				}
			}
		}
	}
	var out []int32
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			c := int32(cy*ix.nx + cx)
			if mark[(cy-y0)*w+cx-x0] {
				out = append(out, c<<1)
				continue
			}
			rep, ok := ix.cellPoint(cx, cy)
			switch {
			case !ok:
				out = append(out, c<<1)
			case pc.prep.Contains(rep):
				out = append(out, c<<1|1)
			}
		}
	}
	return out
}

// parallelFor runs f(0..n-1) on GOMAXPROCS goroutines.
func parallelFor(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

// cellPoint returns a point that maps to cell (cx, cy), if the cell's
// centre does (it can fail only in degenerate float cases).
func (ix *Index) cellPoint(cx, cy int) (orb.Point, bool) {
	var p orb.Point
	if ix.invW > 0 {
		p[0] = ix.bound.Min[0] + (float64(cx)+0.5)/ix.invW
	} else {
		p[0] = ix.bound.Min[0]
	}
	if ix.invH > 0 {
		p[1] = ix.bound.Min[1] + (float64(cy)+0.5)/ix.invH
	} else {
		p[1] = ix.bound.Min[1]
	}
	return p, ix.cellX(p[0]) == cx && ix.cellY(p[1]) == cy
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
	for _, e := range ix.cellPieces[ix.cellStart[c]:ix.cellStart[c+1]] {
		if e.ord == last {
			continue // this id already matched through another piece
		}
		if e.piece < 0 { // the piece contains the whole cell
			dst = append(dst, ix.ids[e.ord])
			last = e.ord
			continue
		}
		pc := &ix.pieces[e.piece]
		if x <= pc.bound.Min[0] || x >= pc.bound.Max[0] || y <= pc.bound.Min[1] || y >= pc.bound.Max[1] {
			continue
		}
		if pc.prep.Contains(p) {
			dst = append(dst, ix.ids[e.ord])
			last = e.ord
		}
	}
	return dst
}
