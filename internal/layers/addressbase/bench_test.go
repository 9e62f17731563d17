package addressbase_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// benchCSV returns a 1M-address synthetic AddressBase CSV: the one that
// internal/bake's benchmarks cache (DATABAKER_BENCH_DIR, default
// $TMPDIR/databaker-bench, seed 1, no ballots) when it is there, else a
// fresh one in b.TempDir.
func benchCSV(b *testing.B) string {
	b.Helper()
	const n = 1_000_000
	dir := synth.CacheDir(synth.Options{Seed: 1, Addresses: n})
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return filepath.Join(dir, "addressbase_cleaned.csv")
	}
	path := filepath.Join(b.TempDir(), "addressbase_cleaned.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := synth.Generate(synth.Options{Seed: 1, Addresses: n}, w, io.Discard); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchRead runs read over the file b.N times and reports rows/s and the
// process's CPU seconds per read (steadier than wall time on a shared
// machine).
func benchRead(b *testing.B, read func(io.Reader) (int64, error)) {
	path := benchCSV(b)
	b.ResetTimer()
	var rows int64
	cpu0, t0 := benchmeter.CPU(), time.Now()
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		n, err := read(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	wall, cpu := time.Since(t0), benchmeter.CPU()-cpu0
	b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkReader: the serial Reader over 1M synthetic rows.
//
//	go test -run '^$' -bench '^BenchmarkRead' -count 3 ./internal/layers/addressbase/
func BenchmarkReader(b *testing.B) {
	benchRead(b, func(r io.Reader) (int64, error) {
		ar := addressbase.NewReader(bufio.NewReaderSize(r, 1<<20), "ab.csv")
		for {
			if _, err := ar.Read(); err == io.EOF {
				return int64(ar.Rows()), nil
			} else if err != nil {
				return 0, err
			}
		}
	})
}

// BenchmarkReadBatches: ReadBatches over the same file with 1 and 2
// workers.
func BenchmarkReadBatches(b *testing.B) {
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			benchRead(b, func(r io.Reader) (int64, error) {
				return addressbase.ReadBatches(context.Background(), r, "ab.csv", w, func([]addressbase.Record) error { return nil })
			})
		})
	}
}
