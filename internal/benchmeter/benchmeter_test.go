package benchmeter_test

import (
	"os/exec"
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

// Another process's peak RSS can be reset and read (the PostGIS backend's,
// in the bake benchmark).
func TestPeakRSSOf(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := benchmeter.ResetPeakRSSOf(cmd.Process.Pid); err != nil {
		t.Skip(err)
	}
	if rss, err := benchmeter.PeakRSSOf(cmd.Process.Pid); err != nil || rss == 0 {
		t.Errorf("PeakRSSOf(sleep) = %d, %v", rss, err)
	}
	if _, err := benchmeter.PeakRSSOf(-1); err == nil {
		t.Error("PeakRSSOf(-1): no error")
	}
}
