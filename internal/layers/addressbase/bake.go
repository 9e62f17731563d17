package addressbase

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// PartitionedName is the partitioned table's name, and its folder.
const PartitionedName = "addressbase_partitioned"

// Input is the bake's flag for the AddressBase cleaned CSV.
const Input = "addressbase"

// Row is one row of addressbase_partitioned (first_letter is the partition
// folder, not a column).
type Row struct {
	Outcode           string  `parquet:"outcode"`
	UPRN              string  `parquet:"uprn"`
	Address           string  `parquet:"address"`
	Postcode          string  `parquet:"postcode"`
	Longitude         float64 `parquet:"longitude"`
	Latitude          float64 `parquet:"latitude"`
	AddressbaseSource string  `parquet:"addressbase_source"`
}

// Bake is the layer's local engine: the CSV to addressbase_partitioned, one
// file per first letter, as the partition query's UNLOAD writes it.
var Bake = bake.Layer{
	Name:    "addressbase layer",
	Inputs:  []bake.Input{{Flag: Input, Usage: "AddressBase cleaned `csv` (no header row)", Required: true}},
	Folders: []string{PartitionedName},
	Bake: func(ctx context.Context, j *bake.Job) error {
		path := j.Input(Input)
		source := (&url.URL{Scheme: "file", Path: path}).String()
		letters, rows, err := partition(ctx, path, source, j.Staging, j)
		if err != nil {
			return err
		}
		j.Letters, j.Summary.Letters, j.Summary.AddressRows = letters, len(letters), rows
		j.Done(rows)
		return nil
	},
}

// abBatch is a run of rows of one first letter.
type abBatch struct {
	letter string
	rows   []Row
}

// partition streams the CSV into addressbase_partitioned/first_letter=X/
// and returns the letters (sorted) and the row count. Parsing and parquet
// encoding run in two goroutines, joined by batches.
func partition(ctx context.Context, path, source, staging string, j *bake.Job) ([]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open addressbase: %w", err)
	}
	defer f.Close()

	batches := make(chan abBatch, 8)
	type result struct {
		letters []string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		l, err := writePartitions(filepath.Join(staging, PartitionedName), batches)
		done <- result{l, err}
	}()

	n, perr := parseCSV(ctx, f, path, source, batches, j)
	close(batches)
	res := <-done
	if perr != nil {
		return nil, 0, perr
	}
	if res.err != nil {
		return nil, 0, res.err
	}
	return res.letters, n, nil
}

// parseCSV reads the CSV and sends rows in per-letter batches.
func parseCSV(ctx context.Context, r io.Reader, path, source string, out chan<- abBatch, j *bake.Job) (int64, error) {
	const batchRows = 4096
	var n int64
	pending := map[string][]Row{}
	send := func(b abBatch) error {
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ar := NewReader(bufio.NewReaderSize(r, 1<<20), path)
	for {
		rec, err := ar.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("addressbase: %w", err)
		}
		b := append(pending[rec.FirstLetter], Row{
			Outcode: rec.Outcode, UPRN: rec.UPRN, Address: rec.Address, Postcode: rec.Postcode,
			Longitude: rec.Lon, Latitude: rec.Lat, AddressbaseSource: source,
		})
		if len(b) == batchRows {
			if err := send(abBatch{rec.FirstLetter, b}); err != nil {
				return n, err
			}
			b = make([]Row, 0, batchRows)
		}
		pending[rec.FirstLetter] = b
		if n++; n%batchRows == 0 {
			j.Add(batchRows)
		}
	}
	for l, b := range pending {
		if len(b) > 0 {
			if err := send(abBatch{l, b}); err != nil {
				return n, err
			}
		}
	}
	j.Add(n % batchRows)
	return n, nil
}

// writePartitions writes each batch to dir/first_letter=X/part-00000.parquet
// and returns the letters, sorted. After an error it keeps draining in so
// the sender never blocks.
func writePartitions(dir string, in <-chan abBatch) ([]string, error) {
	type part struct {
		f *os.File
		w *parquet.GenericWriter[Row]
	}
	parts := map[string]*part{}
	var firstErr error
	for b := range in {
		if firstErr != nil {
			continue
		}
		p := parts[b.letter]
		if p == nil {
			path := bake.PartitionFile(dir, b.letter)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				firstErr = fmt.Errorf("create %s: %w", filepath.Dir(path), err)
				continue
			}
			f, err := os.Create(path)
			if err != nil {
				firstErr = fmt.Errorf("create partition: %w", err)
				continue
			}
			p = &part{f: f, w: bake.ParquetWriter[Row](f)}
			parts[b.letter] = p
		}
		if _, err := p.w.Write(b.rows); err != nil {
			firstErr = fmt.Errorf("write %s letter %s: %w", PartitionedName, b.letter, err)
		}
	}
	letters := make([]string, 0, len(parts))
	errs := []error{firstErr}
	for l, p := range parts {
		letters = append(letters, l)
		if err := p.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("write %s letter %s: %w", PartitionedName, l, err))
		}
		if err := p.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s letter %s: %w", PartitionedName, l, err))
		}
	}
	slices.Sort(letters)
	return letters, errors.Join(errs...)
}

// NameConflictLines adds to err, when it is a gate's failure about
// conflicting duplicate UPRNs found late (in a joined table, by a later
// layer), the AddressBase CSV lines that hold them, so the error names the
// input rather than a staging file's row. Other errors pass through. The
// CSV is read again only on this failure path: a good bake pays nothing.
func NameConflictLines(j *bake.Job, err error) error {
	var uprns []string
	if ce := (*outcodes.ConflictError)(nil); errors.As(err, &ce) {
		uprns = ce.Examples
	} else if le := (*bake.LettersConflictError)(nil); errors.As(err, &le) {
		uprns = le.UPRNs
	} else {
		return err
	}
	path := j.Input(Input)
	lines, lerr := Lines(path, uprns)
	if lerr != nil {
		return fmt.Errorf("%w (finding their lines in the input failed: %v)", err, lerr)
	}
	var rows []string
	for _, u := range uprns {
		at := make([]string, len(lines[u]))
		for i, l := range lines[u] {
			at[i] = fmt.Sprintf("%s:%d", path, l)
		}
		rows = append(rows, fmt.Sprintf("%s: field uprn %s", strings.Join(at, " and "), u))
	}
	return fmt.Errorf("%w\nconflicting rows: %s", err, strings.Join(rows, "; "))
}
