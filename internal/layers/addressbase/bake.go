package addressbase

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
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
		j.Letters, j.LetterUPRNs, j.Summary.Letters, j.Summary.AddressRows = letters, perLetter, len(letters), rows
		j.Done(rows)
		return nil
	},
}

// partition reads the CSV (ReadBatches, with the job's workers) into the
// letters' spill files, and with KeepIntermediate into
// addressbase_partitioned/first_letter=X/, and returns each letter's UPRN
// rows and checksum, and the rows in all.
func partition(ctx context.Context, j *bake.Job) (map[string]gates.UPRNStats, int64, error) {
	path := j.Input(Input)
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open addressbase: %w", err)
	}
	defer f.Close()
	sp, err := newSpiller(spillDir(j))
	if err != nil {
		return nil, 0, err
	}
	tables := newPartitionWriter(j.TableDir(PartitionedName), Source(j))
	perLetter := map[string]gates.UPRNStats{}
	n, err := ReadBatches(ctx, f, path, j.Workers, func(recs []Record) error {
		for i := range recs {
			r := &recs[i]
			st := perLetter[r.FirstLetter]
			st.Rows++
			st.Checksum += gates.Checksum(r.UPRN)
			perLetter[r.FirstLetter] = st
			if err := sp.write(r.FirstLetter, r); err != nil {
				return err
			}
			if err := tables.add(r); err != nil {
				return err
			}
		}
		j.Add(int64(len(recs)))
		return nil
	})
	if err != nil {
		err = fmt.Errorf("addressbase: %w", err)
	}
	return perLetter, n, errors.Join(err, sp.close(), tables.close())
}

// partitionWriter writes addressbase_partitioned's files when dir is not
// "", a batch of rows at a time.
type partitionWriter struct {
	dir, source string
	parts       map[string]*part
}

type part struct {
	f    *os.File
	w    *parquet.GenericWriter[Row]
	rows []Row
}

func newPartitionWriter(dir, source string) *partitionWriter {
	return &partitionWriter{dir: dir, source: source, parts: map[string]*part{}}
}

func (pw *partitionWriter) add(r *Record) error {
	if pw.dir == "" {
		return nil
	}
	l := r.FirstLetter
	p := pw.parts[l]
	if p == nil {
		path := bake.PartitionFile(pw.dir, l)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("create partition: %w", err)
		}
		p = &part{f: f, w: bake.ParquetWriter[Row](f)}
		pw.parts[l] = p
	}
	// Cloned: a record's strings point into its chunk of the file, which a
	// rare letter's pending rows would otherwise keep, one chunk each.
	p.rows = append(p.rows, Row{Outcode: strings.Clone(r.Outcode), UPRN: strings.Clone(r.UPRN), Address: strings.Clone(r.Address),
		Postcode: strings.Clone(r.Postcode), Longitude: r.Lon, Latitude: r.Lat, AddressbaseSource: pw.source})
	if len(p.rows) < 4096 {
		return nil
	}
	return pw.flush(l, p)
}

func (pw *partitionWriter) flush(l string, p *part) error {
	if _, err := p.w.Write(p.rows); err != nil {
		return fmt.Errorf("write %s letter %s: %w", PartitionedName, l, err)
	}
	p.rows = p.rows[:0]
	return nil
}

// close flushes and closes every file.
func (pw *partitionWriter) close() error {
	var errs []error
	for l, p := range pw.parts {
		errs = append(errs, pw.flush(l, p))
		if err := p.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("write %s letter %s: %w", PartitionedName, l, err))
		}
		if err := p.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s letter %s: %w", PartitionedName, l, err))
		}
	}
	return errors.Join(errs...)
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
