package outcodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
	"github.com/parquet-go/parquet-go"
)

// isDataObject reports whether key under a partition prefix is a data
// file. Athena's UNLOAD names files randomly and without an extension, so
// everything counts except "directory" markers, empty objects and
// Hadoop-style side files (_SUCCESS, .crc).
func isDataObject(o blob.Object) bool {
	base := path.Base(o.Key)
	return o.Size > 0 && !strings.HasSuffix(o.Key, "/") && !strings.HasPrefix(base, "_") && !strings.HasPrefix(base, ".")
}

// readerAt gives random access to an opened object: a local file directly,
// anything else (an S3 body) through a temporary file, so a large object
// costs disk, not memory.
func readerAt(rc io.ReadCloser) (ra io.ReaderAt, size int64, cleanup func(), err error) {
	if f, ok := rc.(interface {
		io.ReaderAt
		Stat() (fs.FileInfo, error)
	}); ok {
		info, err := f.Stat()
		if err != nil {
			return nil, 0, nil, err
		}
		return f, info.Size(), func() {}, nil
	}
	tmp, err := os.CreateTemp("", "outcodes-*.parquet")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
	size, err = io.Copy(tmp, rc)
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("copy to temp file: %w", err)
	}
	return tmp, size, cleanup, nil
}

// column locates one input column among a file's leaf columns.
type column struct {
	index int
	// For the list column: the definition level at which the repeated node is
	// present (below it the list is null or empty) and the maximum level
	// (a present element).
	repDef, maxDef int
}

// columnsOf finds the input columns by name. The list column (listColumn,
// e.g. ballot_ids) may be a standard 3-level LIST with any inner names
// (list/element, bag/array_element) or a legacy 2-level repeated field.
func columnsOf(schema *parquet.Schema, listColumn string) (cols [5]column, err error) {
	names := [4]string{"uprn", "address", "postcode", "addressbase_source"}
	for i, name := range names {
		leaf, ok := schema.Lookup(name)
		if !ok || !leaf.Node.Leaf() {
			return cols, fmt.Errorf("missing column %q", name)
		}
		if leaf.Node.Type().Kind() != parquet.ByteArray {
			return cols, fmt.Errorf("column %q: want a string (BYTE_ARRAY), found %s", name, leaf.Node.Type())
		}
		if leaf.MaxRepetitionLevel != 0 {
			return cols, fmt.Errorf("column %q: want a single value per row, found a repeated field", name)
		}
		cols[i] = column{index: leaf.ColumnIndex}
	}
	var paths [][]string
	for _, p := range schema.Columns() {
		if len(p) > 0 && p[0] == listColumn {
			paths = append(paths, p)
		}
	}
	if len(paths) != 1 {
		return cols, fmt.Errorf("column %q: want one list<string> leaf, found %d leaves", listColumn, len(paths))
	}
	leaf, _ := schema.Lookup(paths[0]...)
	if leaf.Node.Type().Kind() != parquet.ByteArray || leaf.MaxRepetitionLevel != 1 {
		return cols, fmt.Errorf("column %q: want list<string>, found %s at %s", listColumn, leaf.Node.Type(), strings.Join(paths[0], "."))
	}
	c := column{index: leaf.ColumnIndex, maxDef: leaf.MaxDefinitionLevel}
	var node parquet.Node = schema
	def := 0
	for _, name := range paths[0] {
		i := slices.IndexFunc(node.Fields(), func(f parquet.Field) bool { return f.Name() == name })
		node = node.Fields()[i]
		if node.Optional() || node.Repeated() {
			def++
		}
		if node.Repeated() {
			c.repDef = def
		}
	}
	cols[4] = c
	return cols, nil
}

// readObject adds every row of one parquet object to l, checking each; the
// list column is l's.
func readObject(ctx context.Context, src blob.Store, key string, l *Letter) error {
	listColumn := l.listColumn
	rc, err := src.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	ra, size, cleanup, err := readerAt(rc)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer cleanup()
	f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("open parquet %s: %w", key, err)
	}
	cols, err := columnsOf(f.Schema(), listColumn)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	byIndex := make([]int, len(f.Schema().Columns())) // leaf column index -> position in cols, or -1
	for i := range byIndex {
		byIndex[i] = -1
	}
	for i, c := range cols {
		byIndex[c.index] = i
	}
	bl := cols[4]

	buf := make([]parquet.Row, 512)
	var (
		fieldVals [4][]byte
		fieldNull [4]bool
		items     [][]byte
		row       int64 // 1-based row number in the file, for errors
	)
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				row++
				fieldNull = [4]bool{true, true, true, true}
				fieldVals = [4][]byte{}
				items = items[:0]
				for _, v := range r {
					pos := byIndex[v.Column()]
					if pos < 0 {
						continue
					}
					if pos < 4 {
						fieldNull[pos] = v.IsNull()
						fieldVals[pos] = v.ByteArray()
						continue
					}
					switch d := v.DefinitionLevel(); {
					case d == bl.maxDef:
						items = append(items, v.ByteArray())
					case d >= bl.repDef:
						rows.Close()
						return fmt.Errorf("%s row %d field %s: null element in list", key, row, listColumn)
					}
					// Below repDef: a null or empty list, read as [].
				}
				err := checkNulls(fieldVals[0], fieldNull)
				if err == nil {
					err = l.Add(fieldVals[0], fieldVals[1], fieldVals[2], items, fieldVals[3])
				}
				if err != nil {
					rows.Close()
					return fmt.Errorf("%s row %d %w", key, row, err)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("read parquet %s near row %d: %w", key, row+1, err)
			}
			if ctx.Err() != nil {
				rows.Close()
				return ctx.Err()
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read parquet %s: %w", key, err)
		}
	}
	return nil
}

// checkRow validates one row's scalar fields with the rules the readers of
// the input files use (internal/validate), so that a bad uprn or postcode
// that reached the joined table some other way never becomes a row, and
// nothing but a UK outcode becomes part of a file name or S3 key. The error
// starts with "field <name>" so the caller can prefix the file and row.
func checkRow(uprn, pc []byte, letter string) error {
	if err := validate.UPRN(uprn); err != nil {
		return fmt.Errorf("field uprn: %w", err)
	}
	if err := validate.PostcodeText(pc); err != nil {
		return fmt.Errorf("field postcode: %w (uprn %s)", err, uprn)
	}
	if !bytes.HasPrefix(pc, []byte(letter)) {
		return fmt.Errorf("field postcode: %q does not start with partition letter %q (uprn %s)", pc, letter, uprn)
	}
	return nil
}

// checkNulls refuses a parquet row whose uprn or postcode is null.
func checkNulls(uprn []byte, null [4]bool) error {
	if null[0] {
		return fmt.Errorf("field uprn: null")
	}
	if null[2] {
		return fmt.Errorf("field postcode: null (uprn %s)", uprn)
	}
	return nil
}
