package bake_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// benchData returns synthetic CSVs for opts, generated once into
// synth.CacheDir(opts).
func benchData(b *testing.B, opts synth.Options) (ab, ballots string) {
	b.Helper()
	dir := synth.CacheDir(opts)
	ab, ballots = filepath.Join(dir, "addressbase_cleaned.csv"), filepath.Join(dir, "current_elections.csv")
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return ab, ballots
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	synthFiles(b, dir, opts)
	if err := os.WriteFile(filepath.Join(dir, "done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s in %s", dir, time.Since(t0).Round(time.Millisecond))
	return ab, ballots
}

// selected reports whether the -bench pattern names sub explicitly; the
// big sizes only run then, so `-bench .` stays quick.
func selected(sub string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), sub)
}

// heapPeak samples HeapInuse until stop is called and returns the peak.
func heapPeak() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// readThrough reads paths once, so that whichever engine a benchmark runs
// first finds them in the page cache as the others do.
func readThrough(b *testing.B, paths ...string) {
	b.Helper()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// bakeRun is one bake: its summary and what it cost this process.
type bakeRun struct {
	Summary bake.Summary
	Wall    time.Duration
	CPU     time.Duration
	PeakRSS uint64 // the kernel's peak RSS from just before the bake; 0 where it cannot be read
}

// bakeOnce bakes into a fresh out folder. The peak RSS is reset after
// returning freed memory to the OS, so it is the bake's high-water mark
// (with the test binary's baseline), not an earlier run's.
func bakeOnce(b *testing.B, ab, ballots, out string) bakeRun {
	b.Helper()
	b.StopTimer()
	if err := os.RemoveAll(out); err != nil {
		b.Fatal(err)
	}
	debug.FreeOSMemory()
	resetErr := benchmeter.ResetPeakRSS()
	b.StartTimer()
	c0, t0 := benchmeter.CPU(), time.Now()
	s, err := bake.Run(context.Background(), bake.Options{Inputs: inputs(ab, ballots), Out: out}, layers.Bake())
	r := bakeRun{Summary: s, Wall: time.Since(t0), CPU: benchmeter.CPU() - c0}
	if err != nil {
		b.Fatal(err)
	}
	if resetErr == nil {
		r.PeakRSS, _ = benchmeter.PeakRSS()
	}
	return r
}

// reportRSS reports a peak RSS in MB when it could be measured.
func reportRSS(b *testing.B, bytes uint64, unit string) {
	if bytes > 0 {
		b.ReportMetric(float64(bytes)/(1<<20), unit)
	}
}

func runBakeBench(b *testing.B, opts synth.Options) {
	ab, ballots := benchData(b, opts)
	readThrough(b, ab, ballots)
	out := filepath.Join(b.TempDir(), "out")
	stop := heapPeak()
	b.ResetTimer()
	var total, cpu time.Duration
	var rss uint64
	var r bakeRun
	for i := 0; i < b.N; i++ {
		r = bakeOnce(b, ab, ballots, out)
		total += r.Wall
		cpu += r.CPU
		rss = max(rss, r.PeakRSS)
	}
	b.StopTimer()
	peak := stop()
	b.ReportMetric(float64(r.Summary.AddressRows)*float64(b.N)/total.Seconds(), "rows/s")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/bake")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/bake")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	reportRSS(b, rss, "maxrss-MB")
}

// BenchmarkBake times a whole bake (CSV in → three layers out) at 100k
// addresses; 1M and 10M run only when named, e.g.
//
//	go test ./internal/bake -run '^$' -bench '^BenchmarkBake$/^addresses=1M$' -benchtime 1x
func BenchmarkBake(b *testing.B) {
	eachSize(b, "Bake", func(b *testing.B, n int) {
		runBakeBench(b, synth.Options{Seed: 1, Addresses: n, Ballots: 500})
	})
}

// benchSizes are the address counts of the size benchmarks.
var benchSizes = []struct {
	name string
	n    int
}{{"100k", 100_000}, {"1M", 1_000_000}, {"10M", 10_000_000}}

// eachSize runs run as bench's sub-benchmark addresses=<size> for each of
// benchSizes; the big sizes run only when the -bench pattern names them.
func eachSize(b *testing.B, bench string, run func(b *testing.B, addresses int)) {
	for _, size := range benchSizes {
		b.Run("addresses="+size.name, func(b *testing.B) {
			if size.n > 100_000 && !selected(size.name) {
				b.Skipf("run with -bench '^Benchmark%s$/^addresses=%s$'", bench, size.name)
			}
			run(b, size.n)
		})
	}
}

// BenchmarkBakeFloor bakes the same addresses with no ballots, so every
// read and write but no point-in-polygon work. Issue #14's floor is
// BenchmarkFloor (DuckDB); this one shows what the join itself costs:
//
//	go test ./internal/bake -run '^$' -bench '^BenchmarkBakeFloor$/^addresses=1M$' -benchtime 1x
func BenchmarkBakeFloor(b *testing.B) {
	eachSize(b, "BakeFloor", func(b *testing.B, n int) {
		runBakeBench(b, synth.Options{Seed: 1, Addresses: n, Ballots: 0})
	})
}

// floorThreads is the DuckDB floor's thread count: as many as the bake may
// use (GOMAXPROCS, 2 on the project's machine).
func floorThreads() int { return runtime.GOMAXPROCS(0) }

// BenchmarkFloor times the floor the bake is measured against (issue #14):
// DuckDB reading the same AddressBase CSV as BenchmarkBake and writing the
// product's per-outcode parquet with no spatial join (testdata/duckfloor,
// `npm ci --prefix internal/bake/testdata/duckfloor`). The times and peak
// RSS are the node child's:
//
//	go test ./internal/bake -run '^$' -bench '^BenchmarkFloor$/^addresses=1M$' -benchtime 1x
func BenchmarkFloor(b *testing.B) {
	eachSize(b, "Floor", func(b *testing.B, addresses int) {
		ab, _ := benchData(b, synth.Options{Seed: 1, Addresses: addresses, Ballots: 500})
		readThrough(b, ab)
		tmp, source := b.TempDir(), fileSource(b, ab)
		var wall, cpu time.Duration
		var rss uint64
		var r floorRun
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			out := filepath.Join(tmp, strconv.Itoa(i))
			r = runFloor(b, ab, out, floorThreads(), source)
			wall += r.Wall
			cpu += r.CPU
			rss = max(rss, r.MaxRSS)
			b.StopTimer()
			if err := os.RemoveAll(out); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.StopTimer()
		if len(r.Split) > 0 {
			b.Logf("DuckDB wrote %d of %d outcodes as several files: %v", len(r.Split), r.Outcodes, r.Split)
		}
		n := float64(b.N)
		b.ReportMetric(float64(r.Rows)*n/wall.Seconds(), "rows/s")
		b.ReportMetric(wall.Seconds()/n, "floor-s")
		b.ReportMetric(cpu.Seconds()/n, "floor-cpu-s")
		reportRSS(b, rss, "floor-maxrss-MB")
	})
}

// BenchmarkBakeVertices shows how bake time grows with polygon size at 1M
// addresses (EE subdivides to ≤256 vertices, so 1,000 and 5,000 are
// stress cases):
//
//	go test ./internal/bake -run '^$' -bench 'BakeVertices' -benchtime 1x
func BenchmarkBakeVertices(b *testing.B) {
	if !selected("Vertices") {
		b.Skip("run with -bench BakeVertices")
	}
	for _, v := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("vertices=%d", v), func(b *testing.B) {
			runBakeBench(b, synth.Options{Seed: 1, Addresses: 1_000_000, Ballots: 500, MinVertices: v, MaxVertices: v})
		})
	}
}
