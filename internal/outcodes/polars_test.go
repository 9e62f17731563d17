package outcodes_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes/outcodestest"
	"github.com/google/go-cmp/cmp"
)

// TestPolarsReadsOutput reads Split's files with polars and checks the
// dtypes and rows consumers see.
func TestPolarsReadsOutput(t *testing.T) {
	for _, lc := range listCases {
		t.Run(lc.column, func(t *testing.T) { checkPolars(t, lc) })
	}
}

// checkPolars splits letterFor(lc) and reads every file with polars.
func checkPolars(t *testing.T, lc listCase) {
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
	got := outcodestest.ReadPolars(t, lc.column, paths...)
	for oc, f := range got {
		if diff := cmp.Diff(outcodestest.PolarsSchema(lc.column), f.Schema); diff != "" {
			t.Errorf("%s: polars schema (-want +got):\n%s", oc, diff)
		}
		if diff := cmp.Diff(want[oc], f.Rows); diff != "" {
			t.Errorf("%s: polars rows (-want +got):\n%s", oc, diff)
		}
	}
	if len(got) != len(want) {
		t.Errorf("polars read %d files, want %d", len(got), len(want))
	}
}
