package bake_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// benchData returns synthetic CSVs for opts, generated once into a cache
// folder (DATABAKER_BENCH_DIR, default $TMPDIR/databaker-bench) because
// generating 10M addresses takes longer than baking them.
func benchData(b *testing.B, opts synth.Options) (ab, ballots string) {
	b.Helper()
	root := os.Getenv("DATABAKER_BENCH_DIR")
	if root == "" {
		root = filepath.Join(os.TempDir(), "databaker-bench")
	}
	dir := filepath.Join(root, fmt.Sprintf("a%d-b%d-v%d-%d-s%d", opts.Addresses, opts.Ballots, opts.MinVertices, opts.MaxVertices, opts.Seed))
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

func maxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

// bakeOnce bakes into a fresh out folder and returns the run's duration.
func bakeOnce(b *testing.B, ab, ballots, out string) (bake.Summary, time.Duration) {
	b.Helper()
	b.StopTimer()
	if err := os.RemoveAll(out); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.StartTimer()
	t0 := time.Now()
	s, err := bake.Run(context.Background(), bake.Options{Inputs: inputs(ab, ballots), Out: out}, layers.Bake())
	d := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	return s, d
}

func runBakeBench(b *testing.B, opts synth.Options) {
	ab, ballots := benchData(b, opts)
	out := filepath.Join(b.TempDir(), "out")
	stop := heapPeak()
	b.ResetTimer()
	var total, cpu time.Duration
	var s bake.Summary
	for i := 0; i < b.N; i++ {
		var d time.Duration
		c0 := benchmeter.CPU()
		s, d = bakeOnce(b, ab, ballots, out)
		cpu += benchmeter.CPU() - c0
		total += d
	}
	b.StopTimer()
	peak := stop()
	b.ReportMetric(float64(s.AddressRows)*float64(b.N)/total.Seconds(), "rows/s")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/bake")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/bake")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(maxRSSMB(), "maxrss-MB")
}

// BenchmarkBake times a whole bake (CSV in → three layers out) at 100k
// addresses; 1M and 10M run only when named, e.g.
//
//	go test ./internal/bake -run '^$' -bench 'Bake/addresses=1M$' -benchtime 1x
func BenchmarkBake(b *testing.B) { benchSizes(b, "Bake", 500) }

// benchSizes bakes 100k, 1M and 10M addresses against ballots geometries;
// the big sizes run only when named.
func benchSizes(b *testing.B, bench string, ballots int) {
	for _, tc := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}, {"10M", 10_000_000}} {
		b.Run("addresses="+tc.name, func(b *testing.B) {
			if tc.n > 100_000 && !selected(tc.name) {
				b.Skipf("run with -bench '%s/addresses=%s$'", bench, tc.name)
			}
			runBakeBench(b, synth.Options{Seed: 1, Addresses: tc.n, Ballots: ballots})
		})
	}
}

// BenchmarkBakeFloor is the floor a bake is measured against: the same
// addresses read from CSV and written as all three layers' parquet, with no
// ballots, so no point-in-polygon work. The full bake should take at most
// twice this:
//
//	go test ./internal/bake -run '^$' -bench 'Bake(Floor)?/addresses=1M$' -benchtime 1x
func BenchmarkBakeFloor(b *testing.B) { benchSizes(b, "BakeFloor", 0) }

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
