package bake_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/outcodes/outcodestest"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

// floorDir holds the DuckDB floor (issue #14): @duckdb/node-api reading the
// AddressBase CSV and writing per-outcode parquet with no spatial join.
// Install it with `npm ci --prefix internal/bake/testdata/duckfloor`.
const floorDir = "testdata/duckfloor"

// floorRun is one run of the floor script: what it wrote and what the
// child process cost.
type floorRun struct {
	Files    int      `json:"files"`    // parquet files written
	Rows     int64    `json:"rows"`     // rows written, = CSV rows
	Outcodes int      `json:"outcodes"` // partitions
	Split    []string `json:"split"`    // outcodes DuckDB wrote as more than one file

	Wall   time.Duration
	CPU    time.Duration // the child's user + system time
	MaxRSS uint64        // the child's peak RSS, bytes
}

// fileSource is the addressbase_source the bake gives rows read from path.
func fileSource(tb testing.TB, path string) string {
	tb.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	return (&url.URL{Scheme: "file", Path: abs}).String()
}

// runFloor runs the floor on csvPath into out (which must not exist or be
// empty) with DuckDB's threads set to threads, and measures it. It skips
// tb when the floor's node_modules is missing (fails in CI).
func runFloor(tb testing.TB, csvPath, out string, threads int, source string) floorRun {
	tb.Helper()
	node := nodetool.RequirePackage(tb, floorDir, "@duckdb/node-api")
	cmd := exec.Command(node, filepath.Join(floorDir, "floor.mjs"), csvPath, out, strconv.Itoa(threads), source)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		tb.Fatalf("floor on %s: %v\n%s", csvPath, err, stderr.Bytes())
	}
	var r floorRun
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		tb.Fatalf("floor's summary %q: %v", stdout.Bytes(), err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		tb.Fatalf("floor: no rusage on this platform")
	}
	r.Wall = wall
	r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	r.MaxRSS = uint64(ru.Maxrss) << 10 // KiB on Linux
	return r
}

// TestFloorScript runs the floor on synthetic addresses (empty filler
// addresses and identical duplicate rows included) and reads its files back
// with polars: one file per outcode of the CSV, every CSV row once, the
// product's columns, ballot_ids [] and the given addressbase_source.
func TestFloorScript(t *testing.T) {
	dir := t.TempDir()
	ab, _ := synthFiles(t, dir, synth.Options{Seed: 7, Addresses: 3000, Ballots: 0})
	f, err := os.Open(ab)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The CSV, read independently: each row's fields by outcode.
	want := map[string][][3]string{}
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = 5
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		oc, _, _ := strings.Cut(rec[2], " ")
		want[oc] = append(want[oc], [3]string{rec[0], rec[1], rec[2]})
	}
	rowsIn := 0
	for _, rows := range want {
		rowsIn += len(rows)
	}

	out := filepath.Join(dir, "floor")
	const source = "s3://addressbase/it's-quoted/addressbase_cleaned/"
	r := runFloor(t, ab, out, 2, source)
	t.Logf("floor: %d rows, %d files, %d outcodes in %v (CPU %v, max RSS %d MB)", r.Rows, r.Files, r.Outcodes, r.Wall, r.CPU, r.MaxRSS>>20)
	if r.Rows != int64(rowsIn) || r.Outcodes != len(want) || r.Files != len(want) || len(r.Split) != 0 {
		t.Errorf("summary %+v, want %d rows in %d files, one per outcode", r, rowsIn, len(want))
	}

	ents, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range ents {
		paths = append(paths, filepath.Join(out, e.Name()))
	}
	files := outcodestest.ReadPolars(t, "ballot_ids", paths...)
	if len(files) != len(want) {
		t.Errorf("%d files, want one for each of %d outcodes", len(files), len(want))
	}
	schema := outcodestest.PolarsSchema("ballot_ids")
	for oc, rows := range want {
		file, ok := files[oc]
		if !ok {
			t.Errorf("no %s.parquet", oc)
			continue
		}
		if !slices.Equal(file.Schema, schema) {
			t.Errorf("%s: schema %v, want %v", oc, file.Schema, schema)
		}
		var got [][3]string
		for _, row := range file.Rows {
			if row.Outcode != oc || row.AddressbaseSource != source || len(row.List) != 0 {
				t.Errorf("%s: row %+v: want outcode %s, addressbase_source %q, ballot_ids []", oc, row, oc, source)
			}
			got = append(got, [3]string{row.UPRN, row.Address, row.Postcode})
		}
		cmp := func(a, b [3]string) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) }
		slices.SortFunc(got, cmp)
		slices.SortFunc(rows, cmp)
		if !slices.Equal(got, rows) {
			t.Errorf("%s: %d rows differ from the CSV's %d", oc, len(got), len(rows))
		}
	}
}
