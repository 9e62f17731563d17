package addressbase

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

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

// partitionWriter writes addressbase_partitioned's files, one per letter,
// when dir is not "".
type partitionWriter struct {
	dir, source string
	parts       map[string]*bake.PartitionWriter[Row]
}

func newPartitionWriter(dir, source string) *partitionWriter {
	return &partitionWriter{dir: dir, source: source, parts: map[string]*bake.PartitionWriter[Row]{}}
}

func (pw *partitionWriter) add(r *Record) error {
	if pw.dir == "" {
		return nil
	}
	p := pw.parts[r.FirstLetter]
	if p == nil {
		var err error
		if p, err = bake.NewPartitionWriter[Row](pw.dir, r.FirstLetter); err != nil {
			return err
		}
		pw.parts[r.FirstLetter] = p
	}
	// Cloned: a record's strings point into its chunk of the file, which a
	// rare letter's pending rows would otherwise keep, one chunk each.
	return p.Add(Row{Outcode: strings.Clone(r.Outcode), UPRN: strings.Clone(r.UPRN), Address: strings.Clone(r.Address),
		Postcode: strings.Clone(r.Postcode), Longitude: r.Lon, Latitude: r.Lat, AddressbaseSource: pw.source})
}

// close closes every file.
func (pw *partitionWriter) close() error {
	var errs []error
	for _, p := range pw.parts {
		errs = append(errs, p.Close())
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
