package bake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

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
	hashes [][]uint64
}

// Add records one letter: n source rows (srcUPRN(i) is row i's UPRN), m
// joined rows (dst(i) is row i's UPRN and addressbase_source) and the
// letter's UPRN hashes (outcodes.Letter.UPRNHashes).
func (g *JoinGates) Add(n int, srcUPRN func(i int) string, m int, dst func(i int) (uprn, source string), hashes []uint64) {
	sources := map[string]int64{}
	for i := range m {
		_, s := dst(i)
		sources[s]++
	}
	g.AddStats(UPRNStats(n, srcUPRN), UPRNStats(m, func(i int) string { u, _ := dst(i); return u }), hashes, sources)
}

// AddStats records one letter from its stats: the source's and the joined
// rows' UPRNs, their hashes (sorted and distinct, from
// outcodes.Letter.UPRNHashes) and the joined rows' addressbase_source
// counts.
func (g *JoinGates) AddStats(src, dstStats gates.UPRNStats, hashes []uint64, sources map[string]int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.src, g.dst = g.src.Plus(src), g.dst.Plus(dstStats)
	g.hashes = append(g.hashes, hashes)
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
// UPRN under two first letters, and the joined rows have the source's
// UPRNs. uprns reads a letter's source UPRNs again, to confirm a UPRN
// found under two letters; it runs only then.
func (j *Job) CheckJoin(g *JoinGates, source, joined string, uprns func(letter string, fn func(uprn []byte)) error) error {
	if g.src.Rows != j.Summary.AddressRows {
		return fmt.Errorf("quality gate: %s holds %d rows, the CSV %d", source, g.src.Rows, j.Summary.AddressRows)
	}
	if err := gates.OneSource(g.sources); err != nil {
		return fmt.Errorf("quality gate: %w", err)
	}
	if err := j.checkLettersDisjoint(uprns, g.hashes); err != nil {
		return err
	}
	if err := gates.CompareUPRNs(g.src, g.dst); err != nil {
		return fmt.Errorf("quality gate %s vs %s: %w", source, joined, err)
	}
	return nil
}

// checkLettersDisjoint fails when a UPRN appears under more than one first
// letter: the same address with two postcodes, a conflicting duplicate that
// the per-letter split cannot see. It runs before anything is published.
// The hashes find candidates cheaply; the letters' UPRNs, read again,
// confirm them, so a hash collision never fails a bake.
func (j *Job) checkLettersDisjoint(each func(letter string, fn func(uprn []byte)) error, hashes [][]uint64) error {
	dup := repeatedAcross(hashes)
	if len(dup) == 0 {
		return nil
	}
	seenIn := map[string][]string{}
	for _, l := range j.Letters {
		err := each(l, func(u []byte) {
			if dup[outcodes.HashUPRN(u)] {
				if ls := seenIn[string(u)]; len(ls) == 0 || ls[len(ls)-1] != l {
					seenIn[string(u)] = append(ls, l)
				}
			}
		})
		if err != nil {
			return err
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

// repeatedAcross returns the values found in more than one of lists, each
// sorted and distinct. It merges the lists in pairs, so its cost is the
// values times log2 of the lists, not a sort of all of them.
func repeatedAcross(lists [][]uint64) map[uint64]bool {
	dup := map[uint64]bool{}
	for len(lists) > 1 {
		var next [][]uint64
		for i := 0; i < len(lists); i += 2 {
			if i+1 == len(lists) {
				next = append(next, lists[i])
				continue
			}
			a, b := lists[i], lists[i+1]
			m := make([]uint64, 0, len(a)+len(b))
			for len(a) > 0 && len(b) > 0 {
				switch {
				case a[0] < b[0]:
					m, a = append(m, a[0]), a[1:]
				case a[0] > b[0]:
					m, b = append(m, b[0]), b[1:]
				default:
					dup[a[0]] = true
					m, a, b = append(m, a[0]), a[1:], b[1:]
				}
			}
			next = append(next, append(append(m, a...), b...))
		}
		lists = next
	}
	return dup
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

// SplitSpec names a layer's outcode split: its output folder and its list
// column.
type SplitSpec struct {
	Output, ListColumn string
}

// Splitter is a layer's last step, as in its state machine: each letter's
// joined rows (an outcodes.Letter) are split into the per-outcode files of
// the output folder, then Finish deletes stale outcodes and checks the
// split against the join. Letters may be split concurrently.
type Splitter struct {
	j   *Job
	sp  SplitSpec
	sum *Split

	mu    sync.Mutex
	keep  []string
	in    gates.UPRNStats
	files map[string]outcodes.FileStats
}

// NewSplitter starts a layer's split, counting into sum. The output folder
// is seeded from the previous bake first, so unchanged files keep their
// bytes.
func (j *Job) NewSplitter(sp SplitSpec, sum *Split) (*Splitter, error) {
	if err := j.Seed(sp.Output); err != nil {
		return nil, err
	}
	return &Splitter{j: j, sp: sp, sum: sum, files: map[string]outcodes.FileStats{}}, nil
}

// NewLetter returns an empty letter for the layer's join to fill, keeping
// the UPRN hashes JoinGates needs.
func (s *Splitter) NewLetter(letter string) (*outcodes.Letter, error) {
	l, err := outcodes.NewLetter(letter, s.sp.ListColumn)
	if err != nil {
		return nil, err
	}
	l.KeepUPRNHashes()
	return l, nil
}

// Letter writes one letter's outcode files.
func (s *Splitter) Letter(ctx context.Context, l *outcodes.Letter, letter string) (outcodes.Result, error) {
	res, err := l.Write(ctx, outcodes.SplitInput{
		Dst:        s.j.Store(),
		DstPrefix:  s.sp.Output + "/",
		Letter:     letter,
		ListColumn: s.sp.ListColumn,
		Logger:     s.j.Logger,
	})
	if err != nil {
		return res, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sum.add(res)
	s.in = s.in.Plus(res.Input)
	s.keep = append(s.keep, res.Outcodes...)
	maps.Copy(s.files, res.Stats.Outcodes)
	return res, nil
}

// Finish deletes the outcodes no letter wrote, checks that the split read
// exactly the joined rows g recorded, and keeps the files' stats for the
// product's manifest.
func (s *Splitter) Finish(ctx context.Context, g *JoinGates) error {
	j, output := s.j, s.sp.Output
	slices.Sort(s.keep)
	s.sum.Outcodes = len(s.keep)
	deleted, err := outcodes.DeleteStale(ctx, j.Store(), output+"/", s.keep)
	if err != nil {
		return fmt.Errorf("delete stale outcodes of %s: %w", output, err)
	}
	s.sum.Deleted = len(deleted)
	if err := gates.CompareUPRNs(g.Joined(), s.in); err != nil {
		return fmt.Errorf("quality gate: joined rows vs outcode split input: %w", err)
	}
	if j.files == nil {
		j.files = map[string]map[string]outcodes.FileStats{}
	}
	j.files[output] = s.files
	return nil
}
