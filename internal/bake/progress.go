package bake

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress prints a line per interval for the running step, and one when a
// step ends. It is safe for concurrent add calls.
type progress struct {
	w     io.Writer
	every time.Duration
	start time.Time

	rows atomic.Int64
	mu   sync.Mutex
	step string
	t0   time.Time

	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func newProgress(w io.Writer, every time.Duration) *progress {
	if w == nil {
		w = io.Discard
	}
	p := &progress{w: w, every: every, start: time.Now(), quit: make(chan struct{})}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.mu.Lock()
			step, t0 := p.step, p.t0
			p.mu.Unlock()
			if step == "" {
				continue
			}
			n := p.rows.Load()
			el := time.Since(t0)
			fmt.Fprintf(p.w, "databaker: %s: %d rows, %.0f rows/s, %s\n", step, n, float64(n)/el.Seconds(), el.Round(time.Millisecond))
		}
	}
}

func (p *progress) begin(step string) {
	p.mu.Lock()
	p.step, p.t0 = step, time.Now()
	p.mu.Unlock()
	p.rows.Store(0)
}

func (p *progress) add(n int64) { p.rows.Add(n) }

// done prints the step's total; n is the row count to report.
func (p *progress) done(n int64) {
	p.mu.Lock()
	step, t0 := p.step, p.t0
	p.step = ""
	p.mu.Unlock()
	el := time.Since(t0)
	fmt.Fprintf(p.w, "databaker: %s done: %d rows in %s (%.0f rows/s)\n", step, n, el.Round(time.Millisecond), float64(n)/max(el.Seconds(), 1e-9))
}

func (p *progress) stop() {
	p.once.Do(func() { close(p.quit); p.wg.Wait() })
}

// summary prints every count of s with what it means, so a reader need not
// know the code to tell an expected count from a problem.
func (p *progress) summary(s Summary) {
	fmt.Fprintf(p.w, "databaker: read %d address rows (%d first letters) and %d ballot rows: %d geometry pieces of %d elections\n",
		s.AddressRows, s.Letters, s.BallotRows, s.BallotPieces, s.Elections)
	fmt.Fprintf(p.w, "databaker: %d ballot rows skipped: source_table None (no geometry), as EE exports for ballots without a boundary\n",
		s.BallotsSkipped)
	if n := len(s.InvalidPieces); n > 0 {
		fmt.Fprintf(p.w, "databaker: %d of %d ballot pieces are not OGC-valid; used as given:\n", n, s.BallotPieces)
		for i, iv := range s.InvalidPieces {
			if i == 10 {
				fmt.Fprintf(p.w, "databaker:   ... and %d more\n", n-i)
				break
			}
			fmt.Fprintf(p.w, "databaker:   %s\n", iv)
		}
	}
	fmt.Fprintf(p.w, "databaker: joined %d rows: %d inside at least one ballot's area, %d inside none\n",
		s.JoinedRows, s.RowsWithBallots, s.JoinedRows-s.RowsWithBallots)
	fmt.Fprintf(p.w, "databaker: %d identical duplicate rows dropped (same UPRN, same data), leaving %d output rows\n",
		s.DuplicatesDropped, s.OutputRows)
	fmt.Fprintf(p.w, "databaker: %d outcodes: %d written (new or changed), %d unchanged (same bytes, not rewritten), "+
		"%d empty (no elections in the outcode: a 0-row file), %d stale deleted (outcode no longer in AddressBase)\n",
		s.Outcodes, s.Written, s.Unchanged, s.Empty, s.Deleted)
	if br := s.BoundaryReviews; br != nil {
		fmt.Fprintf(p.w, "databaker: boundary reviews: read %d rows: %d geometry pieces of %d reviews (%d old and new divisions and organisation areas)\n",
			br.Rows, br.Pieces, br.Reviews, br.Divisions)
		fmt.Fprintf(p.w, "databaker: boundary reviews: joined %d rows: %d inside at least one review (%d with a division change entry), %d inside none; %d change rows\n",
			br.JoinedRows, br.RowsWithReviews, br.RowsWithChanges, br.JoinedRows-br.RowsWithReviews, br.ChangeRows)
		fmt.Fprintf(p.w, "databaker: boundary reviews: %d identical duplicate rows dropped, leaving %d output rows\n",
			br.DuplicatesDropped, br.OutputRows)
		fmt.Fprintf(p.w, "databaker: boundary reviews: %d outcodes: %d written (new or changed), %d unchanged (same bytes, not rewritten), "+
			"%d empty (no boundary review in the outcode: a 0-row file), %d stale deleted (outcode no longer in AddressBase)\n",
			br.Outcodes, br.Written, br.Unchanged, br.Empty, br.Deleted)
	}
	fmt.Fprintf(p.w, "databaker: done in %s\n", s.Elapsed.Round(time.Millisecond))
}
