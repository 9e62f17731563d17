// Package outcodestest reads per-outcode files the way consumers do, for
// the tests of every layer that writes them.
package outcodestest

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

// polarsDir holds a pinned nodejs-polars, the Rust polars reader that WDIV
// and aggregator-api use (through Python). Install it with
// `npm ci --prefix internal/outcodes/testdata/polarscheck`.
func polarsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "polarscheck")
}

// PolarsFile is one file as polars reads it.
type PolarsFile struct {
	Schema [][2]string // column name and polars dtype, in order
	Rows   []outcodes.OutRow
}

// PolarsSchema is the schema polars must see for a layer's output with
// list column listColumn.
func PolarsSchema(listColumn string) [][2]string {
	return [][2]string{
		{"uprn", "DataType(String)"}, {"address", "DataType(String)"}, {"postcode", "DataType(String)"},
		{"addressbase_source", "DataType(String)"}, {listColumn, "DataType(List(DataType(String)))"}, {"outcode", "DataType(String)"},
	}
}

// ReadPolars reads each of paths with polars and returns them by outcode
// (the file's base name). A null list or string is an error: consumers
// expect [] and "". It skips t when nodejs-polars is not installed, except
// in CI (CI=true), where that is a failure (nodetool.RequirePackage).
func ReadPolars(t testing.TB, listColumn string, paths ...string) map[string]PolarsFile {
	t.Helper()
	dir := polarsDir()
	node := nodetool.RequirePackage(t, dir, "nodejs-polars")
	out, err := exec.Command(node, append([]string{filepath.Join(dir, "check.js")}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("polars: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("polars printed %d lines for %d files:\n%s", len(lines), len(paths), out)
	}
	files := map[string]PolarsFile{}
	for _, line := range lines {
		var got struct {
			Path   string                       `json:"path"`
			Schema [][2]string                  `json:"schema"`
			Rows   []map[string]json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("polars output %q: %v", line, err)
		}
		oc := strings.TrimSuffix(filepath.Base(got.Path), ".parquet")
		f := PolarsFile{Schema: got.Schema, Rows: []outcodes.OutRow{}}
		for _, r := range got.Rows {
			var o outcodes.OutRow
			for col, dst := range map[string]any{"uprn": &o.UPRN, "address": &o.Address, "postcode": &o.Postcode,
				"addressbase_source": &o.AddressbaseSource, listColumn: &o.List, "outcode": &o.Outcode} {
				if string(r[col]) == "null" && col != listColumn {
					t.Errorf("%s: uprn %s: polars read %s as null, want a string (\"\" when empty)", oc, r["uprn"], col)
				}
				if err := json.Unmarshal(r[col], dst); err != nil {
					t.Fatalf("%s: polars row %s: column %s: %v", oc, line, col, err)
				}
			}
			if o.List == nil {
				t.Errorf("%s: uprn %s: polars read %s as null, want a list", oc, o.UPRN, listColumn)
			}
			f.Rows = append(f.Rows, o)
		}
		files[oc] = f
	}
	return files
}
