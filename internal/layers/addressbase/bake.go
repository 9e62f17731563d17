package addressbase

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
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

// Bake is the layer's local engine: the CSV to one spill file per first
// letter for the later layers, and with --keep-intermediate to
// addressbase_partitioned, one file per first letter, as the partition
// query's UNLOAD writes it.
var Bake = bake.Layer{
	Name:    "addressbase layer",
	Inputs:  []bake.Input{{Flag: Input, Usage: "AddressBase cleaned `csv` (no header row)", Required: true}},
	Folders: []string{PartitionedName},
	Bake: func(ctx context.Context, j *bake.Job) error {
		perLetter, rows, err := partition(ctx, j)
		if err != nil {
			return err
		}
		letters := slices.Sorted(maps.Keys(perLetter))
		j.Letters, j.LetterRows, j.Summary.Letters, j.Summary.AddressRows = letters, perLetter, len(letters), rows
		j.Done(rows)
		return nil
	},
}

// abBatch is a run of rows of one first letter.
type abBatch struct {
	letter string
	rows   []Record
}

// partition streams the CSV into the letters' spill files (and tables)
// and returns the rows of each letter and in all. Parsing and writing run
// in two goroutines, joined by batches.
func partition(ctx context.Context, j *bake.Job) (map[string]int64, int64, error) {
	path := j.Input(Input)
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open addressbase: %w", err)
	}
	defer f.Close()

	batches := make(chan abBatch, 8)
	type result struct {
		letters map[string]int64
		err     error
	}
	done := make(chan result, 1)
	go func() {
		l, err := writePartitions(j, batches)
		done <- result{l, err}
	}()

	n, perr := parseCSV(ctx, f, path, batches, j)
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
func parseCSV(ctx context.Context, r io.Reader, path string, out chan<- abBatch, j *bake.Job) (int64, error) {
	const batchRows = 4096
	var n int64
	pending := map[string][]Record{}
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
		b := append(pending[rec.FirstLetter], rec)
		if len(b) == batchRows {
			if err := send(abBatch{rec.FirstLetter, b}); err != nil {
				return n, err
			}
			b = make([]Record, 0, batchRows)
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

// writePartitions writes each batch to its letter's spill file and, with
// KeepIntermediate, to addressbase_partitioned/first_letter=X/; it
// returns the rows of each letter. After an error it keeps draining in so
// the sender never blocks.
func writePartitions(j *bake.Job, in <-chan abBatch) (map[string]int64, error) {
	type part struct {
		f *os.File
		w *parquet.GenericWriter[Row]
	}
	sp, firstErr := newSpiller(filepath.Dir(spillFile(j, "A")))
	source := Source(j)
	dir := j.TableDir(PartitionedName)
	parts := map[string]*part{}
	seen := map[string]int64{}
	var rows []Row
	for b := range in {
		if firstErr != nil {
			continue
		}
		seen[b.letter] += int64(len(b.rows))
		for i := range b.rows {
			if err := sp.write(b.letter, &b.rows[i]); err != nil {
				firstErr = err
				break
			}
		}
		if dir == "" || firstErr != nil {
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
		rows = rows[:0]
		for _, r := range b.rows {
			rows = append(rows, Row{Outcode: r.Outcode, UPRN: r.UPRN, Address: r.Address, Postcode: r.Postcode,
				Longitude: r.Lon, Latitude: r.Lat, AddressbaseSource: source})
		}
		if _, err := p.w.Write(rows); err != nil {
			firstErr = fmt.Errorf("write %s letter %s: %w", PartitionedName, b.letter, err)
		}
	}
	errs := []error{firstErr}
	if sp != nil {
		errs = append(errs, sp.close())
	}
	for l, p := range parts {
		if err := p.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("write %s letter %s: %w", PartitionedName, l, err))
		}
		if err := p.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s letter %s: %w", PartitionedName, l, err))
		}
	}
	return seen, errors.Join(errs...)
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
