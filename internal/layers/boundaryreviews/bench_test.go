package boundaryreviews_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// BenchmarkBakeLayer bakes 1M synthetic addresses with 20 boundary reviews
// (databaker synth --addresses 1000000 --ballots 500 --reviews 20) through
// the AddressBase layer and this one, and reports this layer's own wall
// and CPU time, its peak heap and its peak RSS (the kernel's high-water
// mark, reset as the layer starts):
//
//	go test ./internal/layers/boundaryreviews -run '^$' -bench BakeLayer -benchtime 1x -count 3
func BenchmarkBakeLayer(b *testing.B) {
	dir := b.TempDir()
	ab, reviews := filepath.Join(dir, "addressbase_cleaned.csv"), filepath.Join(dir, "boundary_reviews.csv")
	var abBuf, reviewsBuf bytes.Buffer
	if _, err := synth.GenerateWithReviews(synth.Options{Seed: 1, Addresses: 1_000_000, Ballots: 500, Reviews: 20}, &abBuf, discard{}, &reviewsBuf); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(ab, abBuf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(reviews, reviewsBuf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	abBuf, reviewsBuf = bytes.Buffer{}, bytes.Buffer{}

	var took, cpu time.Duration
	var heap, rss uint64
	layer := boundaryreviews.Bake
	inner := layer.Bake
	layer.Bake = func(ctx context.Context, j *bake.Job) error {
		runtime.GC()
		resetPeakRSS(b)
		c0, t0 := cpuTime(), time.Now()
		var err error
		h := peakHeap(func() { err = inner(ctx, j) })
		took, cpu = took+time.Since(t0), cpu+cpuTime()-c0
		heap, rss = max(heap, h), max(rss, peakRSS(b))
		return err
	}
	var s bake.Summary
	for i := 0; b.Loop(); i++ {
		var err error
		s, err = bake.Run(context.Background(), bake.Options{
			Inputs: map[string]string{addressbase.Input: ab, boundaryreviews.ReviewsInput: reviews},
			Out:    filepath.Join(dir, fmt.Sprint("out", i)), Logger: slog.New(slog.DiscardHandler),
		}, []bake.Layer{addressbase.Bake, layer})
		if err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(s.AddressRows)/(took.Seconds()/n), "rows/s")
	b.ReportMetric(took.Seconds()/n, "layer-s")
	b.ReportMetric(cpu.Seconds()/n, "layer-cpu-s")
	b.ReportMetric(float64(heap)/(1<<20), "layer-peak-heap-MB")
	b.ReportMetric(float64(rss)/(1<<20), "layer-peak-rss-MB")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// cpuTime returns the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakHeap samples live and unswept heap objects while fn runs.
func peakHeap(fn func()) uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return peak
}

// resetPeakRSS resets the kernel's peak RSS of this process (Linux 4.0+).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// peakRSS reads VmHWM, the peak RSS since the last reset.
func peakRSS(b *testing.B) uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
