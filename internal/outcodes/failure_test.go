package outcodes_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// failingPut is a Store whose Put fails for one key.
type failingPut struct {
	blob.Store
	key string
}

func (f failingPut) Put(ctx context.Context, key string, data []byte) (bool, error) {
	if key == f.key {
		return false, errors.New("put " + key + ": injected failure")
	}
	return f.Store.Put(ctx, key, data)
}

func TestSplitReportsUploadFailure(t *testing.T) {
	st := blob.NewDir(t.TempDir())
	putInput(t, st, srcPrefix, letterM(t))
	_, err := outcodes.Split(context.Background(), outcodes.SplitInput{
		Src: st, SrcPrefix: srcPrefix, Dst: failingPut{Store: st, key: dstPrefix + "ME1.parquet"}, DstPrefix: dstPrefix,
		Letter: "M", ListColumn: "ballot_ids", Logger: quietLogger(), Concurrency: 1,
	})
	if err == nil || !strings.Contains(err.Error(), "split letter M") || !strings.Contains(err.Error(), "ME1.parquet: injected failure") {
		t.Errorf("error = %v, want the failed upload named", err)
	}
}

func TestSplitHonoursCancel(t *testing.T) {
	st := blob.NewDir(t.TempDir())
	putInput(t, st, srcPrefix, letterM(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := outcodes.Split(ctx, outcodes.SplitInput{Src: st, SrcPrefix: srcPrefix, Dst: st, DstPrefix: dstPrefix, Letter: "M", ListColumn: "ballot_ids", Logger: quietLogger()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if out := readAll(t, st, dstPrefix); len(out) != 0 {
		t.Errorf("wrote %d files after cancel, want none", len(out))
	}
}

// TestInputHasSeveralRowGroups guards the test inputs themselves: readers
// must meet several row groups per file.
func TestInputHasSeveralRowGroups(t *testing.T) {
	data := letterM(t)["20261126_101010_00001_abcde_1"]
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n < 2 {
		t.Errorf("input has %d row groups, want several", n)
	}
	// The postcode column is dictionary-encoded.
	pc, _ := f.Schema().Lookup("postcode")
	encs := f.Metadata().RowGroups[0].Columns[pc.ColumnIndex].MetaData.Encoding
	//lint:ignore SA1019 version 1 pages, as Trino writes, still use PLAIN_DICTIONARY
	if !slices.Contains(encs, format.RLEDictionary) && !slices.Contains(encs, format.PlainDictionary) {
		t.Errorf("postcode encodings %v, want a dictionary encoding", encs)
	}
}

func TestSetMemoryLimitFromLambda(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
	old := debugSetMemoryLimit(-1)
	defer debugSetMemoryLimit(old)
	outcodes.SetMemoryLimitFromLambda(quietLogger())
	if got, want := debugSetMemoryLimit(-1), int64(1024<<20*85/100); got != want {
		t.Errorf("memory limit = %d, want %d (85%% of 1024 MB)", got, want)
	}
}

func debugSetMemoryLimit(limit int64) int64 { return debug.SetMemoryLimit(limit) }

// TestSplitLetterWrittenTwice covers an UNLOAD into a prefix that still
// held the previous run: every row is an identical duplicate, and the
// output is the same as from one copy.
func TestSplitLetterWrittenTwice(t *testing.T) {
	ctx := context.Background()
	once, twice := blob.NewDir(t.TempDir()), blob.NewDir(t.TempDir())
	putInput(t, once, srcPrefix, letterM(t))
	putInput(t, twice, srcPrefix, letterM(t))
	for name, data := range letterM(t) {
		putInput(t, twice, srcPrefix, map[string][]byte{"again_" + name: data})
	}
	split := func(st blob.Store) outcodes.Result {
		res, err := outcodes.Split(ctx, outcodes.SplitInput{Src: st, SrcPrefix: srcPrefix, Dst: st, DstPrefix: dstPrefix, Letter: "M", ListColumn: "ballot_ids", Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	r1, r2 := split(once), split(twice)
	if r2.Rows != r1.Rows || r2.DuplicatesDropped != r1.Rows+2*r1.DuplicatesDropped {
		t.Errorf("twice: rows %d, dropped %d; want rows %d, dropped %d", r2.Rows, r2.DuplicatesDropped, r1.Rows, r1.Rows+2*r1.DuplicatesDropped)
	}
	if !cmp.Equal(readAll(t, once, dstPrefix), readAll(t, twice, dstPrefix)) {
		t.Error("output differs between one and two copies of the input")
	}
}
