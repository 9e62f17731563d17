package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
	"github.com/paulmach/orb"
)

// wigglyPolygon returns a polygon with n vertices around c whose radius
// wobbles smoothly at several scales, like an electoral boundary, with a
// small hole.
func wigglyPolygon(rng *rand.Rand, c orb.Point, radius float64, n int) orb.MultiPolygon {
	type wave struct{ k, amp, phase float64 }
	waves := make([]wave, 6)
	for i := range waves {
		waves[i] = wave{k: float64(int(2 + rng.IntN(3<<i))), amp: 0.12 / float64(i+1), phase: rng.Float64() * 2 * math.Pi}
	}
	ring := func(rad float64, n int) orb.Ring {
		r := make(orb.Ring, 0, n+1)
		for i := 0; i < n; i++ {
			a := 2 * math.Pi * float64(i) / float64(n)
			f := 1.0
			for _, w := range waves {
				f += w.amp * math.Sin(w.k*a+w.phase)
			}
			f += 0.02 * (rng.Float64() - 0.5) // survey-level jitter
			r = append(r, orb.Point{c[0] + rad*f*math.Cos(a), c[1] + rad*f*math.Sin(a)})
		}
		return append(r, r[0])
	}
	outer := ring(radius, n)
	hole := ring(radius*0.15, max(4, n/20))
	slices.Reverse(hole)
	return orb.MultiPolygon{{outer, hole}}
}

func probesIn(rng *rand.Rand, b orb.Bound, n int) []orb.Point {
	ps := make([]orb.Point, n)
	for i := range ps {
		ps[i] = orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
	}
	return ps
}

// BenchmarkContains measures one containment test against a single polygon
// of n vertices, for the edge scan (Contains) and the prepared y-band form.
func BenchmarkContains(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		rng := rand.New(rand.NewPCG(11, uint64(n)))
		mp := wigglyPolygon(rng, orb.Point{0.5, 51.3}, 0.2, n)
		probes := probesIn(rng, mp.Bound(), 4096)
		b.Run(fmt.Sprintf("scan/vertices=%d", n), func(b *testing.B) {
			loop(b, func(i int) { Contains(mp, probes[i&4095]) })
		})
		prep := Prepare(mp)
		b.Run(fmt.Sprintf("prepared/vertices=%d", n), func(b *testing.B) {
			loop(b, func(i int) { prep.Contains(probes[i&4095]) })
		})
	}
}

// benchPieces returns n pieces tiling the UK box in a grid (each a wiggly
// polygon of 100..1000 vertices with a hole) plus n/10 larger
// "organisation" pieces, so a point typically falls in one division and one
// or more organisations.
func benchPieces(n int) []testPiece {
	rng := rand.New(rand.NewPCG(12, 13))
	box := ukBox
	side := 1
	for side*side < n {
		side++
	}
	cw, ch := (box.Max[0]-box.Min[0])/float64(side), (box.Max[1]-box.Min[1])/float64(side)
	var out []testPiece
	for i := 0; i < n; i++ {
		c := orb.Point{box.Min[0] + (float64(i%side)+0.5)*cw, box.Min[1] + (float64(i/side)+0.5)*ch}
		out = append(out, testPiece{fmt.Sprintf("local.org%d.div%d.2026-05-07", i/10, i), wigglyPolygon(rng, c, 0.7*min(cw, ch), 100+rng.IntN(900))})
	}
	for i := 0; i < n/10; i++ {
		c := orb.Point{box.Min[0] + rng.Float64()*(box.Max[0]-box.Min[0]), box.Min[1] + rng.Float64()*(box.Max[1]-box.Min[1])}
		out = append(out, testPiece{fmt.Sprintf("mayor.org%d.2026-05-07", i), wigglyPolygon(rng, c, 3*min(cw, ch), 1000+rng.IntN(2000))})
	}
	return out
}

var ukBox = orb.Bound{Min: orb.Point{-8, 50}, Max: orb.Point{2, 59}}

func buildIndex(pieces []testPiece) *Index {
	ix := NewIndex()
	for _, pc := range pieces {
		ix.Add(pc.id, pc.mp)
	}
	ix.Build()
	return ix
}

// BenchmarkIndexContaining measures one lookup in an index of 10k
// geometries (plus 1k larger ones).
func BenchmarkIndexContaining(b *testing.B) {
	ix := buildIndex(benchPieces(10000))
	probes := probesIn(rand.New(rand.NewPCG(14, 15)), ukBox, 1<<16)
	dst := make([]string, 0, 16)
	hits, n := 0, 0
	loop(b, func(i int) {
		dst = ix.Containing(probes[i&(1<<16-1)], dst[:0])
		hits += len(dst)
		n++
	})
	b.ReportMetric(float64(hits)/float64(n), "ids/op")
}

// BenchmarkIndexBuild measures Add and Build for 10k+1k geometries.
func BenchmarkIndexBuild(b *testing.B) {
	pieces := benchPieces(10000)
	loop(b, func(int) { buildIndex(pieces) })
}

// loop runs op b.N times via b.Loop and reports CPU ns per op.
func loop(b *testing.B, op func(i int)) {
	b.ReportAllocs()
	i := 0
	var start time.Duration
	for b.Loop() {
		if i == 0 {
			start = benchmeter.CPU()
		}
		op(i)
		i++
	}
	b.ReportMetric(float64(benchmeter.CPU()-start)/float64(i), "cpu-ns/op")
}

// BenchmarkParseEWKTPoint measures parsing one AddressBase location.
func BenchmarkParseEWKTPoint(b *testing.B) {
	loop(b, func(int) {
		if _, _, err := ParseEWKTPoint("SRID=4326;POINT(.5956009 51.3176159)"); err != nil {
			b.Fatal(err)
		}
	})
}
