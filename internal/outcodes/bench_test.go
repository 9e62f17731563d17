package outcodes_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/parquet-go/parquet-go"
)

var benchRows = flag.Int("bench.rows", 3_500_000, "rows of the synthetic letter in BenchmarkSplit (the largest real letter has ~3.5M)")

// synthLetter writes a synthetic letter S of n rows as 8 unsorted Snappy
// objects, shaped like the real data: ~1,000 outcodes of ~15 addresses per
// postcode, 50-80 byte addresses, a few dozen ballot combinations, and 10%
// of addresses without ballots.
func synthLetter(b *testing.B, st blob.Store, prefix string, n int) int64 {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	ocs := make([]string, 1000)
	for i := range ocs {
		ocs[i] = fmt.Sprintf("S%c%d", 'A'+byte(i%26), i/26+1)
	}
	combos := make([][]string, 40)
	for i := range combos {
		combos[i] = []string{
			fmt.Sprintf("local.district-%02d.ward-number-%03d.2026-05-07", i%13, i),
			fmt.Sprintf("parl.constituency-of-somewhere-%02d.2026-05-07", i%7),
		}
		if i%3 == 0 {
			combos[i] = append(combos[i], "mayor.combined-authority.2026-05-07")
		}
	}
	// ~15 addresses per postcode, as in AddressBase.
	pcs := make([]string, max(n/15, 1))
	for i := range pcs {
		pcs[i] = fmt.Sprintf("%s %d%c%c", ocs[rng.IntN(len(ocs))], rng.IntN(10), 'A'+rng.IntN(26), 'A'+rng.IntN(26))
	}
	const files = 8
	var total int64
	for f := range files {
		var buf bytes.Buffer
		w := parquet.NewGenericWriter[outcodes.Row](&buf, parquet.Compression(&parquet.Snappy))
		batch := make([]outcodes.Row, 0, 8192)
		flush := func() {
			if _, err := w.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		for i := f; i < n; i += files {
			pc := pcs[rng.IntN(len(pcs))]
			var ids []string
			if rng.IntN(10) > 0 {
				ids = combos[rng.IntN(len(combos))]
			}
			batch = append(batch, outcodes.Row{
				UPRN:              fmt.Sprintf("%012d", 100_000_000_000+int64(i)*7),
				Address:           fmt.Sprintf("FLAT %d, %d SOMEWHERE LONG ROAD NAME, DISTRICT, TOWNSVILLE", rng.IntN(40), rng.IntN(300)),
				Postcode:          pc,
				AddressbaseSource: "s3://pollingstations.private.data/addressbase/2026-11/addressbase_cleaned/",
				BallotIDs:         ids,
			})
			if len(batch) == cap(batch) {
				flush()
			}
		}
		flush()
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		total += int64(buf.Len())
		if _, err := st.Put(context.Background(), fmt.Sprintf("%s20261126_000000_%05d_bench", prefix, f), buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
	return total
}

// cpuTime returns the process's user+system CPU seconds. On a shared
// machine it is steadier than wall time.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakMemory samples the runtime's memory while running fn. heap is live
// and not-yet-swept heap objects; total is every byte the runtime holds
// from the OS minus what it returned, the best in-process estimate of RSS.
func peakMemory(fn func()) (heap, total uint64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	sample := func() {
		metrics.Read(samples)
		heap = max(heap, samples[0].Value.Uint64())
		total = max(total, samples[1].Value.Uint64()-samples[2].Value.Uint64())
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	sample()
	return heap, total
}

// BenchmarkSplit splits one synthetic letter (-bench.rows, default 3.5M)
// from and to local directories, reporting rows/s and peak memory. Run
// with GOMEMLIMIT=870MiB to mimic a 1,024 MB Lambda (the Lambda sets that
// limit itself), e.g.
//
//	GOMEMLIMIT=870MiB go test -run '^$' -bench BenchmarkSplit -benchtime 1x ./internal/outcodes/
func BenchmarkSplit(b *testing.B) {
	n := *benchRows
	root := b.TempDir()
	src := blob.NewDir(filepath.Join(root, "src"))
	size := synthLetter(b, src, srcPrefix, n)
	runtime.GC()
	debug.FreeOSMemory()

	b.ResetTimer()
	var heap, total uint64
	var cpuSec float64
	for i := range b.N {
		dst := blob.NewDir(filepath.Join(root, fmt.Sprintf("dst%d", i)))
		var res outcodes.Result
		var err error
		cpu0 := cpuTime()
		h, tot := peakMemory(func() {
			res, err = outcodes.Split(context.Background(), outcodes.SplitInput{
				Src: src, SrcPrefix: srcPrefix, Dst: dst, DstPrefix: dstPrefix, Letter: "S", ListColumn: "ballot_ids", Logger: quietLogger(),
			})
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.Rows != n {
			b.Fatalf("wrote %d rows, want %d", res.Rows, n)
		}
		cpuSec += cpuTime() - cpu0
		heap, total = max(heap, h), max(total, tot)
		b.StopTimer()
		os.RemoveAll(dst.Root())
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(cpuSec/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(size)/(1<<20), "input-MB")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(total)/(1<<20), "peak-runtime-MB")
}
