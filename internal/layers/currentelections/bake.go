package currentelections

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/paulmach/orb"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/ballots"
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
			return manifest.Source{UPRNs: s.OutputRows, Areas: s.Elections, Pieces: s.BallotPieces, InvalidPieces: len(s.InvalidPieces), Invalid: s.InvalidPieces}
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
	sum.InvalidPieces = bst.Invalid
	for _, iv := range bst.Invalid {
		// Not fatal (the contract: used as given, reported), but an
		// operator should see it.
		j.Logger.Warn("ballot piece is not OGC-valid; used as given", "file", iv.File, "line", iv.Line, "election_id", iv.ID, "reason", iv.Reason)
	}
	if bst.SkippedNone > 0 {
		// Expected: EE exports ballots without a boundary with an empty
		// geometry. Counted in the summary; INFO, not a warning.
		j.Logger.Info("ballot rows without geometry skipped", "source_table", "None", "rows", bst.SkippedNone)
	}

	jst, err := joinLayer(ctx, ix, j)
	if err != nil {
		return err
	}
	sum.JoinedRows, sum.RowsWithBallots = jst.joinedRows, jst.withBallots
	j.Done(jst.joinedRows)

	// Quality gates, as in the state machine, before anything is published.
	if err := j.CheckJoin(&jst.gates, addressbase.PartitionedName, JoinedName); err != nil {
		return addressbase.NameConflictLines(j, err)
	}
	return addressbase.NameConflictLines(j, j.SplitOutcodes(ctx, &jst.gates, bake.SplitSpec{
		Step: "outcode split", Joined: JoinedName, Output: OutputFolder, ListColumn: ListColumn,
	}, &sum.Split))
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

type joinStats struct {
	gates       bake.JoinGates
	joinedRows  int64
	withBallots int64
}

// joinLayer geo-joins each letter's addresses with the ballot index and
// writes current_ballots_joined_to_address_base/first_letter=X/. Letters
// run concurrently, like the state machine's per-letter Map.
func joinLayer(ctx context.Context, ix *geo.Index, j *bake.Job) (*joinStats, error) {
	js := &joinStats{}
	var mu sync.Mutex
	err := j.ForEachLetter(ctx, func(l string) error {
		in := bake.PartitionFile(filepath.Join(j.Staging, addressbase.PartitionedName), l)
		addrs, err := parquet.ReadFile[addressbase.Row](in)
		if err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		rows := make([]outcodes.Row, len(addrs))
		withBallots := geoJoin(ix, addrs, rows, j)
		js.gates.Add(len(addrs), func(i int) string { return addrs[i].UPRN },
			len(rows), func(i int) (string, string) { return rows[i].UPRN, rows[i].AddressbaseSource })
		if err := bake.WritePartition(filepath.Join(j.Staging, JoinedName), l, rows); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		js.withBallots += withBallots
		js.joinedRows += int64(len(rows))
		return nil
	})
	return js, err
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
