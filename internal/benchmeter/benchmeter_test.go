package benchmeter_test

import (
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
)

var sink []byte

// Peak sees a 64 MB allocation that fn holds while it runs, CPU time
// advances with work, and the RSS can be reset and read.
func TestMeters(t *testing.T) {
	heap, total := benchmeter.Peak(func() {
		sink = make([]byte, 64<<20)
		for i := range sink {
			sink[i] = byte(i)
		}
	})
	sink = nil
	if heap < 64<<20 || total < heap {
		t.Errorf("Peak = heap %d, total %d; want heap ≥ 64 MiB ≤ total", heap, total)
	}
	c0 := benchmeter.CPU()
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	if benchmeter.CPU() <= c0 {
		t.Errorf("CPU time did not advance over a busy loop (%d)", x)
	}
	if err := benchmeter.ResetPeakRSS(); err != nil {
		t.Skip(err)
	}
	if rss, err := benchmeter.PeakRSS(); err != nil || rss == 0 {
		t.Errorf("PeakRSS = %d, %v", rss, err)
	}
}
