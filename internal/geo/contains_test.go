package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

func mustWKT(t testing.TB, s string) orb.MultiPolygon {
	t.Helper()
	mp, err := ParseWKT(s)
	if err != nil {
		t.Fatalf("ParseWKT(%q): %v", s, err)
	}
	return mp
}

// square 0..4 with a hole 1..2, a triangle and a separate part 10..12.
const (
	squareWKT   = "POLYGON((0 0,4 0,4 4,0 4,0 0))"
	holeWKT     = "POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,1 2,2 2,2 1,1 1))"
	triangleWKT = "POLYGON((0 0,3 3,6 0,0 0))"
	notchWKT    = "POLYGON((0 0,6 0,6 6,3 3,0 6,0 0))"
	multiWKT    = "MULTIPOLYGON(((0 0,4 0,4 4,0 4,0 0),(1 1,1 2,2 2,2 1,1 1)),((10 10,12 10,12 12,10 12,10 10)))"
	realWKT     = "POLYGON((.5 51.3,.6 51.3,.6 51.35,.55 51.32,.5 51.35,.5 51.3))"
)

func TestContains(t *testing.T) {
	tests := []struct {
		name string
		wkt  string
		p    orb.Point
		want bool
	}{
		{"inside square", squareWKT, orb.Point{2, 3}, true},
		{"outside square", squareWKT, orb.Point{5, 2}, false},
		{"on bottom (horizontal) edge", squareWKT, orb.Point{2, 0}, false},
		{"on top (horizontal) edge", squareWKT, orb.Point{2, 4}, false},
		{"on left (vertical) edge", squareWKT, orb.Point{0, 2}, false},
		{"on right (vertical) edge", squareWKT, orb.Point{4, 1.5}, false},
		{"on vertex", squareWKT, orb.Point{4, 4}, false},
		{"on first vertex", squareWKT, orb.Point{0, 0}, false},
		{"on extension of horizontal edge", squareWKT, orb.Point{5, 4}, false},
		{"on extension of vertical edge", squareWKT, orb.Point{4, 5}, false},
		{"level with reflex vertex, left of it", notchWKT, orb.Point{1, 3}, true},
		{"level with reflex vertex, right of it", notchWKT, orb.Point{5, 3}, true},
		{"on reflex vertex", notchWKT, orb.Point{3, 3}, false},
		{"in notch", notchWKT, orb.Point{3, 4}, false},
		{"below reflex vertex", notchWKT, orb.Point{3, 2.5}, true},
		{"level with top vertices, outside", notchWKT, orb.Point{7, 6}, false},
		{"level with apex, outside left", triangleWKT, orb.Point{1, 3}, false},
		{"level with apex, outside right", triangleWKT, orb.Point{5, 3}, false},
		{"on apex", triangleWKT, orb.Point{3, 3}, false},
		{"on diagonal edge", triangleWKT, orb.Point{1, 1}, false},
		{"on other diagonal edge", triangleWKT, orb.Point{5, 1}, false},
		{"just inside diagonal edge", triangleWKT, orb.Point{1, math.Nextafter(1, 0)}, true},
		{"just outside diagonal edge", triangleWKT, orb.Point{1, math.Nextafter(1, 2)}, false},
		{"in hole", holeWKT, orb.Point{1.5, 1.5}, false},
		{"on hole edge", holeWKT, orb.Point{1, 1.5}, false},
		{"on hole vertex", holeWKT, orb.Point{2, 2}, false},
		{"between hole and outer", holeWKT, orb.Point{3, 3}, true},
		{"level with hole, outside it", holeWKT, orb.Point{3, 1.5}, true},
		{"multipolygon first part", multiWKT, orb.Point{3, 3}, true},
		{"multipolygon first part hole", multiWKT, orb.Point{1.5, 1.5}, false},
		{"multipolygon second part", multiWKT, orb.Point{11, 11}, true},
		{"multipolygon second part edge", multiWKT, orb.Point{12, 11}, false},
		{"multipolygon between parts", multiWKT, orb.Point{7, 7}, false},
		{"real coordinates inside", realWKT, orb.Point{0.5956009, 51.3176159}, true},
		{"real coordinates in notch", realWKT, orb.Point{0.55, 51.33}, false},
		{"real coordinates on notch vertex", realWKT, orb.Point{0.55, 51.32}, false},
		{"NaN point", squareWKT, orb.Point{math.NaN(), 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := mustWKT(t, tt.wkt)
			if got := Contains(mp, tt.p); got != tt.want {
				t.Errorf("Contains(%s, %v) = %v, want %v", tt.wkt, tt.p, got, tt.want)
			}
			if got := Prepare(mp).Contains(tt.p); got != tt.want {
				t.Errorf("Prepare(%s).Contains(%v) = %v, want %v", tt.wkt, tt.p, got, tt.want)
			}
			// Ring orientation must not matter.
			rev := reverseRings(mp)
			if got := Contains(rev, tt.p); got != tt.want {
				t.Errorf("Contains(reversed %s, %v) = %v, want %v", tt.wkt, tt.p, got, tt.want)
			}
		})
	}
}

func reverseRings(mp orb.MultiPolygon) orb.MultiPolygon {
	out := make(orb.MultiPolygon, len(mp))
	for i, poly := range mp {
		for _, r := range poly {
			rr := make(orb.Ring, len(r))
			for j := range r {
				rr[j] = r[len(r)-1-j]
			}
			out[i] = append(out[i], rr)
		}
	}
	return out
}

// TestOrientExact checks the float filter against rational arithmetic on
// nearly collinear points, where naive float evaluation gets signs wrong.
func TestOrientExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	wrongNaive := 0
	for i := 0; i < 20000; i++ {
		ax, ay := rng.Float64()*10-8, 50+rng.Float64()*9
		bx, by := ax+rng.Float64()-0.5, ay+rng.Float64()-0.5
		tt := rng.Float64()
		cx, cy := ax+tt*(bx-ax), ay+tt*(by-ay) // rounded: near, sometimes on, the line
		if k := rng.IntN(3); k > 0 {
			cx = math.Nextafter(cx, cx+float64(k*2-3))
		}
		got, want := orient(ax, ay, bx, by, cx, cy), orientExact(ax, ay, bx, by, cx, cy)
		if got != want {
			t.Fatalf("orient(%v,%v,%v,%v,%v,%v) = %d, exact %d", ax, ay, bx, by, cx, cy, got, want)
		}
		if naive := sign((bx-ax)*(cy-ay) - (by-ay)*(cx-ax)); naive != want {
			wrongNaive++
		}
	}
	if wrongNaive == 0 {
		t.Errorf("test points never defeat naive float orientation; the test is too easy")
	}
	t.Logf("naive float orientation wrong on %d of 20000 near-collinear cases", wrongNaive)
}

// TestPreparedMatchesContains compares banded rings with the edge scan on
// many-vertex wiggly polygons, including points exactly on vertices and on
// horizontal/vertical edges (coordinates on a 1/64 lattice).
func TestPreparedMatchesContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{4, 20, 300, 3000} {
		mp := randomPolygon(rng, orb.Point{0, 0}, 10, n, true)
		prep := Prepare(mp)
		inside := 0
		for i := 0; i < 5000; i++ {
			p := randomProbe(rng, mp, orb.Bound{Min: orb.Point{-11, -11}, Max: orb.Point{11, 11}})
			want := Contains(mp, p)
			if got := prep.Contains(p); got != want {
				t.Fatalf("n=%d: Prepared.Contains(%v) = %v, Contains = %v", n, p, got, want)
			}
			if want {
				inside++
			}
		}
		if inside == 0 || inside == 5000 {
			t.Errorf("n=%d: %d of 5000 probes inside; want a mix", n, inside)
		}
	}
}

// randomPolygon returns a star-shaped polygon with about n vertices around c,
// snapped to a 1/64 lattice (so many edges are horizontal or vertical and
// probes can sit exactly on them), optionally with a hole.
func randomPolygon(rng *rand.Rand, c orb.Point, radius float64, n int, hole bool) orb.MultiPolygon {
	star := func(r0, r1 float64, n int) orb.Ring {
		var r orb.Ring
		for i := 0; i < n; i++ {
			a := 2 * math.Pi * float64(i) / float64(n)
			rad := r0 + (r1-r0)*rng.Float64()
			p := orb.Point{snap(c[0] + rad*math.Cos(a)), snap(c[1] + rad*math.Sin(a))}
			if len(r) > 0 && r[len(r)-1] == p {
				continue
			}
			if rng.IntN(4) == 0 && len(r) > 0 { // axis-aligned step
				r = append(r, orb.Point{p[0], r[len(r)-1][1]})
			}
			r = append(r, p)
		}
		return append(r, r[0])
	}
	poly := orb.Polygon{star(radius*0.6, radius, n)}
	if hole {
		poly = append(poly, star(radius*0.1, radius*0.4, max(3, n/10)))
	}
	return orb.MultiPolygon{poly}
}

func snap(v float64) float64 { return math.Round(v*64) / 64 }

// randomProbe returns a random point in b, a vertex of mp, or the midpoint of
// one of its edges (exact for lattice coordinates).
func randomProbe(rng *rand.Rand, mp orb.MultiPolygon, b orb.Bound) orb.Point {
	switch rng.IntN(4) {
	case 0:
		poly := mp[rng.IntN(len(mp))]
		r := poly[rng.IntN(len(poly))]
		return r[rng.IntN(len(r))]
	case 1:
		poly := mp[rng.IntN(len(mp))]
		r := poly[rng.IntN(len(poly))]
		i := rng.IntN(len(r) - 1)
		return orb.Point{(r[i][0] + r[i+1][0]) / 2, (r[i][1] + r[i+1][1]) / 2}
	case 2: // lattice point, often level with vertices
		return orb.Point{snap(b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0])), snap(b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]))}
	}
	return orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
}

func ExampleContains() {
	mp, _ := ParseWKT("POLYGON((0 0,4 0,4 4,0 4,0 0),(1 1,1 2,2 2,2 1,1 1))")
	for _, p := range []orb.Point{{3, 3}, {0, 2}, {1.5, 1.5}} {
		fmt.Println(p, Contains(mp, p))
	}
	// Output:
	// [3 3] true
	// [0 2] false
	// [1.5 1.5] false
}
