package boundaryreviews_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
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
	if _, err := synth.GenerateWithReviews(synth.Options{Seed: 1, Addresses: 1_000_000, Ballots: 500, Reviews: 20}, &abBuf, io.Discard, &reviewsBuf); err != nil {
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
		if err := benchmeter.ResetPeakRSS(); err != nil {
			b.Skip(err)
		}
		c0, t0 := benchmeter.CPU(), time.Now()
		var err error
		h, _ := benchmeter.Peak(func() { err = inner(ctx, j) })
		took, cpu = took+time.Since(t0), cpu+benchmeter.CPU()-c0
		r, rerr := benchmeter.PeakRSS()
		if rerr != nil {
			b.Fatal(rerr)
		}
		heap, rss = max(heap, h), max(rss, r)
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
