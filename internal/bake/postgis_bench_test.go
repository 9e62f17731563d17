package bake_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// sqlDir holds the PostGIS side's SQL, so the benchmark and a manual psql
// session run the same statements.
const sqlDir = "../../scripts/postgis"

// sqlStatements reads a script and splits it into statements.
func sqlStatements(name string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(sqlDir, name))
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	var out []string
	for _, st := range strings.Split(strings.Join(lines, "\n"), ";") {
		if st = strings.TrimSpace(st); st != "" {
			out = append(out, st)
		}
	}
	return out, nil
}

// postgisBake runs the PostGIS path end to end: COPY both CSVs in, build
// geometries and the index, join, and write one CSV per outcode into out.
// It returns uprn → ballot_ids for the correctness comparison.
func postgisBake(ctx context.Context, conn *pgx.Conn, abPath, ballotsPath, out string) (map[string][]string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var script [3][]string
	for i, name := range []string{"prepare.sql", "build.sql", "join.sql"} {
		st, err := sqlStatements(name)
		if err != nil {
			return nil, err
		}
		script[i] = st
	}
	exec := func(stmts []string) error {
		for _, q := range stmts {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	}
	if err := exec(script[0]); err != nil {
		return nil, err
	}
	if err := copyIn(ctx, conn, abPath, "COPY ab_raw FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (uprn, address, postcode, location, address_type))"); err != nil {
		return nil, err
	}
	if err := copyIn(ctx, conn, ballotsPath, "COPY ballots_raw FROM STDIN WITH (FORMAT csv, HEADER true)"); err != nil {
		return nil, err
	}
	if err := exec(script[1]); err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, script[2][0])
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	defer rows.Close()
	got := map[string][]string{}
	var (
		cur string
		f   *os.File
		bw  *bufio.Writer
		w   *csv.Writer
	)
	closeFile := func() error {
		if f == nil {
			return nil
		}
		w.Flush()
		if err := bw.Flush(); err != nil {
			return err
		}
		return f.Close()
	}
	for rows.Next() {
		var outcode, uprn, address, postcode string
		var ids []string
		if err := rows.Scan(&outcode, &uprn, &address, &postcode, &ids); err != nil {
			return nil, err
		}
		if outcode != cur || f == nil {
			if err := closeFile(); err != nil {
				return nil, err
			}
			cur = outcode
			if f, err = os.Create(filepath.Join(out, outcode+".csv")); err != nil {
				return nil, err
			}
			bw = bufio.NewWriter(f)
			w = csv.NewWriter(bw)
		}
		if err := w.Write([]string{uprn, address, postcode, strings.Join(ids, ";"), outcode}); err != nil {
			return nil, err
		}
		got[uprn] = ids
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	return got, closeFile()
}

func copyIn(ctx context.Context, conn *pgx.Conn, path, sql string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := conn.PgConn().CopyFrom(ctx, f, sql); err != nil {
		return fmt.Errorf("%s < %s: %w", sql, path, err)
	}
	return nil
}

// BenchmarkBakeVsPostGIS runs the local bake and the PostGIS path on the
// same synthetic data in one run, checks that they agree on every UPRN, and
// reports both times and their ratio. It needs postgresql-15 and
// postgresql-15-postgis-3 (see internal/pgtest); 1M runs only when named:
//
//	go test ./internal/bake -run '^$' -bench 'BakeVsPostGIS/addresses=1M$' -benchtime 1x
func BenchmarkBakeVsPostGIS(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run("addresses="+tc.name, func(b *testing.B) {
			if tc.n > 100_000 && !selected(tc.name) {
				b.Skipf("run with -bench 'BakeVsPostGIS/addresses=%s$'", tc.name)
			}
			ab, ballots := benchData(b, synth.Options{Seed: 1, Addresses: tc.n, Ballots: 500})
			dsn := pgtest.Start(b)
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			tmp := b.TempDir()
			var goTotal, pgTotal time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, goTime := bakeOnce(b, ab, ballots, filepath.Join(tmp, "out"))
				goTotal += goTime

				pgOut := filepath.Join(tmp, fmt.Sprintf("postgis-%d", i))
				t0 := time.Now()
				pg, err := postgisBake(ctx, conn, ab, ballots, pgOut)
				pgTotal += time.Since(t0)
				if err != nil {
					b.Fatalf("postgis: %v", err)
				}
				if i == 0 {
					b.StopTimer()
					compareWithBake(b, pg, filepath.Join(tmp, "out"))
					b.StartTimer()
				}
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(goTotal.Seconds()/n, "go-s")
			b.ReportMetric(pgTotal.Seconds()/n, "postgis-s")
			b.ReportMetric(pgTotal.Seconds()/goTotal.Seconds(), "postgis/go")
		})
	}
}

// compareWithBake checks that PostGIS and the bake give every UPRN the
// same ballots.
func compareWithBake(b testing.TB, pg map[string][]string, out string) {
	b.Helper()
	files := map[string][]string{}
	for _, rows := range readOutcodes(b, filepath.Join(out, bake.OutcodesDir), "") {
		for _, r := range rows {
			files[r.UPRN] = r.BallotIDs
		}
	}
	mismatch := 0
	for uprn, ids := range pg {
		got, ok := files[uprn]
		if !ok {
			got = []string{} // in an empty outcode file
		}
		if !slices.Equal(got, ids) {
			if mismatch < 5 {
				b.Errorf("UPRN %s: bake %q, PostGIS %q", uprn, got, ids)
			}
			mismatch++
		}
	}
	if mismatch > 0 {
		b.Fatalf("%d of %d UPRNs differ between bake and PostGIS", mismatch, len(pg))
	}
}

// TestPostGISAgrees runs the PostGIS path on the quick-start sample and the
// fixtures (boundaries, holes, multipolygons) and checks that it agrees
// with the bake on every UPRN: an oracle that shares no code with it.
func TestPostGISAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	dsn := pgtest.Start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, tc := range []struct{ name, ab, ballots string }{
		{"sample", filepath.Join(sampleDir, "addressbase_cleaned.csv"), filepath.Join(sampleDir, "current_elections.csv")},
		{"fixtures", filepath.Join(fixtures, "addressbase_run1.csv"), filepath.Join(fixtures, "ballots.csv")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			out := filepath.Join(tmp, "out")
			if _, err := bake.Run(ctx, bake.Options{AddressBase: tc.ab, Ballots: tc.ballots, Out: out}); err != nil {
				t.Fatal(err)
			}
			pg, err := postgisBake(ctx, conn, tc.ab, tc.ballots, filepath.Join(tmp, "postgis"))
			if err != nil {
				t.Fatal(err)
			}
			compareWithBake(t, pg, out)
		})
	}
}
