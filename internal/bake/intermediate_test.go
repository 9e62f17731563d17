package bake_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/bake/baketest"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
)

// A default bake writes only the products and their manifests, and the
// same bytes as one with KeepIntermediate, which adds the tables; neither
// leaves its scratch files anywhere.
func TestKeepIntermediateChangesOnlyTheTables(t *testing.T) {
	e := newEnv(t, "addressbase_run1.csv")
	run := func(keep bool, out string) map[string]string {
		t.Helper()
		if _, err := bake.Run(context.Background(), bake.Options{Inputs: inputs(e.ab, e.ballots), Out: out, KeepIntermediate: keep}, layers.Bake()); err != nil {
			t.Fatal(err)
		}
		if got := baketest.Siblings(t, filepath.Dir(out)); !slices.Equal(got, []string{"." + filepath.Base(out) + ".lock", filepath.Base(out)}) {
			t.Errorf("beside %s: %v", out, got)
		}
		return baketest.Snapshot(t, out)
	}
	plain := run(false, filepath.Join(t.TempDir(), "out"))
	kept := run(true, filepath.Join(t.TempDir(), "out"))

	var folders []string
	for f := range plain {
		folders = append(folders, strings.Split(f, string(filepath.Separator))[0])
	}
	slices.Sort(folders)
	if want := []string{"current_elections_manifest", "current_elections_parquet"}; !slices.Equal(slices.Compact(folders), want) {
		t.Errorf("default bake wrote %v, want only %v", slices.Compact(folders), want)
	}
	tables := 0
	for f := range kept {
		if _, ok := plain[f]; ok {
			continue
		}
		if !strings.HasPrefix(f, "addressbase_partitioned/") && !strings.HasPrefix(f, "current_ballots_joined_to_address_base/") {
			t.Errorf("KeepIntermediate wrote %s, not a table", f)
		}
		tables++
		delete(kept, f)
	}
	if tables == 0 {
		t.Error("KeepIntermediate wrote no tables")
	}
	// The manifests name the same inputs, so every byte is the same.
	if d := cmp.Diff(plain, kept); d != "" {
		t.Errorf("products differ with KeepIntermediate (-default +kept):\n%s", d)
	}
}
