package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/paulmach/orb"
)

type testPiece struct {
	id string
	mp orb.MultiPolygon
}

// randomPieces returns n pieces under about n/3 ids (so ids repeat), with
// vertex counts from 4 to maxVerts, some holes and some adjacent pieces that
// share lattice edges, scattered over a lon/lat box like the UK's.
func randomPieces(rng *rand.Rand, n, maxVerts int) []testPiece {
	var out []testPiece
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("local.org%d.div.2026-05-07", rng.IntN(max(1, n/3)))
		c := orb.Point{snap(-8 + rng.Float64()*10), snap(50 + rng.Float64()*9)}
		if rng.IntN(5) == 0 { // an axis-aligned square sharing edges with a neighbour
			x, y := snap(c[0]), snap(c[1])
			for k := 0; k < 2 && i < n; k++ {
				x0 := x + float64(k)*0.25
				out = append(out, testPiece{id: id, mp: orb.MultiPolygon{{{{x0, y}, {x0 + 0.25, y}, {x0 + 0.25, y + 0.25}, {x0, y + 0.25}, {x0, y}}}}})
				i++
			}
			continue
		}
		mp := randomPolygon(rng, c, 0.05+rng.Float64()*0.5, 4+rng.IntN(maxVerts), rng.IntN(3) == 0)
		if rng.IntN(6) == 0 {
			c2 := orb.Point{c[0] + 1.5, c[1]}
			mp = append(mp, randomPolygon(rng, c2, 0.3, 8+rng.IntN(50), false)...)
		}
		out = append(out, testPiece{id: id, mp: mp})
	}
	return out
}

func bruteContaining(pieces []testPiece, p orb.Point) []string {
	var ids []string
	for _, pc := range pieces {
		if Contains(pc.mp, p) {
			ids = append(ids, pc.id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestIndexMatchesBruteForce compares Index.Containing with Contains over
// every piece, for random points, vertices and edge midpoints.
func TestIndexMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := randomPieces(rng, 400, 400)
	ix := NewIndex()
	for _, pc := range pieces {
		ix.Add(pc.id, pc.mp)
	}
	ix.Build()
	box := orb.Bound{Min: orb.Point{-9, 49}, Max: orb.Point{3, 60}}
	hits, multi := 0, 0
	var dst []string
	for i := 0; i < 6000; i++ {
		pc := pieces[rng.IntN(len(pieces))]
		p := randomProbe(rng, pc.mp, box)
		if rng.IntN(3) == 0 { // near a piece's centre, where pieces often overlap
			b := pc.mp.Bound()
			p = randomProbe(rng, pc.mp, b.Pad(0.1))
		}
		want := bruteContaining(pieces, p)
		dst = ix.Containing(p, dst[:0])
		if diff := cmp.Diff(want, dst, cmpEmpty); diff != "" {
			t.Fatalf("Containing(%v) mismatch (-brute +index):\n%s", p, diff)
		}
		if len(want) > 0 {
			hits++
		}
		if len(want) > 1 {
			multi++
		}
	}
	full := 0
	for _, e := range ix.cellPieces {
		if e.piece < 0 {
			full++
		}
	}
	if full == 0 || full == len(ix.cellPieces) {
		t.Errorf("%d of %d cell entries are full cells; want both kinds exercised", full, len(ix.cellPieces))
	}
	if hits < 1000 || multi < 50 {
		t.Errorf("only %d probes hit a geometry and %d hit several; the test is too easy", hits, multi)
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func TestIndexContainingTable(t *testing.T) {
	ix := NewIndex()
	// One ballot split into two pieces sharing the edge x=2, plus an org
	// covering both, plus a ballot with a hole.
	ix.Add("local.a.west.2026-05-07", mustWKT(t, "POLYGON((0 0,2 0,2 2,0 2,0 0))"))
	ix.Add("local.a.west.2026-05-07", mustWKT(t, "POLYGON((2 0,4 0,4 2,2 2,2 0))"))
	ix.Add("mayor.a.2026-05-07", mustWKT(t, "POLYGON((0 0,4 0,4 4,0 4,0 0))"))
	ix.Add("local.a.ring.2026-05-07", mustWKT(t, "POLYGON((0 2,4 2,4 4,0 4,0 2),(1 3,3 3,3 3.5,1 3))"))
	ix.Add("local.a.empty.2026-05-07", nil)
	ix.Add("local.a.nan.2026-05-07", orb.MultiPolygon{{{{0, 0}, {math.NaN(), 0}, {1, 1}, {0, 0}}}})
	ix.Build()
	tests := []struct {
		p    orb.Point
		want []string
	}{
		{orb.Point{1, 1}, []string{"local.a.west.2026-05-07", "mayor.a.2026-05-07"}},
		{orb.Point{3, 1}, []string{"local.a.west.2026-05-07", "mayor.a.2026-05-07"}},
		{orb.Point{2, 1}, []string{"mayor.a.2026-05-07"}}, // on the pieces' shared edge
		{orb.Point{2, 2}, []string{"mayor.a.2026-05-07"}}, // on a vertex of every piece but inside the org
		{orb.Point{0.5, 3.9}, []string{"local.a.ring.2026-05-07", "mayor.a.2026-05-07"}},
		{orb.Point{2, 3.2}, []string{"mayor.a.2026-05-07"}}, // in the hole
		{orb.Point{0, 1}, nil},
		{orb.Point{5, 5}, nil},
	}
	for _, tt := range tests {
		got := ix.Containing(tt.p, []string{"keep"})
		if diff := cmp.Diff(append([]string{"keep"}, tt.want...), got); diff != "" {
			t.Errorf("Containing(%v) mismatch (-want +got):\n%s", tt.p, diff)
		}
	}
	if ix.Len() != 3 {
		t.Errorf("Len() = %d, want 3 distinct ids (the empty and NaN geometries are ignored)", ix.Len())
	}
}

func TestIndexBeforeBuildAndEmpty(t *testing.T) {
	ix := NewIndex()
	ix.Add("x", mustWKT(t, squareWKT))
	if got := ix.Containing(orb.Point{1, 1}, nil); got != nil {
		t.Errorf("Containing before Build = %v, want nil", got)
	}
	empty := NewIndex()
	empty.Build()
	if got := empty.Containing(orb.Point{1, 1}, nil); got != nil {
		t.Errorf("empty index Containing = %v, want nil", got)
	}
}

func TestIndexConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := randomPieces(rng, 200, 200)
	ix := NewIndex()
	for _, pc := range pieces {
		ix.Add(pc.id, pc.mp)
	}
	ix.Build()
	box := orb.Bound{Min: orb.Point{-9, 49}, Max: orb.Point{3, 60}}
	probes := make([]orb.Point, 2000)
	for i := range probes {
		probes[i] = randomProbe(rng, pieces[i%len(pieces)].mp, box)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			var dst []string
			for _, p := range probes {
				dst = ix.Containing(p, dst[:0])
				if want := bruteContaining(pieces, p); !slices.Equal(want, dst) {
					t.Errorf("Containing(%v) = %v, want %v", p, dst, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestIndexContainingAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pieces := randomPieces(rng, 300, 300)
	ix := NewIndex()
	for _, pc := range pieces {
		ix.Add(pc.id, pc.mp)
	}
	ix.Build()
	dst := make([]string, 0, 64)
	p := pieces[0].mp.Bound().Center()
	allocs := testing.AllocsPerRun(200, func() { dst = ix.Containing(p, dst[:0]) })
	if allocs != 0 {
		t.Errorf("Containing allocates %v times per call, want 0", allocs)
	}
}
