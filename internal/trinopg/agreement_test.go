package trinopg_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// TestSQLPathAgreesWithBake runs both engines on the same inputs: the
// cloud path (the real SQL on the warehouse, then the real outcode split on
// its joined table) and databaker bake. The joined tables must hold the
// same rows and the outcode files must be the same bytes.
var addresses = 100_000

func TestSQLPathAgreesWithBake(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                 string
		addressbase, ballots string
	}{
		{"fixtures", filepath.Join(fixtures, "addressbase_run1.csv"), filepath.Join(fixtures, "ballots.csv")},
		{"synth 100k", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.addressbase == "" {
				if testing.Short() {
					t.Skip("100k addresses: skipped with -short")
				}
				tc.addressbase, tc.ballots = synthInputs(t, addresses, 60)
			}
			agree(t, tc.addressbase, tc.ballots)
		})
	}
}

// synthInputs writes a seeded synthetic data set.
func synthInputs(t *testing.T, addresses, ballots int) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ab, ee := filepath.Join(dir, "addressbase.csv"), filepath.Join(dir, "ballots.csv")
	var a, b bytes.Buffer
	if _, err := synth.Generate(synth.Options{Seed: 1, Addresses: addresses, Ballots: ballots, MinVertices: 8, MaxVertices: 32}, &a, &b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ab, a.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ee, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ab, ee
}

func agree(t *testing.T, addressbaseCSV, ballotsCSV string) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "bake")
	start := time.Now()
	if _, err := bake.Run(ctx, bake.Options{
		Inputs: map[string]string{addressbase.Input: addressbaseCSV, currentelections.BallotsInput: ballotsCSV},
		Out:    out, Logger: slog.New(slog.DiscardHandler), KeepIntermediate: true,
	}, layers.Bake()); err != nil {
		t.Fatal(err)
	}
	bakeTook := time.Since(start)
	bakeJoined, err := readJoined(blob.NewDir(filepath.Join(out, currentelections.JoinedName)), "")
	if err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	l := newLake(t, newDatabase(t))
	// The same addressbase_source string as the bake's, so the files can
	// be compared byte for byte.
	l.source = bakeJoined[0].AddressbaseSource
	if err := l.load(addressbaseCSV, ballotsCSV); err != nil {
		t.Fatal(err)
	}
	if err := l.addressBaseLayer(); err != nil {
		t.Fatal(err)
	}
	if err := l.currentElectionsLayer(); err != nil {
		t.Fatal(err)
	}
	sqlJoined, err := readJoined(l.ab, l.keyPrefix(joined))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(bakeJoined, sqlJoined); diff != "" {
		t.Fatalf("joined tables differ (-bake +sql):\n%s", diff)
	}

	// The real outcode split on the SQL path's joined table.
	files := blob.NewDir(t.TempDir())
	letters, err := l.ab.List(ctx, l.keyPrefix(joined))
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, o := range letters {
		letter := strings.TrimPrefix(strings.Split(strings.TrimPrefix(o.Key, l.keyPrefix(joined)), "/")[0], "first_letter=")
		if done[letter] {
			continue
		}
		done[letter] = true
		if _, err := outcodes.Split(ctx, outcodes.SplitInput{
			Src: l.ab, SrcPrefix: l.keyPrefix(joined) + "first_letter=" + letter + "/", Dst: files, Letter: letter,
			ListColumn: currentelections.ListColumn, Logger: slog.New(slog.DiscardHandler),
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d joined rows, %d letters: bake %s, SQL path %s", len(bakeJoined), len(done), bakeTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	want, got := readTree(t, filepath.Join(out, currentelections.OutputFolder)), readTree(t, files.Root())
	if len(want) == 0 {
		t.Fatal("the bake wrote no outcode files")
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got))); diff != "" {
		t.Fatalf("outcode files (-bake +sql):\n%s", diff)
	}
	for name, b := range want {
		if !bytes.Equal(b, got[name]) {
			t.Errorf("%s differs: bake %d bytes, SQL path %d bytes", name, len(b), len(got[name]))
		}
	}
}

// readJoined reads every parquet file under prefix as joined rows, sorted.
func readJoined(s blob.Store, prefix string) ([]outcodes.Row, error) {
	ctx := context.Background()
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var rows []outcodes.Row
	for _, o := range objs {
		rc, err := s.Open(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		rs, err := parquet.Read[outcodes.Row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", o.Key, err)
		}
		rows = append(rows, rs...)
	}
	slices.SortFunc(rows, func(a, b outcodes.Row) int {
		return strings.Compare(a.UPRN+"\x00"+a.Postcode+"\x00"+a.Address, b.UPRN+"\x00"+b.Postcode+"\x00"+b.Address)
	})
	return rows, nil
}

// readTree reads every file under dir by its relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
