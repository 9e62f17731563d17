package synth

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/paulmach/orb"
)

// BenchmarkJoin measures the bake's hot loop on generated data: 10k ballots
// indexed with geo.Index, then addresses (in file order, so clustered by
// outcode like the real input) parsed and looked up.
func BenchmarkJoin(b *testing.B) {
	var ab, bal bytes.Buffer
	if _, err := Generate(Options{Seed: 1, Addresses: 200000, Ballots: 10000}, &ab, &bal); err != nil {
		b.Fatal(err)
	}
	ix := geo.NewIndex()
	for _, r := range readBallots(b, bal.Bytes()) {
		if r.source != "None" {
			ix.Add(r.id, r.mp)
		}
	}
	ix.Build()
	var pts []orb.Point
	sc := bufio.NewScanner(bytes.NewReader(ab.Bytes()))
	for sc.Scan() {
		// The location is the second-last field; address_type never has a comma.
		line := sc.Text()
		end := strings.LastIndexByte(line, ',')
		start := strings.LastIndexByte(line[:end], ',')
		lon, lat, err := geo.ParseEWKTPoint(line[start+1 : end])
		if err != nil {
			b.Fatal(err)
		}
		pts = append(pts, orb.Point{lon, lat})
	}
	b.ReportAllocs()
	var dst []string
	hits, i := 0, 0
	start := benchmeter.CPU()
	for b.Loop() {
		dst = ix.Containing(pts[i%len(pts)], dst[:0])
		hits += len(dst)
		i++
	}
	b.ReportMetric(float64(benchmeter.CPU()-start)/float64(i), "cpu-ns/op")
	b.ReportMetric(float64(hits)/float64(i), "ids/op")
}
