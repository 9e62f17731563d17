// Package benchmeter measures what the benchmarks and memory tests report
// besides wall time: CPU time, peak heap and peak RSS (Linux).
package benchmeter

import (
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CPU returns the process's user+system CPU time so far. On a shared
// machine it is a steadier measure than wall time.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Peak samples the runtime's memory every 2 ms while fn runs. heap is live
// and not-yet-swept heap objects; total is every byte the runtime holds
// from the OS minus what it returned, the best in-process estimate of RSS.
func Peak(fn func()) (heap, total uint64) {
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

// ResetPeakRSS resets the kernel's peak RSS of this process (Linux 4.0+),
// so PeakRSS measures from now.
func ResetPeakRSS() error { return resetPeakRSS("self") }

// ResetPeakRSSOf resets the peak RSS of process pid, as ResetPeakRSS does
// for this one (root, or the same user, may).
func ResetPeakRSSOf(pid int) error { return resetPeakRSS(strconv.Itoa(pid)) }

func resetPeakRSS(proc string) error {
	if err := os.WriteFile("/proc/"+proc+"/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the peak RSS: %w", err)
	}
	return nil
}

// PeakRSS reads VmHWM, the peak RSS in bytes since the process started or
// the last ResetPeakRSS.
func PeakRSS() (uint64, error) { return peakRSS("self") }

// PeakRSSOf reads process pid's VmHWM, as PeakRSS does for this one.
func PeakRSSOf(pid int) (uint64, error) { return peakRSS(strconv.Itoa(pid)) }

func peakRSS(proc string) (uint64, error) {
	status, err := os.ReadFile("/proc/" + proc + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/" + proc + "/status")
}
