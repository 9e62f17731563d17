package bake_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/benchmeter"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
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

// clusterCPU returns the CPU time used so far by the PostgreSQL cluster that
// serves backend pid: the postmaster, its exited children (such as parallel
// workers) and its live children. Linux only; clock ticks are 1/100 s.
func clusterCPU(backend int) (time.Duration, error) {
	postmaster, err := procPPid(backend)
	if err != nil {
		return 0, err
	}
	ticks, err := procTicks(postmaster, true)
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if pp, err := procPPid(pid); err == nil && pp == postmaster {
			if t, err := procTicks(pid, false); err == nil {
				ticks += t
			}
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// procStat returns the fields of /proc/pid/stat after the command name.
func procStat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

func procPPid(pid int) (int, error) {
	f, err := procStat(pid)
	if err != nil || len(f) < 2 {
		return 0, fmt.Errorf("ppid of %d: %v", pid, err)
	}
	return strconv.Atoi(f[1])
}

// procTicks sums utime+stime (and cutime+cstime if children is set);
// they are fields 14-17 of /proc/pid/stat, 12-15 after the name.
func procTicks(pid int, children bool) (int64, error) {
	f, err := procStat(pid)
	if err != nil || len(f) < 15 {
		return 0, fmt.Errorf("cpu of %d: %v", pid, err)
	}
	last := 12
	if children {
		last = 14
	}
	var sum int64
	for _, v := range f[11 : last+1] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	return sum, nil
}

// BenchmarkBakeVsPostGIS runs the DuckDB floor (BenchmarkFloor), the local
// bake and the PostGIS path on the same synthetic data in one run, checks
// that bake and PostGIS agree on every UPRN, and reports each one's wall
// time, CPU time and peak RSS, with the bake ÷ floor and PostGIS ÷ bake
// ratios. The CSVs are read once first, so all three find them in the page
// cache; each iteration then runs floor, bake, PostGIS in that order. It
// needs postgresql-15 and postgresql-15-postgis-3 (see internal/pgtest) and
// `npm ci --prefix internal/bake/testdata/duckfloor`; 1M and 10M run only
// when named:
//
//	go test ./internal/bake -run '^$' -bench '^BenchmarkBakeVsPostGIS$/^addresses=1M$' -benchtime 1x -timeout 30m
//	go test ./internal/bake -run '^$' -bench '^BenchmarkBakeVsPostGIS$/^addresses=10M$' -benchtime 1x -timeout 90m
//
// Peak RSS: the floor's is the node child's (rusage), the bake's this
// process's high-water mark reset just before it (so it includes the test
// binary's baseline), PostGIS's the high-water mark of the connection's
// backend process, reset just before it: it leaves out the parallel
// workers and counts the shared buffers only as far as the backend touched
// them.
func BenchmarkBakeVsPostGIS(b *testing.B) {
	eachSize(b, "BakeVsPostGIS", func(b *testing.B, addresses int) {
		ab, ballots := benchData(b, synth.Options{Seed: 1, Addresses: addresses, Ballots: 500})
		dsn := pgtest.Start(b)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		var backend int
		if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
			b.Fatal(err)
		}
		tmp, source := b.TempDir(), fileSource(b, ab)
		readThrough(b, ab, ballots)
		var floor, bk, pg struct {
			wall, cpu time.Duration
			rss       uint64
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			floorOut := filepath.Join(tmp, fmt.Sprintf("floor-%d", i))
			fr := runFloor(b, ab, floorOut, floorThreads(), source)
			floor.wall += fr.Wall
			floor.cpu += fr.CPU
			floor.rss = max(floor.rss, fr.MaxRSS)
			b.StopTimer()
			if err := os.RemoveAll(floorOut); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()

			br := bakeOnce(b, ab, ballots, filepath.Join(tmp, "out"))
			bk.wall += br.Wall
			bk.cpu += br.CPU
			bk.rss = max(bk.rss, br.PeakRSS)

			pgOut := filepath.Join(tmp, fmt.Sprintf("postgis-%d", i))
			resetErr := benchmeter.ResetPeakRSSOf(backend)
			c0, c1 := benchmeter.CPU(), mustClusterCPU(b, backend)
			t0 := time.Now()
			got, err := postgisBake(ctx, conn, ab, ballots, pgOut)
			pg.wall += time.Since(t0)
			// The PostGIS side's CPU: the cluster's plus this process's
			// (pgx and writing the per-outcode files).
			pg.cpu += mustClusterCPU(b, backend) - c1 + benchmeter.CPU() - c0
			if err != nil {
				b.Fatalf("postgis: %v", err)
			}
			if resetErr == nil {
				if rss, err := benchmeter.PeakRSSOf(backend); err == nil {
					pg.rss = max(pg.rss, rss)
				}
			}
			if i == 0 {
				b.StopTimer()
				compareWithBake(b, got, filepath.Join(tmp, "out"))
				b.StartTimer()
			}
		}
		b.StopTimer()
		n := float64(b.N)
		b.ReportMetric(floor.wall.Seconds()/n, "floor-s")
		b.ReportMetric(bk.wall.Seconds()/n, "bake-s")
		b.ReportMetric(pg.wall.Seconds()/n, "postgis-s")
		b.ReportMetric(floor.cpu.Seconds()/n, "floor-cpu-s")
		b.ReportMetric(bk.cpu.Seconds()/n, "bake-cpu-s")
		b.ReportMetric(pg.cpu.Seconds()/n, "postgis-cpu-s")
		reportRSS(b, floor.rss, "floor-maxrss-MB")
		reportRSS(b, bk.rss, "bake-maxrss-MB")
		reportRSS(b, pg.rss, "postgis-backend-maxrss-MB")
		b.ReportMetric(bk.wall.Seconds()/floor.wall.Seconds(), "bake/floor")
		b.ReportMetric(pg.wall.Seconds()/bk.wall.Seconds(), "postgis/bake")
		b.ReportMetric(bk.cpu.Seconds()/floor.cpu.Seconds(), "bake/floor-cpu")
		b.ReportMetric(pg.cpu.Seconds()/bk.cpu.Seconds(), "postgis/bake-cpu")
	})
}

func mustClusterCPU(b *testing.B, backend int) time.Duration {
	b.Helper()
	d, err := clusterCPU(backend)
	if err != nil {
		b.Fatalf("cluster CPU: %v", err)
	}
	return d
}

// compareWithBake checks that PostGIS and the bake give every UPRN the
// same ballots.
func compareWithBake(b testing.TB, pg map[string][]string, out string) {
	b.Helper()
	files := map[string][]string{}
	for _, rows := range readOutcodes(b, filepath.Join(out, currentelections.OutputFolder), "") {
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
			if _, err := bake.Run(ctx, bake.Options{Inputs: inputs(tc.ab, tc.ballots), Out: out}, layers.Bake()); err != nil {
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
