package bake

import (
	"context"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"

	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// JoinGates collects, letter by letter, what the state machines' quality
// gates compare for a layer's joined table (one row per address of the
// source table): the UPRNs on both sides, the addressbase_source values
// and each letter's distinct UPRNs, hashed. It is safe for concurrent Add.
type JoinGates struct {
	mu       sync.Mutex
	src, dst gates.UPRNStats
	sources  map[string]int64
	// hashes holds each letter's distinct UPRNs, hashed, to find a UPRN
	// under two first letters (two postcodes) across the whole table.
	hashes []uint64
}

// Add records one letter: n source rows (srcUPRN(i) is row i's UPRN) and
// m joined rows (dst(i) is row i's UPRN and addressbase_source).
func (g *JoinGates) Add(n int, srcUPRN func(i int) string, m int, dst func(i int) (uprn, source string)) {
	src := UPRNStats(n, srcUPRN)
	hashes := distinctHashes(n, srcUPRN)
	dstStats := UPRNStats(m, func(i int) string { u, _ := dst(i); return u })
	sources := map[string]int64{}
	for i := range m {
		_, s := dst(i)
		sources[s]++
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.src, g.dst = g.src.Plus(src), g.dst.Plus(dstStats)
	g.hashes = append(g.hashes, hashes...)
	if g.sources == nil {
		g.sources = map[string]int64{}
	}
	for s, k := range sources {
		g.sources[s] += k
	}
}

// Joined is the UPRN summary of the joined rows added so far.
func (g *JoinGates) Joined() gates.UPRNStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dst
}

// CheckJoin runs the gates the state machines run on a layer's joined
// table before anything is published: the source table (source, e.g.
// addressbase_partitioned) holds every CSV row, one addressbase_source, no
// UPRN under two first letters, and the joined table (joined, a folder of
// the staging area) has the source's UPRNs.
func (j *Job) CheckJoin(g *JoinGates, source, joined string) error {
	if g.src.Rows != j.Summary.AddressRows {
		return fmt.Errorf("quality gate: %s holds %d rows, the CSV %d", source, g.src.Rows, j.Summary.AddressRows)
	}
	if err := gates.OneSource(g.sources); err != nil {
		return fmt.Errorf("quality gate: %w", err)
	}
	if err := j.checkLettersDisjoint(joined, g.hashes); err != nil {
		return err
	}
	if err := gates.CompareUPRNs(g.src, g.dst); err != nil {
		return fmt.Errorf("quality gate %s vs %s: %w", source, joined, err)
	}
	return nil
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

// uprnOnly reads just the uprn column of a joined table's file.
type uprnOnly struct {
	UPRN string `parquet:"uprn"`
}

// checkLettersDisjoint fails when a UPRN appears under more than one first
// letter: the same address with two postcodes, a conflicting duplicate that
// the per-letter split cannot see. It runs before anything is published.
// The hashes find candidates cheaply; the letters' joined rows confirm them,
// so a hash collision never fails a bake.
func (j *Job) checkLettersDisjoint(joined string, hashes []uint64) error {
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
		in := PartitionFile(filepath.Join(j.Staging, joined), l)
		rows, err := parquet.ReadFile[uprnOnly](in)
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
	var uprns []string
	for uprn, ls := range seenIn {
		if len(ls) > 1 {
			uprns = append(uprns, uprn)
		}
	}
	if len(uprns) == 0 {
		return nil
	}
	slices.Sort(uprns)
	examples := make([]string, min(len(uprns), 5))
	for i := range examples {
		examples[i] = fmt.Sprintf("%s (letters %s)", uprns[i], strings.Join(seenIn[uprns[i]], ", "))
	}
	return &LettersConflictError{UPRNs: uprns[:len(examples)], Count: len(uprns), Examples: examples}
}

// LettersConflictError is the gate's failure for UPRNs found under two
// first letters (two postcodes); UPRNs are the examples, sorted.
type LettersConflictError struct {
	UPRNs    []string
	Count    int
	Examples []string // each UPRN with its letters
}

func (e *LettersConflictError) Error() string {
	return fmt.Sprintf("quality gate: %d uprns have conflicting duplicate rows under different postcodes, e.g. %s",
		e.Count, strings.Join(e.Examples, "; "))
}

// SplitSpec names a layer's outcode split: its progress step, its joined
// table's folder, its output folder and its list column.
type SplitSpec struct {
	Step, Joined, Output, ListColumn string
}

// SplitOutcodes is a layer's last step, as in its state machine: it splits
// each letter of the joined table (a staging folder) into the per-outcode
// files of the output folder (letters concurrently), deletes stale
// outcodes, counts into sum, and checks the split read exactly the joined
// rows of g. The output folder is seeded from the previous bake first, so
// unchanged files keep their bytes.
func (j *Job) SplitOutcodes(ctx context.Context, g *JoinGates, sp SplitSpec, sum *Split) error {
	joined, output, listColumn := sp.Joined, sp.Output, sp.ListColumn
	j.Begin(sp.Step)
	if err := j.Seed(output); err != nil {
		return err
	}
	store := j.Store()
	var (
		mu   sync.Mutex
		keep []string
		in   gates.UPRNStats
	)
	err := j.ForEachLetter(ctx, func(l string) error {
		res, err := outcodes.Split(ctx, outcodes.SplitInput{
			Src:        store,
			SrcPrefix:  joined + "/first_letter=" + l + "/",
			Dst:        store,
			DstPrefix:  output + "/",
			Letter:     l,
			ListColumn: listColumn,
			Logger:     j.Logger,
		})
		if err != nil {
			return fmt.Errorf("split letter %s: %w", l, err)
		}
		j.Add(int64(res.Rows))
		mu.Lock()
		defer mu.Unlock()
		sum.add(res)
		in = in.Plus(res.Input)
		keep = append(keep, res.Outcodes...)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(keep)
	sum.Outcodes = len(keep)
	deleted, err := outcodes.DeleteStale(ctx, store, output+"/", keep)
	if err != nil {
		return fmt.Errorf("delete stale outcodes of %s: %w", output, err)
	}
	sum.Deleted = len(deleted)
	if err := gates.CompareUPRNs(g.Joined(), in); err != nil {
		return fmt.Errorf("quality gate %s vs outcode split input: %w", joined, err)
	}
	j.Done(sum.OutputRows)
	return nil
}
