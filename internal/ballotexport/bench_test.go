package ballotexport_test

import (
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
)

// heapWatcher discards what is written and samples the live heap every
// 4 MiB, to show that the export streams instead of buffering rows.
type heapWatcher struct {
	n, next  int64
	peakHeap uint64
}

func (h *heapWatcher) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	if h.n >= h.next {
		h.next = h.n + 4<<20
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.peakHeap = max(h.peakHeap, ms.HeapAlloc)
	}
	return len(p), nil
}

var _ io.Writer = (*heapWatcher)(nil)

// BenchmarkWriteCSV exports 500 ballots x 20 pieces of 253 vertices each
// (10,000 rows, about 90 MB of WKT), close to EE's 256-vertex limit.
func BenchmarkWriteCSV(b *testing.B) {
	db := eetest.NewDB(b)
	db.Exec(b, `
INSERT INTO organisations_divisiongeography (id, geography)
    SELECT 1000 + g, ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(-3 + g * 0.001, 52), 4326), 0.01, 63))
    FROM generate_series(1, 500) g;
INSERT INTO organisations_divisiongeographysubdivided (id, geography, division_geography_id)
    SELECT 10000 + (g - 1) * 20 + p,
           ST_Buffer(ST_SetSRID(ST_MakePoint(-3 + g * 0.001 + p * 0.0001, 52.123456789), 4326), 0.001, 63),
           1000 + g
    FROM generate_series(1, 500) g, generate_series(1, 20) p;
INSERT INTO elections_election (election_id, poll_open_date, current_status, division_geography_id)
    SELECT 'local.bench.w' || g || '.2026-05-07', '2026-05-07', 'Approved', 1000 + g
    FROM generate_series(1, 500) g;`)
	conn := connectAsEE(b, db)
	b.ResetTimer()
	for b.Loop() {
		w := &heapWatcher{}
		st, err := ballotexport.WriteCSV(context.Background(), conn, w, date("2026-04-01"))
		if err != nil {
			b.Fatal(err)
		}
		if st.Rows < 10000 {
			b.Fatalf("rows = %d, want >= 10000", st.Rows)
		}
		b.SetBytes(w.n)
		b.ReportMetric(float64(w.peakHeap)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(st.Rows), "rows")
	}
}
