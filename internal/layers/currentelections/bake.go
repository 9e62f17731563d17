package currentelections

import (
	"context"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/paulmach/orb"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/ballots"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/geo"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// JoinedName is the joined table's name, and its folder.
const JoinedName = "current_ballots_joined_to_address_base"

// BallotsInput is the bake's flag for EE's current ballots CSV.
const BallotsInput = "ballots"

// Bake is the layer's local engine: the geo-join per letter, the quality
// gates, the outcode split and the stale deletion, with the same code as
// the cloud path's Lambdas where there is one.
var Bake = bake.Layer{
	Name:    "current elections layer",
	Inputs:  []bake.Input{{Flag: BallotsInput, Usage: "EE current ballots `csv` (with header row)", Required: true}},
	Folders: []string{JoinedName, OutputFolder},
	Bake:    bakeLayer,
	Product: &bake.OutcodeFiles{
		Dir: OutputFolder, Column: ListColumn, Heading: "BALLOT IDS", None: "no elections",
		Output: OutputLocation, Required: true,
		Source: func(s bake.Summary) manifest.Source {
			// InvalidPieces: the input validation's count of pieces that
			// are not OGC-valid goes here once it reports one.
			return manifest.Source{UPRNs: s.OutputRows, Areas: s.Elections, Pieces: s.BallotPieces}
		},
	},
}

func bakeLayer(ctx context.Context, j *bake.Job) error {
	// The ballots are small: parse them before the join, so bad WKT fails fast.
	ix, bst, err := ballots.IndexFile(j.Input(BallotsInput))
	if err != nil {
		return fmt.Errorf("ballots: %w", err)
	}
	sum := &j.Summary
	sum.BallotRows, sum.BallotPieces, sum.BallotsSkipped, sum.Elections = bst.Rows, bst.Pieces, bst.SkippedNone, bst.Elections
	if bst.SkippedNone > 0 {
		// Expected: EE exports ballots without a boundary with an empty
		// geometry. Counted in the summary; INFO, not a warning.
		j.Logger.Info("ballot rows without geometry skipped", "source_table", "None", "rows", bst.SkippedNone)
	}

	jst, err := joinLayer(ctx, ix, j)
	if err != nil {
		return err
	}
	sum.JoinedRows, sum.RowsWithBallots = jst.dst.Rows, jst.withBallots
	j.Done(jst.dst.Rows)

	// Quality gates, as in the state machine, before anything is published.
	if jst.src.Rows != sum.AddressRows {
		return fmt.Errorf("quality gate: %s holds %d rows, the CSV %d", addressbase.PartitionedName, jst.src.Rows, sum.AddressRows)
	}
	if err := gates.OneSource(jst.sources); err != nil {
		return fmt.Errorf("quality gate: %w", err)
	}
	if err := checkLettersDisjoint(j, jst.hashes); err != nil {
		return err
	}
	if err := gates.CompareUPRNs(jst.src, jst.dst); err != nil {
		return fmt.Errorf("quality gate %s vs %s: %w", addressbase.PartitionedName, JoinedName, err)
	}

	j.Begin("outcode split")
	if err := j.Seed(OutputFolder); err != nil {
		return err
	}
	splitIn, err := splitLayer(ctx, j)
	if err != nil {
		return err
	}
	if err := gates.CompareUPRNs(jst.dst, splitIn); err != nil {
		return fmt.Errorf("quality gate %s vs outcode split input: %w", JoinedName, err)
	}
	j.Done(sum.OutputRows)
	return nil
}

// joinedRow is the joined table's row for address a; ids is sorted,
// distinct and non-nil.
func joinedRow(a *addressbase.Row, ids []string) outcodes.Row {
	return outcodes.Row{
		UPRN:              a.UPRN,
		Address:           a.Address,
		Postcode:          a.Postcode,
		AddressbaseSource: a.AddressbaseSource,
		BallotIDs:         ids,
	}
}

// addSplit adds one letter's Split result to the summary.
func addSplit(sum *bake.Summary, r outcodes.Result) {
	sum.Written += r.Written
	sum.Unchanged += r.Unchanged
	sum.Empty += r.Empty
	sum.DuplicatesDropped += r.DuplicatesDropped
	sum.OutputRows += int64(r.Rows)
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
func joinLayer(ctx context.Context, ix *geo.Index, j *bake.Job) (joinStats, error) {
	js := joinStats{sources: map[string]int64{}}
	var mu sync.Mutex
	err := j.ForEachLetter(ctx, func(l string) error {
		in := bake.PartitionFile(filepath.Join(j.Staging, addressbase.PartitionedName), l)
		addrs, err := parquet.ReadFile[addressbase.Row](in)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		rows := make([]outcodes.Row, len(addrs))
		withBallots := geoJoin(ix, addrs, rows, j)
		src := bake.UPRNStats(len(addrs), func(i int) string { return addrs[i].UPRN })
		hashes := distinctHashes(len(addrs), func(i int) string { return addrs[i].UPRN })
		dst := bake.UPRNStats(len(rows), func(i int) string { return rows[i].UPRN })
		sources := map[string]int64{}
		for i := range rows {
			sources[rows[i].AddressbaseSource]++
		}
		if err := bake.WritePartition(filepath.Join(j.Staging, JoinedName), l, rows); err != nil {
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
func checkLettersDisjoint(j *bake.Job, hashes []uint64) error {
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
	for _, l := range j.Letters {
		in := bake.PartitionFile(filepath.Join(j.Staging, JoinedName), l)
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

// geoJoin fills rows from addrs, in parallel over chunks, and returns how
// many rows have at least one ballot.
func geoJoin(ix *geo.Index, addrs []addressbase.Row, rows []outcodes.Row, j *bake.Job) int64 {
	const chunk = 4096
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	for w := 0; w < j.Workers; w++ {
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
					ids = ix.Containing(orb.Point{a.Longitude, a.Latitude}, ids[:0])
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
				j.Add(int64(hi - lo))
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

// splitLayer runs outcodes.Split per letter (concurrently), then deletes
// stale outcodes. It returns the UPRN stats of the rows Split read.
func splitLayer(ctx context.Context, j *bake.Job) (gates.UPRNStats, error) {
	store, sum := j.Store(), &j.Summary
	var (
		mu   sync.Mutex
		keep []string
		in   gates.UPRNStats
	)
	err := j.ForEachLetter(ctx, func(l string) error {
		res, err := outcodes.Split(ctx, outcodes.SplitInput{
			Src:        store,
			SrcPrefix:  JoinedName + "/first_letter=" + l + "/",
			Dst:        store,
			DstPrefix:  OutputFolder + "/",
			Letter:     l,
			ListColumn: ListColumn,
			Logger:     j.Logger,
		})
		if err != nil {
			return fmt.Errorf("split letter %s: %w", l, err)
		}
		j.Add(int64(res.Rows))
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
	deleted, err := outcodes.DeleteStale(ctx, store, OutputFolder+"/", keep)
	if err != nil {
		return in, fmt.Errorf("delete stale outcodes: %w", err)
	}
	sum.Deleted = len(deleted)
	return in, nil
}
