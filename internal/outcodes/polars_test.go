package outcodes_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/google/go-cmp/cmp"
)

// polarsDir holds a pinned nodejs-polars, the Rust polars reader that WDIV
// and aggregator-api use (through Python). Install it with
// `npm ci --prefix internal/outcodes/testdata/polarscheck`.
const polarsDir = "testdata/polarscheck"

// TestPolarsReadsOutput reads Split's files with polars and checks the
// dtypes and rows consumers see. It skips when nodejs-polars is not
// installed, except in CI (CI=true), where that is a failure.
func TestPolarsReadsOutput(t *testing.T) {
	if _, err := os.Stat(filepath.Join(polarsDir, "node_modules", "nodejs-polars")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nodejs-polars is not installed in %s (npm ci --prefix internal/outcodes/testdata/polarscheck): %v", polarsDir, err)
		}
		t.Skipf("nodejs-polars not installed in %s", polarsDir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: %v", err)
	}
	for _, lc := range listCases {
		t.Run(lc.column, func(t *testing.T) { checkPolars(t, node, lc) })
	}
}

// checkPolars splits letterFor(lc) and reads every file with polars.
func checkPolars(t *testing.T, node string, lc listCase) {
	root := t.TempDir()
	st := blob.NewDir(root)
	putInput(t, st, srcPrefix, letterFor(t, lc))
	if _, err := outcodes.Split(context.Background(), outcodes.SplitInput{Src: st, SrcPrefix: srcPrefix, Dst: st, DstPrefix: dstPrefix, Letter: "M", ListColumn: lc.column, Logger: quietLogger()}); err != nil {
		t.Fatal(err)
	}
	want := wantFor(lc)
	var paths []string
	for oc := range want {
		paths = append(paths, filepath.Join(root, filepath.FromSlash(dstPrefix), oc+".parquet"))
	}
	out, err := exec.Command(node, append([]string{filepath.Join(polarsDir, "check.js")}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("polars: %v\n%s", err, out)
	}
	wantSchema := [][2]string{
		{"uprn", "DataType(String)"}, {"address", "DataType(String)"}, {"postcode", "DataType(String)"},
		{"addressbase_source", "DataType(String)"}, {lc.column, "DataType(List(DataType(String)))"}, {"outcode", "DataType(String)"},
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("polars printed %d lines for %d files:\n%s", len(lines), len(paths), out)
	}
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
		if diff := cmp.Diff(wantSchema, got.Schema); diff != "" {
			t.Errorf("%s: polars schema (-want +got):\n%s", oc, diff)
		}
		rows := []outcodes.OutRow{}
		for _, r := range got.Rows {
			var o outcodes.OutRow
			for col, dst := range map[string]any{"uprn": &o.UPRN, "address": &o.Address, "postcode": &o.Postcode,
				"addressbase_source": &o.AddressbaseSource, lc.column: &o.List, "outcode": &o.Outcode} {
				if err := json.Unmarshal(r[col], dst); err != nil {
					t.Fatalf("%s: polars row %s: column %s: %v", oc, line, col, err)
				}
			}
			if o.List == nil {
				t.Errorf("%s: uprn %s: polars read %s as null, want a list", oc, o.UPRN, lc.column)
			}
			rows = append(rows, o)
		}
		if diff := cmp.Diff(want[oc], rows); diff != "" {
			t.Errorf("%s: polars rows (-want +got):\n%s", oc, diff)
		}
	}
}
