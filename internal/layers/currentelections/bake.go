package currentelections

import (
	"context"
	"fmt"
	"sync"

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

	sp, err := j.NewSplitter(bake.SplitSpec{Output: OutputFolder, ListColumn: ListColumn}, &sum.Split)
	if err != nil {
		return err
	}
	g, err := j.NewJoinGates(JoinedName)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	err = j.ForEachLetter(ctx, func(l string) error {
		st, err := joinLetter(ctx, ix, j, l, sp, g)
		if err != nil {
			return addressbase.NameConflictLines(j, err)
		}
		mu.Lock()
		defer mu.Unlock()
		sum.JoinedRows += st.rows
		sum.RowsWithBallots += st.withBallots
		return nil
	})
	if err != nil {
		return err
	}
	j.Done(sum.JoinedRows)
	// Quality gates, as in the state machine, before anything is published.
	if err := j.CheckJoin(g, addressbase.PartitionedName, JoinedName, addressbase.EachUPRN(j)); err != nil {
		return addressbase.NameConflictLines(j, err)
	}
	return sp.Finish(ctx, g)
}

type letterStats struct {
	rows, withBallots int64
}

// joinLetter geo-joins one letter's addresses with the ballot index as
// they are read, straight into the letter's outcode split (and with
// --keep-intermediate into current_ballots_joined_to_address_base), and
// records the letter in g. Letters run concurrently, like the state
// machine's per-letter Map; each address gives exactly one joined row.
func joinLetter(ctx context.Context, ix *geo.Index, j *bake.Job, l string, sp *bake.Splitter, g *bake.JoinGates) (letterStats, error) {
	var st letterStats
	lt, err := sp.NewLetter(l)
	if err != nil {
		return st, err
	}
	source := addressbase.Source(j)
	src := []byte(source)
	tw, err := bake.NewPartitionWriter[outcodes.Row](j.TableDir(JoinedName), l)
	if err != nil {
		return st, err
	}
	var (
		ids     []string
		uprns   gates.UPRNStats
		pending int64
	)
	_, err = addressbase.EachAddress(j, l, func(a *addressbase.Address) error {
		ids = ix.Containing(orb.Point{a.Lon, a.Lat}, ids[:0])
		if len(ids) > 0 {
			st.withBallots++
		}
		if err := lt.AddIDs(a.UPRN, a.Address, a.Postcode, ids, src); err != nil {
			return fmt.Errorf("%s letter %s row %d %w", JoinedName, l, st.rows+1, err)
		}
		uprns.Checksum += gates.ChecksumBytes(a.UPRN)
		st.rows++
		if pending++; pending == 4096 {
			j.Add(pending)
			pending = 0
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if tw == nil {
			return nil // the table is not kept: build no row for it
		}
		return tw.Add(outcodes.Row{UPRN: string(a.UPRN), Address: string(a.Address), Postcode: string(a.Postcode),
			AddressbaseSource: source, BallotIDs: append([]string{}, ids...)})
	})
	j.Add(pending)
	if err != nil {
		tw.Close()
		return st, err
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	res, err := sp.Letter(ctx, lt, l)
	if err != nil {
		return st, err
	}
	// The source side is the letter as the CSV gave it, the joined side
	// the rows read back from the spill and joined: the gates compare
	// their rows and checksums. The split's de-duplication counted the
	// distinct UPRNs (a duplicate is either identical and dropped or a
	// conflict, which failed above); the bake counts them once.
	csv := j.LetterUPRNs[l]
	uprns.Rows = st.rows
	csv.Distinct, uprns.Distinct = res.Input.Distinct, res.Input.Distinct
	return st, g.AddStats(l, csv, uprns, lt.UPRNHashes(), map[string]int64{source: st.rows})
}
