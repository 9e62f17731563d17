package bake

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/gates"
)

// Letters run at most Workers at a time and MaxRowsInMemory rows together
// (a larger letter alone), largest first, and every letter runs once.
func TestForEachLetterBoundsRowsInMemory(t *testing.T) {
	sizes := map[string]int64{"A": 80, "B": 60, "C": 30, "D": 20, "E": 10, "F": 150, "G": 5}
	j := &Job{Options: Options{Workers: 3, MaxRowsInMemory: 100}, Letters: []string{"A", "B", "C", "D", "E", "F", "G"}, LetterUPRNs: map[string]gates.UPRNStats{}}
	for l, n := range sizes {
		j.LetterUPRNs[l] = gates.UPRNStats{Rows: n}
	}
	var (
		mu              sync.Mutex
		rows, running   int64
		maxRows, maxRun int64
		started         []string
	)
	err := j.ForEachLetter(context.Background(), func(l string) error {
		w := min(sizes[l], 100)
		mu.Lock()
		started = append(started, l)
		rows += w
		running++
		maxRows, maxRun = max(maxRows, rows), max(maxRun, running)
		mu.Unlock()
		time.Sleep(10 * time.Millisecond) // the letter's work, so others overlap it
		mu.Lock()
		rows -= w
		running--
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(started) != len(sizes) || started[0] != "F" || started[1] != "A" {
		t.Errorf("started %v, want all 7, F then A first", started)
	}
	if maxRows > 100 || maxRun > 3 {
		t.Errorf("up to %d rows in %d letters at once, want at most 100 in 3", maxRows, maxRun)
	}
	if maxRun < 2 {
		t.Errorf("never more than one letter at once")
	}
}
