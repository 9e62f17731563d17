package outcodes_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/parquet-go/parquet-go"
)

var benchRows = flag.Int("bench.rows", 3_500_000, "rows of the synthetic letter in BenchmarkSplit (the largest real letter has ~3.5M)")

// letterLists is what a synthetic letter's list column holds: its name
// and each row's list, drawn with rng.
type letterLists struct {
	column string
	list   func(rng *rand.Rand) []string
}

// ballotLists are ballot ids: a few dozen combinations, and 10% of
// addresses without ballots.
func ballotLists() letterLists {
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
	return letterLists{column: "ballot_ids", list: func(rng *rand.Rand) []string {
		if rng.IntN(10) == 0 {
			return nil
		}
		return combos[rng.IntN(len(combos))]
	}}
}

// reviewedShare is the share of the largest letter's addresses under a
// boundary review. Baked, databaker synth --addresses 1000000 --ballots 500
// --reviews 20 puts 46% of all addresses and 51% of its largest letter's
// (S) under a review (the joined table's rows); 0.55 rounds that up.
const reviewedShare = 0.55

// reviewLists are boundary_reviews elements shaped as the SQL builds them:
// 20 reviews, each with up to 9 old/new ward pairs (an element per pair,
// ~800 bytes), reviewedShare of addresses with one review and 1% of those
// with two.
func reviewLists() letterLists {
	const reviews, pairs = 20, 9
	var elements []string
	for r := range reviews {
		slug := fmt.Sprintf("somewhere-district-%02d", r)
		for p := range pairs {
			scenario := []string{"NO_CHANGE", "NAME_CHANGED", "BOUNDARY_CHANGED", "BOTH_CHANGED"}[p%4]
			elements = append(elements, fmt.Sprintf(`{"boundary_review_id":%d,"slug":"%s-2027","status":"CURRENT",`+
				`"boundary_review_details":{"consultation_url":"https://www.lgbce.org.uk/all-reviews/%s","legislation_title":"The Somewhere District %02d (Electoral Changes) Order 2026","effective_date":"2027-05-06","organisation_name":"Somewhere District %02d","organisation_official_name":"Somewhere District %02d Borough Council","organisation_gss":"E07000%03d"},`+
				`"changes":[{"division_type":"DIW","old_division_slug":"ward-number-%03d","old_division_name":"Ward Number %03d","old_division_official_identifier":"E05%06d","old_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/%s_%d_0123456789abcdef0123456789abcdef.pmtiles",`+
				`"new_division_slug":"new-ward-number-%03d","new_division_name":"New Ward Number %03d","new_division_official_identifier":"E05%06d","new_divisionset_pmtiles_url":"https://s3.eu-west-2.amazonaws.com/ee.public.data/pmtiles-store/%s_%d_fedcba9876543210fedcba9876543210.pmtiles","change_scenario":"%s"}]}`,
				101+r, slug, slug, r, r, r, r, p, p, 100000+r*20+p, slug, 300+2*r, p, p, 200000+r*20+p, slug, 301+2*r, scenario))
		}
	}
	return letterLists{column: "boundary_reviews", list: func(rng *rand.Rand) []string {
		if rng.Float64() >= reviewedShare {
			return nil
		}
		e := elements[rng.IntN(len(elements))]
		if rng.IntN(100) == 0 {
			return []string{e, elements[rng.IntN(len(elements))]}
		}
		return []string{e}
	}}
}

// synthLetter writes a synthetic letter S of n rows as 8 unsorted Snappy
// objects, shaped like the real data: ~1,000 outcodes of ~15 addresses per
// postcode, 50-80 byte addresses, and lists from lists.
func synthLetter(b testing.TB, st blob.Store, prefix string, n int, lists letterLists) int64 {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	ocs := make([]string, 1000)
	for i := range ocs {
		ocs[i] = fmt.Sprintf("S%c%d", 'A'+byte(i%26), i/26+1)
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
		// Row's list field, written under the list column's name.
		w := parquet.NewGenericWriter[outcodes.Row](&buf, parquet.Compression(&parquet.Snappy),
			&parquet.StructTagOption{ColumnPath: []string{"BallotIDs"}, StructTag: reflect.StructTag(`parquet:"` + lists.column + `,list"`)})
		batch := make([]outcodes.Row, 0, 8192)
		flush := func() {
			if _, err := w.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		for i := f; i < n; i += files {
			pc := pcs[rng.IntN(len(pcs))]
			ids := lists.list(rng)
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

// BenchmarkSplit splits one synthetic letter (-bench.rows, default 3.5M)
// from and to local directories, reporting rows/s and peak memory, for
// each layer's list column. Run with GOMEMLIMIT=870MiB to mimic a 1,024 MB
// Lambda (the Lambda sets that limit itself), e.g.
//
//	GOMEMLIMIT=870MiB go test -run '^$' -bench BenchmarkSplit -benchtime 1x ./internal/outcodes/
func BenchmarkSplit(b *testing.B) {
	for _, lists := range []letterLists{ballotLists(), reviewLists()} {
		b.Run(lists.column, func(b *testing.B) { benchSplit(b, lists) })
	}
}

func benchSplit(b *testing.B, lists letterLists) {
	n := *benchRows
	root := b.TempDir()
	src := blob.NewDir(filepath.Join(root, "src"))
	size := synthLetter(b, src, srcPrefix, n, lists)
	runtime.GC()
	debug.FreeOSMemory()

	b.ResetTimer()
	var heap, total uint64
	var cpuSec float64
	for i := range b.N {
		dst := blob.NewDir(filepath.Join(root, fmt.Sprintf("dst%d", i)))
		cpu0 := benchmeter.CPU().Seconds()
		h, tot := splitPeak(b, src, dst, lists.column, n)
		cpuSec += benchmeter.CPU().Seconds() - cpu0
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

// splitPeak splits letter S of n rows from src to dst and returns the
// peak heap and runtime memory (benchmeter.Peak) while it ran.
func splitPeak(tb testing.TB, src, dst blob.Store, column string, n int) (heap, total uint64) {
	tb.Helper()
	var res outcodes.Result
	var err error
	heap, total = benchmeter.Peak(func() {
		res, err = outcodes.Split(context.Background(), outcodes.SplitInput{
			Src: src, SrcPrefix: srcPrefix, Dst: dst, DstPrefix: dstPrefix, Letter: "S", ListColumn: column, Logger: quietLogger(),
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	if res.Rows != n {
		tb.Fatalf("wrote %d rows, want %d", res.Rows, n)
	}
	return heap, total
}

// TestLargestLetterFitsLambda splits the largest letter (-bench.rows,
// 3.5M) under the memory limit the outcode Lambda sets for its memory size
// (layer.OutcodeFunctions), for each list column, and fails if the peak
// heap passes that limit or the runtime's memory the Lambda's size.
// boundary_reviews elements are ~20 times longer than ballot ids.
func TestLargestLetterFitsLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("3.5M rows per list column: skipped with -short")
	}
	if raceDetector {
		t.Skip("the race detector changes memory use: scripts/test runs this test again without -race")
	}
	var mb int64
	for _, f := range layer.OutcodeFunctions() {
		if f.Role == layer.OutcodeSplit {
			mb = int64(f.MemorySize)
		}
	}
	if mb == 0 {
		t.Fatal("no outcode split function with a memory size in layer.OutcodeFunctions")
	}
	limit := outcodes.MemoryLimit(mb)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
	n := *benchRows
	for _, lists := range []letterLists{ballotLists(), reviewLists()} {
		t.Run(lists.column, func(t *testing.T) {
			root := t.TempDir()
			src := blob.NewDir(filepath.Join(root, "src"))
			synthLetter(t, src, srcPrefix, n, lists)
			runtime.GC()
			debug.FreeOSMemory()
			start := time.Now()
			heap, total := splitPeak(t, src, blob.NewDir(filepath.Join(root, "dst")), lists.column, n)
			t.Logf("%d rows of %s in %s: peak heap %d MB, peak runtime memory %d MB (limit %d MB, Lambda %d MB)",
				n, lists.column, time.Since(start).Round(100*time.Millisecond), heap>>20, total>>20, limit>>20, mb)
			if int64(heap) > limit {
				t.Errorf("peak heap %d MB is over the Lambda's Go memory limit %d MB", heap>>20, limit>>20)
			}
			if int64(total) > mb<<20 {
				t.Errorf("peak runtime memory %d MB is over the Lambda's %d MB", total>>20, mb)
			}
		})
	}
}
