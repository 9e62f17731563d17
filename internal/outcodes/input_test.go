package outcodes_test

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/parquet-go/parquet-go"
)

// in is one input row, written the way Athena's UNLOAD would.
type in struct {
	UPRN, Address, Postcode, Source string
	List                            []string
	NullList                        bool // a null list rather than []
	NullAddress                     bool
}

const src = "s3://pollingstations.private.data/addressbase/2026-11/addressbase_cleaned/"

// hiveSchema is Trino's input schema with CurrentElections's list column;
// the tests of every writer's schema call inputSchemas themselves.
var hiveSchema, _, _, _ = inputSchemas("ballot_ids")

// inputSchemas returns the input schemas with list column col:
//   - hive is what Trino writes: every column optional, a standard 3-level
//     LIST with an optional element. parquet.Group orders fields by name, so
//     the columns are also out of the contract's order. Repetitive columns
//     are dictionary-encoded, as Trino does.
//   - bag names the list levels as Hive's older writer does
//     (bag/array_element) and carries no LIST annotation: Split reads the
//     levels, not the names.
//   - ordered keeps the contract's column order, with an optional list of
//     required elements.
//   - legacy uses a bare repeated field (2-level list), as some old writers
//     do.
func inputSchemas(col string) (hive, bag, ordered, legacy *parquet.Schema) {
	hive = parquet.NewSchema("hive_schema", parquet.Group{
		"uprn":               parquet.Optional(parquet.String()),
		"address":            parquet.Optional(parquet.String()),
		"postcode":           parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
		"addressbase_source": parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)),
		col:                  parquet.Optional(parquet.List(parquet.Optional(parquet.Encoded(parquet.String(), &parquet.RLEDictionary)))),
	})
	bag = parquet.NewSchema("hive_schema", parquet.Group{
		"uprn":               parquet.Optional(parquet.String()),
		"address":            parquet.Optional(parquet.String()),
		"postcode":           parquet.Optional(parquet.String()),
		"addressbase_source": parquet.Optional(parquet.String()),
		col:                  parquet.Optional(parquet.Group{"bag": parquet.Repeated(parquet.Group{"array_element": parquet.Optional(parquet.String())})}),
	})
	ordered = parquet.SchemaOf(struct {
		UPRN              string   `parquet:"uprn,optional"`
		Address           string   `parquet:"address,optional"`
		Postcode          string   `parquet:"postcode,optional"`
		AddressbaseSource string   `parquet:"addressbase_source,optional"`
		List              []string `parquet:"list,optional,list"`
	}{}, parquet.StructTag(reflect.StructTag(`parquet:"`+col+`,optional,list"`), "List"))
	legacy = parquet.SchemaOf(struct {
		UPRN              string   `parquet:"uprn"`
		Address           string   `parquet:"address"`
		Postcode          string   `parquet:"postcode"`
		AddressbaseSource string   `parquet:"addressbase_source"`
		List              []string `parquet:"list"`
	}{}, parquet.StructTag(reflect.StructTag(`parquet:"`+col+`"`), "List"))
	return hive, bag, ordered, legacy
}

// encodeInput writes rows with schema through the low-level row API, so
// definition levels (null list, empty list, null element) are exactly
// those a nullable writer produces. The list column is schema's repeated
// one, whatever its name.
func encodeInput(t testing.TB, schema *parquet.Schema, rows []in) []byte {
	t.Helper()
	leaf := func(path ...string) parquet.LeafColumn {
		l, ok := schema.Lookup(path...)
		if !ok {
			t.Fatalf("schema has no column %v", path)
		}
		return l
	}
	var listPath []string
	for _, p := range schema.Columns() {
		if l := leaf(p...); l.MaxRepetitionLevel > 0 {
			listPath = p
		}
	}
	bl := leaf(listPath...)
	scalar := func(path string, v string, null bool) parquet.Value {
		l := leaf(path)
		if null {
			return parquet.NullValue().Level(0, 0, l.ColumnIndex)
		}
		return parquet.ByteArrayValue([]byte(v)).Level(0, l.MaxDefinitionLevel, l.ColumnIndex)
	}
	var buf bytes.Buffer
	// Small row groups and pages, so readers meet several of each, as in
	// Athena's larger files; version 1 data pages, as Trino writes.
	w := parquet.NewWriter(&buf, schema, parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(2), parquet.PageBufferSize(64), parquet.DataPageVersion(1))
	for _, r := range rows {
		row := parquet.Row{
			scalar("uprn", r.UPRN, false),
			scalar("address", r.Address, r.NullAddress),
			scalar("postcode", r.Postcode, false),
			scalar("addressbase_source", r.Source, false),
		}
		switch {
		case r.NullList:
			row = append(row, parquet.NullValue().Level(0, 0, bl.ColumnIndex))
		case len(r.List) == 0:
			row = append(row, parquet.NullValue().Level(0, bl.MaxDefinitionLevel-listElementOptional(bl)-1, bl.ColumnIndex))
		default:
			for i, id := range r.List {
				rep := 0
				if i > 0 {
					rep = 1
				}
				if id == "<null>" {
					row = append(row, parquet.NullValue().Level(rep, bl.MaxDefinitionLevel-1, bl.ColumnIndex))
					continue
				}
				row = append(row, parquet.ByteArrayValue([]byte(id)).Level(rep, bl.MaxDefinitionLevel, bl.ColumnIndex))
			}
		}
		slices.SortStableFunc(row, func(a, b parquet.Value) int { return a.Column() - b.Column() })
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatalf("write input row %v: %v", r, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listElementOptional is 1 when the list's element may be null.
func listElementOptional(l parquet.LeafColumn) int {
	if l.Node.Optional() {
		return 1
	}
	return 0
}

// putInput writes each group of rows as one object under prefix.
func putInput(t testing.TB, st blob.Store, prefix string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if _, err := st.Put(context.Background(), prefix+name, data); err != nil {
			t.Fatal(err)
		}
	}
}
