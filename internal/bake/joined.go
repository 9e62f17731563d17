package bake

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// JoinGates collects, letter by letter, what the state machines' quality
// gates compare for a layer's joined table (one row per address of the
// source table): the UPRNs on both sides, the addressbase_source values
// and each letter's distinct UPRNs, hashed. The hashes go to scratch
// files, so memory does not grow with the addresses. It is safe for
// concurrent Add.
type JoinGates struct {
	dir      string
	mu       sync.Mutex
	src, dst gates.UPRNStats
	sources  map[string]int64
	// hashFiles hold each letter's distinct UPRNs, hashed and sorted, to
	// find a UPRN under two first letters (two postcodes).
	hashFiles []string
}

// NewJoinGates returns the gates of one layer's join, name naming its
// scratch folder.
func (j *Job) NewJoinGates(name string) (*JoinGates, error) {
	dir := filepath.Join(j.Scratch(), name+"-uprn-hashes")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return &JoinGates{dir: dir, sources: map[string]int64{}}, nil
}

// Add records one letter: n source rows (srcUPRN(i) is row i's UPRN), m
// joined rows (dst(i) is row i's UPRN and addressbase_source) and the
// letter's UPRN hashes (outcodes.Letter.UPRNHashes).
func (g *JoinGates) Add(letter string, n int, srcUPRN func(i int) string, m int, dst func(i int) (uprn, source string), hashes []uint64) error {
	sources := map[string]int64{}
	for i := range m {
		_, s := dst(i)
		sources[s]++
	}
	return g.AddStats(letter, UPRNStats(n, srcUPRN), UPRNStats(m, func(i int) string { u, _ := dst(i); return u }), hashes, sources)
}

// AddStats records one letter from its stats: the source's and the joined
// rows' UPRNs, their hashes (sorted and distinct, from
// outcodes.Letter.UPRNHashes) and the joined rows' addressbase_source
// counts.
func (g *JoinGates) AddStats(letter string, src, dstStats gates.UPRNStats, hashes []uint64, sources map[string]int64) error {
	path := filepath.Join(g.dir, letter+".bin")
	if err := writeHashes(path, hashes); err != nil {
		return fmt.Errorf("uprn hashes of letter %s: %w", letter, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.src, g.dst = g.src.Plus(src), g.dst.Plus(dstStats)
	g.hashFiles = append(g.hashFiles, path)
	for s, k := range sources {
		g.sources[s] += k
	}
	return nil
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
	if err := j.checkLettersDisjoint(uprns, g.hashFiles); err != nil {
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
func (j *Job) checkLettersDisjoint(each func(letter string, fn func(uprn []byte)) error, hashFiles []string) error {
	dup, err := repeatedAcross(hashFiles)
	if err != nil {
		return fmt.Errorf("quality gate: uprns under two letters: %w", err)
	}
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

// writeHashes writes sorted hashes as little-endian uint64s.
func writeHashes(path string, hashes []uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	var b [8]byte
	for _, h := range hashes {
		binary.LittleEndian.PutUint64(b[:], h)
		w.Write(b[:]) // a write error is kept by w and returned by Flush
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hashStream reads one file of writeHashes.
type hashStream struct {
	r   *bufio.Reader
	f   *os.File
	cur uint64
}

func (s *hashStream) next() (bool, error) {
	var b [8]byte
	if _, err := io.ReadFull(s.r, b[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("read %s: %w", s.f.Name(), err)
	}
	s.cur = binary.LittleEndian.Uint64(b[:])
	return true, nil
}

// hashHeap orders streams by their current hash.
type hashHeap []*hashStream

func (h hashHeap) Len() int           { return len(h) }
func (h hashHeap) Less(i, j int) bool { return h[i].cur < h[j].cur }
func (h hashHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hashHeap) Push(x any)        { *h = append(*h, x.(*hashStream)) }
func (h *hashHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// repeatedAcross returns the hashes found in more than one of the files,
// each sorted and distinct, merging them as streams: memory holds one
// buffer per file, not the hashes.
func repeatedAcross(files []string) (map[uint64]bool, error) {
	var h hashHeap
	defer func() {
		for _, s := range h {
			s.f.Close()
		}
	}()
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		s := &hashStream{f: f, r: bufio.NewReaderSize(f, 64<<10)}
		ok, err := s.next()
		if err != nil {
			f.Close()
			return nil, err
		}
		if !ok {
			f.Close()
			continue
		}
		h = append(h, s)
	}
	heap.Init(&h)
	dup := map[uint64]bool{}
	var last uint64
	first := true
	for len(h) > 0 {
		s := h[0]
		if !first && s.cur == last {
			dup[last] = true
		}
		last, first = s.cur, false
		ok, err := s.next()
		if err != nil {
			return nil, err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			s.f.Close()
			heap.Pop(&h)
		}
	}
	return dup, nil
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
		Stats:      true,
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
