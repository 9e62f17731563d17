package bake_test

import (
	"github.com/DemocracyClub/dc-data-baker/internal/bake/baketest"

	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// outRow is the test's own view of an outcode file, independent of the
// outcodes package's Row type.
type outRow struct {
	UPRN              string   `parquet:"uprn"`
	Address           string   `parquet:"address"`
	Postcode          string   `parquet:"postcode"`
	AddressbaseSource string   `parquet:"addressbase_source"`
	BallotIDs         []string `parquet:"ballot_ids,list"`
	Outcode           string   `parquet:"outcode"`
}

// wantRow is the golden JSON shape of one output row.
type wantRow struct {
	UPRN      string   `json:"uprn"`
	Postcode  string   `json:"postcode"`
	Address   string   `json:"address"`
	BallotIDs []string `json:"ballot_ids"`
}

// Column types as the contract states them.
var (
	outcodeSchema = map[string]string{
		"uprn": "string", "address": "string", "postcode": "string",
		"addressbase_source": "string", "ballot_ids": "list<string>", "outcode": "string",
	}
	addressBaseSchema = map[string]string{
		"outcode": "string", "uprn": "string", "address": "string", "postcode": "string",
		"longitude": "double", "latitude": "double", "addressbase_source": "string",
	}
	joinedSchema = map[string]string{
		"uprn": "string", "address": "string", "postcode": "string",
		"addressbase_source": "string", "ballot_ids": "list<string>",
	}
)

// describe renders a parquet node's type as the contract names it; a "?"
// suffix marks an optional (nullable) node.
func describe(n parquet.Node) string {
	s := "?"
	var lv format.LogicalTypeValue
	if lt := n.Type().LogicalType(); lt != nil {
		lv = lt.Value
	}
	_, isList := lv.(*format.ListType)
	_, isString := lv.(*format.StringType)
	switch {
	case isList:
		// Standard 3-level LIST: <name> (LIST) { repeated group list { element } }
		elem := n.Fields()[0]
		if len(elem.Fields()) == 1 {
			elem = elem.Fields()[0]
		}
		s = "list<" + describe(elem) + ">"
	case n.Leaf() && n.Type().Kind() == parquet.ByteArray && isString:
		s = "string"
	case n.Leaf() && n.Type().Kind() == parquet.ByteArray:
		s = "binary"
	case n.Leaf() && n.Type().Kind() == parquet.Double:
		s = "double"
	case n.Leaf():
		s = n.Type().Kind().String()
	}
	if n.Optional() {
		s += "?"
	}
	return s
}

// openParquet opens path with the generic parquet reader and checks its
// schema against want (column → type). A 0-row file may have no columns.
func openParquet(t testing.TB, path string, want map[string]string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	got := map[string]string{}
	for _, fld := range pf.Schema().Fields() {
		got[fld.Name()] = describe(fld)
	}
	if pf.NumRows() == 0 && len(got) == 0 {
		return pf
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s schema (-want +got):\n%s", path, d)
	}
	return pf
}

func readRows[T any](t testing.TB, path string, want map[string]string) []T {
	t.Helper()
	pf := openParquet(t, path, want)
	if pf.NumRows() == 0 {
		return nil
	}
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	rows := make([]T, pf.NumRows())
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read %s: %v", path, err)
	}
	return rows[:n]
}

// readOutcodes reads every <OUTCODE>.parquet in dir, checks the outcode
// column and the single source, and returns the rows by outcode.
func readOutcodes(t testing.TB, dir, source string) map[string][]wantRow {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]wantRow{}
	for _, e := range ents {
		oc, ok := strings.CutSuffix(e.Name(), ".parquet")
		if !ok {
			t.Errorf("unexpected file %s in %s", e.Name(), dir)
			continue
		}
		rows := readRows[outRow](t, filepath.Join(dir, e.Name()), outcodeSchema)
		got := []wantRow{}
		for _, r := range rows {
			if r.Outcode != oc {
				t.Errorf("%s: row %s has outcode %q", e.Name(), r.UPRN, r.Outcode)
			}
			if source != "" && r.AddressbaseSource != source {
				t.Errorf("%s: row %s has addressbase_source %q, want %q", e.Name(), r.UPRN, r.AddressbaseSource, source)
			}
			if r.BallotIDs == nil {
				r.BallotIDs = []string{}
			}
			got = append(got, wantRow{UPRN: r.UPRN, Postcode: r.Postcode, Address: r.Address, BallotIDs: r.BallotIDs})
		}
		out[oc] = got
	}
	return out
}

// snapshot and siblings are baketest's, named as the tests here use them.
var (
	snapshot = baketest.Snapshot
	siblings = baketest.Siblings
)
