package bake

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/semaphore"

	"github.com/DemocracyClub/dc-data-baker/internal/gates"
)

// UPRNStats computes gates.UPRNStats for n UPRNs by sorting rather than
// with UPRNStats.Add's set, which is several times slower at millions of
// rows. A UPRN has one postcode, so per-letter stats can be summed.
func UPRNStats(n int, uprn func(i int) string) gates.UPRNStats {
	ids := make([]string, n)
	var st gates.UPRNStats
	for i := range ids {
		ids[i] = uprn(i)
		st.Checksum += gates.Checksum(ids[i])
	}
	slices.Sort(ids)
	st.Rows = int64(n)
	for i := range ids {
		if i == 0 || ids[i] != ids[i-1] {
			st.Distinct++
		}
	}
	return st
}

// DefaultMaxRowsInMemory is Options.MaxRowsInMemory's default: at about
// 230 bytes of peak RSS a row in flight (measured at 10M addresses), some
// 900 MB.
const DefaultMaxRowsInMemory = 4_000_000

// ForEachLetter runs fn for every letter of the job, as the state
// machines' per-letter Maps do, with at most Workers letters at a time and,
// together, at most MaxRowsInMemory AddressBase rows (a larger letter runs
// alone), and returns the first error; later letters are not started
// after one. The largest letters (LetterUPRNs) start first, so that no
// worker is left with a large one at the end while the others idle.
func (j *Job) ForEachLetter(ctx context.Context, fn func(letter string) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	budget := cmp.Or(j.MaxRowsInMemory, DefaultMaxRowsInMemory)
	workers := semaphore.NewWeighted(int64(max(j.Workers, 1)))
	rows := semaphore.NewWeighted(budget)
	order := slices.Clone(j.Letters)
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(j.LetterUPRNs[b].Rows, j.LetterUPRNs[a].Rows) })
	fail := func(err error) {
		mu.Lock()
		firstErr = cmp.Or(firstErr, err)
		mu.Unlock()
	}
	for _, l := range order {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		if err := ctx.Err(); err != nil {
			fail(err)
			break
		}
		weight := min(max(j.LetterUPRNs[l].Rows, 1), budget)
		if err := workers.Acquire(ctx, 1); err != nil {
			fail(err)
			break
		}
		if err := rows.Acquire(ctx, weight); err != nil {
			workers.Release(1)
			fail(err)
			break
		}
		wg.Add(1)
		go func() {
			defer func() { rows.Release(weight); workers.Release(1); wg.Done() }()
			if err := fn(l); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// ParquetWriter writes rows of T to w with the settings every table of the
// bake uses.
func ParquetWriter[T any](w io.Writer) *parquet.GenericWriter[T] {
	return parquet.NewGenericWriter[T](w, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(rowGroupRows))
}

// WritePartition writes rows as the letter's partition file of dir.
func WritePartition[T any](dir, letter string, rows []T) error {
	w, err := NewPartitionWriter[T](dir, letter)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Add(r); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// PartitionWriter writes one letter's partition file of a table a batch of
// rows at a time. A nil one, which NewPartitionWriter returns for no
// folder (a table not kept), writes nothing.
type PartitionWriter[T any] struct {
	f    *os.File
	w    *parquet.GenericWriter[T]
	path string
	rows []T
}

// NewPartitionWriter creates the letter's partition file of dir, or
// returns nil when dir is "".
func NewPartitionWriter[T any](dir, letter string) (*PartitionWriter[T], error) {
	if dir == "" {
		return nil, nil
	}
	path := PartitionFile(dir, letter)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &PartitionWriter[T]{f: f, w: ParquetWriter[T](f), path: path}, nil
}

// Add writes r (buffered).
func (p *PartitionWriter[T]) Add(r T) error {
	if p == nil {
		return nil
	}
	if p.rows = append(p.rows, r); len(p.rows) < 4096 {
		return nil
	}
	return p.flush()
}

func (p *PartitionWriter[T]) flush() error {
	if _, err := p.w.Write(p.rows); err != nil {
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	p.rows = p.rows[:0]
	return nil
}

// Close writes what is buffered and closes the file.
func (p *PartitionWriter[T]) Close() error {
	if p == nil {
		return nil
	}
	err := p.flush()
	if cerr := p.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", p.path, cerr)
	}
	if cerr := p.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", p.path, cerr)
	}
	return err
}
