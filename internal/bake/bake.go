// Package bake runs the AddressBase and CurrentElections layers on one
// machine, from local CSVs into a local folder with the same layout and
// schema as the S3 output, and publishes the result atomically.
package bake

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/ballots"
	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// Folder names of the three layers inside Options.Out, as on S3.
const (
	AddressBaseDir = "addressbase_partitioned"
	JoinedDir      = "current_ballots_joined_to_address_base"
	OutcodesDir    = "current_elections_parquet"
)

// Options says what to bake and where.
type Options struct {
	// AddressBase is the path of the AddressBase cleaned CSV (no header).
	AddressBase string
	// Ballots is the path of EE's current ballots CSV (with header).
	Ballots string
	// Out is the output folder. It is replaced atomically on success and
	// left untouched on failure.
	Out string
	// Progress receives periodic progress lines and the final summary; nil
	// discards them.
	Progress io.Writer
	// ProgressEvery is the progress interval; 0 means 2s.
	ProgressEvery time.Duration
	// Workers is the geo-join parallelism; 0 means GOMAXPROCS.
	Workers int
	// Logger receives structured logs from the shared layer code (such as
	// the duplicate report); nil logs warnings as JSON to Progress.
	Logger *slog.Logger
}

// Summary reports what a run did.
type Summary struct {
	AddressRows    int64 `json:"address_rows"` // CSV rows read, duplicates included
	Letters        int   `json:"letters"`      // first_letter partitions
	BallotRows     int   `json:"ballot_rows"`  // ballots CSV rows after the header
	BallotPieces   int   `json:"ballot_pieces"`
	BallotsSkipped int   `json:"ballot_rows_skipped_none"` // source_table None
	Elections      int   `json:"elections"`                // distinct election ids with a geometry

	JoinedRows      int64 `json:"joined_rows"`       // rows of the joined table
	RowsWithBallots int64 `json:"rows_with_ballots"` // joined rows with at least one ballot

	// OutputRows counts rows after de-duplication (rows of an empty outcode
	// included, though its file holds none).
	OutputRows        int64 `json:"output_rows"`
	Outcodes          int   `json:"outcodes"`
	Written           int   `json:"outcodes_written"`   // files whose bytes changed
	Unchanged         int   `json:"outcodes_unchanged"` // files left as they were
	Empty             int   `json:"outcodes_empty"`     // 0-row files
	Deleted           int   `json:"outcodes_deleted"`   // stale files removed
	DuplicatesDropped int   `json:"duplicates_dropped"` // identical duplicate rows

	Elapsed time.Duration `json:"elapsed_ns"`
}

// AddressRow is one row of addressbase_partitioned (first_letter is the
// partition folder, not a column).
type AddressRow struct {
	Outcode           string  `parquet:"outcode"`
	UPRN              string  `parquet:"uprn"`
	Address           string  `parquet:"address"`
	Postcode          string  `parquet:"postcode"`
	Longitude         float64 `parquet:"longitude"`
	Latitude          float64 `parquet:"latitude"`
	AddressbaseSource string  `parquet:"addressbase_source"`
}

// partFile is the one file written per partition, like UNLOAD's output.
const partFile = "part-00000.parquet"

// rowGroupRows bounds the rows a parquet writer buffers in memory.
const rowGroupRows = 64 * 1024

// Run bakes opts.AddressBase and opts.Ballots into opts.Out.
func Run(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	var sum Summary
	if opts.AddressBase == "" || opts.Ballots == "" || opts.Out == "" {
		return sum, errors.New("bake: AddressBase, Ballots and Out are all required")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 2 * time.Second
	}
	prog := newProgress(opts.Progress, opts.ProgressEvery)
	defer prog.stop()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(prog.w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	abPath, err := filepath.Abs(opts.AddressBase)
	if err != nil {
		return sum, fmt.Errorf("addressbase path: %w", err)
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return sum, fmt.Errorf("out path: %w", err)
	}
	if err := checkOut(out); err != nil {
		return sum, err
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return sum, fmt.Errorf("create %s: %w", parent, err)
	}
	// Stage beside Out, on the same filesystem, so publishing is a rename.
	staging, err := mkStaging(parent, "."+filepath.Base(out)+".staging-")
	if err != nil {
		return sum, fmt.Errorf("create staging folder: %w", err)
	}
	published := false
	defer func() {
		if !published {
			os.RemoveAll(staging)
		}
	}()

	// Parse the ballots first: they are small, and bad WKT should fail fast.
	prog.begin("ballots")
	ix, bst, err := ballots.IndexFile(opts.Ballots)
	if err != nil {
		return sum, fmt.Errorf("ballots: %w", err)
	}
	sum.BallotRows, sum.BallotPieces, sum.BallotsSkipped, sum.Elections = bst.Rows, bst.Pieces, bst.SkippedNone, bst.Elections
	if bst.SkippedNone > 0 {
		// Expected: EE exports ballots without a boundary with an empty
		// geometry. Counted in the summary; INFO, not a warning.
		opts.Logger.Info("ballot rows without geometry skipped", "source_table", "None", "rows", bst.SkippedNone)
	}
	prog.done(int64(bst.Rows))

	prog.begin("addressbase layer")
	source := (&url.URL{Scheme: "file", Path: abPath}).String()
	letters, csvRows, err := addressBaseLayer(ctx, abPath, source, staging, prog)
	if err != nil {
		return sum, err
	}
	sum.Letters = len(letters)
	sum.AddressRows = csvRows
	prog.done(csvRows)

	prog.begin("current elections layer")
	jst, err := joinLayer(ctx, ix, staging, letters, opts.Workers, prog)
	if err != nil {
		return sum, err
	}
	sum.JoinedRows, sum.RowsWithBallots = jst.dst.Rows, jst.withBallots
	prog.done(jst.dst.Rows)

	// Quality gates, as in the state machine, before anything is published.
	if jst.src.Rows != csvRows {
		return sum, fmt.Errorf("quality gate: %s holds %d rows, the CSV %d", AddressBaseDir, jst.src.Rows, csvRows)
	}
	if err := gates.OneSource(jst.sources); err != nil {
		return sum, fmt.Errorf("quality gate: %w", err)
	}
	if err := checkLettersDisjoint(staging, letters, jst.hashes); err != nil {
		return sum, err
	}
	if err := gates.CompareUPRNs(jst.src, jst.dst); err != nil {
		return sum, fmt.Errorf("quality gate %s vs %s: %w", AddressBaseDir, JoinedDir, err)
	}

	prog.begin("outcode split")
	if err := seed(filepath.Join(out, OutcodesDir), filepath.Join(staging, OutcodesDir)); err != nil {
		return sum, err
	}
	splitIn, err := splitLayer(ctx, staging, letters, opts.Workers, &sum, opts.Logger, prog)
	if err != nil {
		return sum, err
	}
	if err := gates.CompareUPRNs(jst.dst, splitIn); err != nil {
		return sum, fmt.Errorf("quality gate %s vs outcode split input: %w", JoinedDir, err)
	}
	prog.done(sum.OutputRows)

	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if err := publish(staging, out); err != nil {
		return sum, err
	}
	published = true
	sum.Elapsed = time.Since(start)
	prog.stop()
	prog.summary(sum)
	return sum, nil
}

// checkOut refuses to replace something that is not a previous bake output,
// so a typo such as --out ~ cannot delete a home folder.
func checkOut(out string) error {
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("out %s: %w", out, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("out %s exists and is not a folder", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("out %s: %w", out, err)
	}
	if len(ents) == 0 {
		return nil
	}
	for _, e := range ents {
		switch e.Name() {
		case AddressBaseDir, JoinedDir, OutcodesDir:
			return nil
		}
	}
	return fmt.Errorf("out %s is not empty and holds no earlier bake output; refusing to replace it", out)
}

// abBatch is a run of rows of one first letter.
type abBatch struct {
	letter string
	rows   []AddressRow
}

// addressBaseLayer streams the CSV into addressbase_partitioned/first_letter=X/
// and returns the letters (sorted) and the row count. Parsing and parquet
// encoding run in two goroutines, joined by batches.
func addressBaseLayer(ctx context.Context, path, source, staging string, prog *progress) ([]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("open addressbase: %w", err)
	}
	defer f.Close()

	batches := make(chan abBatch, 8)
	type result struct {
		letters []string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		l, err := writePartitions(filepath.Join(staging, AddressBaseDir), batches)
		done <- result{l, err}
	}()

	n, perr := parseAddressBase(ctx, f, path, source, batches, prog)
	close(batches)
	res := <-done
	if perr != nil {
		return nil, 0, perr
	}
	if res.err != nil {
		return nil, 0, res.err
	}
	return res.letters, n, nil
}

// parseAddressBase reads the CSV and sends rows in per-letter batches.
func parseAddressBase(ctx context.Context, r io.Reader, path, source string, out chan<- abBatch, prog *progress) (int64, error) {
	const batchRows = 4096
	var n int64
	pending := map[string][]AddressRow{}
	send := func(b abBatch) error {
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ar := addressbase.NewReader(bufio.NewReaderSize(r, 1<<20), path)
	for {
		rec, err := ar.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("addressbase: %w", err)
		}
		b := append(pending[rec.FirstLetter], AddressRow{
			Outcode: rec.Outcode, UPRN: rec.UPRN, Address: rec.Address, Postcode: rec.Postcode,
			Longitude: rec.Lon, Latitude: rec.Lat, AddressbaseSource: source,
		})
		if len(b) == batchRows {
			if err := send(abBatch{rec.FirstLetter, b}); err != nil {
				return n, err
			}
			b = make([]AddressRow, 0, batchRows)
		}
		pending[rec.FirstLetter] = b
		if n++; n%batchRows == 0 {
			prog.add(batchRows)
		}
	}
	for l, b := range pending {
		if len(b) > 0 {
			if err := send(abBatch{l, b}); err != nil {
				return n, err
			}
		}
	}
	prog.add(n % batchRows)
	return n, nil
}

// writePartitions writes each batch to dir/first_letter=X/part-00000.parquet
// and returns the letters, sorted. After an error it keeps draining in so
// the sender never blocks.
func writePartitions(dir string, in <-chan abBatch) ([]string, error) {
	type part struct {
		f *os.File
		w *parquet.GenericWriter[AddressRow]
	}
	parts := map[string]*part{}
	var firstErr error
	for b := range in {
		if firstErr != nil {
			continue
		}
		p := parts[b.letter]
		if p == nil {
			d := filepath.Join(dir, "first_letter="+b.letter)
			if err := os.MkdirAll(d, 0o755); err != nil {
				firstErr = fmt.Errorf("create %s: %w", d, err)
				continue
			}
			f, err := os.Create(filepath.Join(d, partFile))
			if err != nil {
				firstErr = fmt.Errorf("create partition: %w", err)
				continue
			}
			p = &part{f: f, w: parquet.NewGenericWriter[AddressRow](f,
				parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(rowGroupRows))}
			parts[b.letter] = p
		}
		if _, err := p.w.Write(b.rows); err != nil {
			firstErr = fmt.Errorf("write %s letter %s: %w", AddressBaseDir, b.letter, err)
		}
	}
	letters := make([]string, 0, len(parts))
	errs := []error{firstErr}
	for l, p := range parts {
		letters = append(letters, l)
		if err := p.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("write %s letter %s: %w", AddressBaseDir, l, err))
		}
		if err := p.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s letter %s: %w", AddressBaseDir, l, err))
		}
	}
	slices.Sort(letters)
	return letters, errors.Join(errs...)
}

type joinStats struct {
	src, dst    gates.UPRNStats // addressbase_partitioned and the joined table
	sources     map[string]int64
	withBallots int64
	// hashes holds each letter's distinct UPRNs, hashed, to find a UPRN
	// under two first letters (two postcodes) across the whole table.
	hashes []uint64
}

// joinLayer geo-joins each letter's addresses with the ballot index and
// writes current_ballots_joined_to_address_base/first_letter=X/. Letters
// run concurrently, like the state machine's per-letter Map.
func joinLayer(ctx context.Context, ix *geo.Index, staging string, letters []string, workers int, prog *progress) (joinStats, error) {
	js := joinStats{sources: map[string]int64{}}
	var mu sync.Mutex
	err := forEachLetter(ctx, letters, workers, func(l string) error {
		in := filepath.Join(staging, AddressBaseDir, "first_letter="+l, partFile)
		addrs, err := parquet.ReadFile[AddressRow](in)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		rows := make([]outcodes.Row, len(addrs))
		withBallots := geoJoin(ix, addrs, rows, workers, prog)
		src := uprnStats(len(addrs), func(i int) string { return addrs[i].UPRN })
		hashes := distinctHashes(len(addrs), func(i int) string { return addrs[i].UPRN })
		dst := uprnStats(len(rows), func(i int) string { return rows[i].UPRN })
		sources := map[string]int64{}
		for i := range rows {
			sources[rows[i].AddressbaseSource]++
		}
		if err := writeParquet(filepath.Join(staging, JoinedDir, "first_letter="+l), rows); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		js.withBallots += withBallots
		js.src, js.dst = js.src.Plus(src), js.dst.Plus(dst)
		js.hashes = append(js.hashes, hashes...)
		for s, n := range sources {
			js.sources[s] += n
		}
		return nil
	})
	return js, err
}

var uprnSeed = maphash.MakeSeed()

// distinctHashes returns the sorted, distinct hashes of n UPRNs.
func distinctHashes(n int, uprn func(i int) string) []uint64 {
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = maphash.String(uprnSeed, uprn(i))
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// checkLettersDisjoint fails when a UPRN appears under more than one first
// letter: the same address with two postcodes, a conflicting duplicate that
// the per-letter split cannot see. It runs before anything is published.
// The hashes find candidates cheaply; the letters' joined rows confirm them,
// so a hash collision never fails a bake.
func checkLettersDisjoint(staging string, letters []string, hashes []uint64) error {
	slices.Sort(hashes)
	dup := map[uint64]bool{}
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			dup[hashes[i]] = true
		}
	}
	if len(dup) == 0 {
		return nil
	}
	seenIn := map[string][]string{}
	for _, l := range letters {
		in := filepath.Join(staging, JoinedDir, "first_letter="+l, partFile)
		rows, err := parquet.ReadFile[outcodes.Row](in)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		for _, r := range rows {
			if dup[maphash.String(uprnSeed, r.UPRN)] {
				if ls := seenIn[r.UPRN]; len(ls) == 0 || ls[len(ls)-1] != l {
					seenIn[r.UPRN] = append(ls, l)
				}
			}
		}
	}
	var examples []string
	for uprn, ls := range seenIn {
		if len(ls) > 1 {
			examples = append(examples, fmt.Sprintf("%s (letters %s)", uprn, strings.Join(ls, ", ")))
		}
	}
	if len(examples) == 0 {
		return nil
	}
	slices.Sort(examples)
	n := len(examples)
	return fmt.Errorf("quality gate: %d uprns have conflicting duplicate rows under different postcodes, e.g. %s",
		n, strings.Join(examples[:min(n, 5)], "; "))
}

// uprnStats computes gates.UPRNStats for n UPRNs by sorting rather than
// with UPRNStats.Add's set, which is several times slower at millions of
// rows. A UPRN has one postcode, so per-letter stats can be summed.
func uprnStats(n int, uprn func(i int) string) gates.UPRNStats {
	ids := make([]string, n)
	var st gates.UPRNStats
	for i := range ids {
		ids[i] = uprn(i)
		st.Checksum += gates.Checksum(ids[i])
	}
	slices.Sort(ids)
	st.Rows = int64(n)
	for i := range ids {
		if i == 0 || ids[i] != ids[i-1] {
			st.Distinct++
		}
	}
	return st
}

// forEachLetter runs fn for every letter with at most n at a time, and
// returns the first error; later letters are not started after one.
func forEachLetter(ctx context.Context, letters []string, n int, fn func(letter string) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, max(n, 1))
	for _, l := range letters {
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop {
			break
		}
		if err := ctx.Err(); err != nil {
			mu.Lock()
			firstErr = cmp.Or(firstErr, err)
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(l); err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// geoJoin fills rows from addrs, in parallel over chunks, and returns how
// many rows have at least one ballot.
func geoJoin(ix *geo.Index, addrs []AddressRow, rows []outcodes.Row, workers int, prog *progress) int64 {
	const chunk = 4096
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ids []string
			var with int64
			// Neighbouring addresses mostly share a ballot set: reuse the
			// last slice rather than allocate one per row.
			var last []string
			for lo := range next {
				hi := min(lo+chunk, len(addrs))
				for i := lo; i < hi; i++ {
					a := &addrs[i]
					ids = ix.Containing(orbPoint(a.Longitude, a.Latitude), ids[:0])
					if !slices.Equal(ids, last) || last == nil {
						last = slices.Clone(ids)
						if last == nil {
							last = []string{}
						}
					}
					if len(ids) > 0 {
						with++
					}
					rows[i] = joinedRow(a, last)
				}
				prog.add(int64(hi - lo))
			}
			mu.Lock()
			total += with
			mu.Unlock()
		}()
	}
	for lo := 0; lo < len(addrs); lo += chunk {
		next <- lo
	}
	close(next)
	wg.Wait()
	return total
}

// writeParquet writes rows as dir/part-00000.parquet.
func writeParquet[T any](dir string, rows []T) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, partFile)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	w := parquet.NewGenericWriter[T](f, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(rowGroupRows))
	if _, err := w.Write(rows); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// splitLayer runs outcodes.Split per letter (concurrently), then deletes
// stale outcodes. It returns the UPRN stats of the rows Split read.
func splitLayer(ctx context.Context, staging string, letters []string, workers int, sum *Summary, log *slog.Logger, prog *progress) (gates.UPRNStats, error) {
	store := blob.NewDir(staging)
	var (
		mu   sync.Mutex
		keep []string
		in   gates.UPRNStats
	)
	err := forEachLetter(ctx, letters, workers, func(l string) error {
		res, err := outcodes.Split(ctx, outcodes.SplitInput{
			Src:       store,
			SrcPrefix: JoinedDir + "/first_letter=" + l + "/",
			Dst:       store,
			DstPrefix: OutcodesDir + "/",
			Letter:    l,
			Logger:    log,
		})
		if err != nil {
			return fmt.Errorf("split letter %s: %w", l, err)
		}
		prog.add(int64(res.Rows))
		mu.Lock()
		defer mu.Unlock()
		addSplit(sum, res)
		in = in.Plus(res.Input)
		keep = append(keep, res.Outcodes...)
		return nil
	})
	if err != nil {
		return in, err
	}
	slices.Sort(keep)
	sum.Outcodes = len(keep)
	deleted, err := outcodes.DeleteStale(ctx, store, OutcodesDir+"/", keep)
	if err != nil {
		return in, fmt.Errorf("delete stale outcodes: %w", err)
	}
	sum.Deleted = len(deleted)
	return in, nil
}
