package outcodes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/parquet-go/parquet-go"
)

// exampleLimit is how many example UPRNs a duplicate report names.
const exampleLimit = 5

// Split reads every parquet object under in.SrcPrefix, checks and
// de-duplicates the rows, and writes one file per outcode, sorted by
// postcode then uprn, to in.Dst. Nothing is written unless all input was
// read and passed the checks (one addressbase_source, no conflicting
// duplicate UPRNs, well-formed postcodes of the right letter). Files that
// already hold identical bytes are not rewritten, so a retry is harmless.
func Split(ctx context.Context, in SplitInput) (Result, error) {
	l, err := NewLetter(in.Letter, in.ListColumn)
	if err == nil {
		err = checkDstPrefix(in)
	}
	if err != nil {
		return Result{Letter: in.Letter, Outcodes: []string{}}, err
	}
	start := time.Now()
	objs, err := in.Src.List(ctx, in.SrcPrefix)
	if err != nil {
		return Result{Letter: in.Letter, Outcodes: []string{}}, fmt.Errorf("split letter %s: %w", in.Letter, err)
	}
	files := 0
	for _, o := range objs {
		if !isDataObject(o) {
			continue
		}
		files++
		if err := readObject(ctx, in.Src, o.Key, l); err != nil {
			return Result{Letter: in.Letter, Outcodes: []string{}}, fmt.Errorf("split letter %s: %w", in.Letter, err)
		}
	}
	if l.t.len() == 0 {
		// Athena writes no partition for a letter without rows. An empty
		// result deletes nothing by itself: publish_outcodes refuses to
		// run when no letter reports any outcode.
		logger(in).Warn("no input rows for letter", "letter", in.Letter, "prefix", in.SrcPrefix, "objects", len(objs))
	}
	return l.write(ctx, in, start, "files_read", files)
}

// Letter is one first letter's rows on their way to outcode files, held
// compactly (see table). Split fills it from a joined table's parquet
// objects; the local bake fills it from its join, with no file between.
type Letter struct {
	letter, listColumn string
	t                  *table
	items              [][]byte // scratch for AddIDs
}

// NewLetter returns an empty Letter for one first letter and list column.
func NewLetter(letter, listColumn string) (*Letter, error) {
	if letter == "" {
		return nil, fmt.Errorf("split: empty letter")
	}
	if err := CheckListColumn(listColumn); err != nil {
		return nil, fmt.Errorf("split letter %s: %w", letter, err)
	}
	return &Letter{letter: letter, listColumn: listColumn, t: newTable()}, nil
}

// Add checks one joined row as the split checks a joined table's rows
// and keeps it. items are the row's list, in the order its layer sorts
// it; repeats are dropped. The error starts with "field <name>".
func (l *Letter) Add(uprn, address, postcode []byte, items [][]byte, source []byte) error {
	if err := checkRow(uprn, postcode, l.letter); err != nil {
		return err
	}
	// The list keeps the joined table's order: each layer's query sorts
	// it as its contract says (ballot_ids by id, boundary_reviews by
	// boundary_review_id, which a byte sort would break: "12" < "7").
	items = slices.CompactFunc(items, bytes.Equal)
	l.t.add(uprn, address, postcode, items, source)
	return nil
}

// AddIDs is Add with the list as strings.
func (l *Letter) AddIDs(uprn, address, postcode []byte, ids []string, source []byte) error {
	l.items = l.items[:0]
	for _, id := range ids {
		l.items = append(l.items, unsafe.Slice(unsafe.StringData(id), len(id))) // read only: add copies what it keeps
	}
	return l.Add(uprn, address, postcode, l.items, source)
}

// KeepUPRNHashes makes Write keep UPRNHashes, at 8 bytes a row (the
// outcode Lambda has no use for them).
func (l *Letter) KeepUPRNHashes() { l.t.keepHashes = true }

// UPRNHashes are the letter's distinct UPRNs hashed with HashUPRN, sorted,
// once it is written if KeepUPRNHashes was called.
func (l *Letter) UPRNHashes() []uint64 { return l.t.hashes }

// Write writes the letter's rows as Split does, to in.Dst under
// in.DstPrefix (in's Src and SrcPrefix are not used), and returns the
// result with the written files' stats.
func (l *Letter) Write(ctx context.Context, in SplitInput) (Result, error) {
	if in.Letter != l.letter || in.ListColumn != l.listColumn {
		return Result{Letter: in.Letter, Outcodes: []string{}}, fmt.Errorf("split letter %s (%s): written as letter %s (%s)", l.letter, l.listColumn, in.Letter, in.ListColumn)
	}
	return l.write(ctx, in, time.Now(), "rows_added", l.t.len())
}

// checkDstPrefix refuses a destination prefix that is not a folder.
func checkDstPrefix(in SplitInput) error {
	if in.DstPrefix != "" && !strings.HasSuffix(in.DstPrefix, "/") {
		return fmt.Errorf("split letter %s: destination prefix %q must end with /", in.Letter, in.DstPrefix)
	}
	return nil
}

func logger(in SplitInput) *slog.Logger {
	if in.Logger == nil {
		return slog.Default()
	}
	return in.Logger
}

// write checks, de-duplicates, sorts and writes the letter's rows.
func (l *Letter) write(ctx context.Context, in SplitInput, start time.Time, readKey string, read int) (Result, error) {
	log := logger(in)
	t := l.t
	res := Result{Letter: in.Letter, Outcodes: []string{}}
	if err := checkDstPrefix(in); err != nil {
		return res, err
	}
	if t.len() == 0 {
		return res, nil
	}
	if err := gates.OneSource(t.sources); err != nil {
		return res, fmt.Errorf("split letter %s: %w", in.Letter, err)
	}
	for s := range t.sources {
		res.AddressbaseSource = s
	}

	drop, dropped, examples, err := dedupe(t, in.Letter)
	if err != nil {
		return res, err
	}
	res.Rows = t.len() - dropped
	res.Input = gates.UPRNStats{Rows: int64(t.len()), Distinct: int64(res.Rows), Checksum: t.checksum}
	res.DuplicatesDropped = dropped
	if dropped > 0 {
		// An expected condition of the input, not a failure: the contract
		// says identical duplicates are dropped and reported, and the run
		// goes on. WARN, so an operator still sees it.
		log.Warn("identical duplicate uprns dropped", "letter", in.Letter, "count", dropped, "examples", examples)
	}
	idx, runs := t.postcodeOrder(drop)
	readDone := time.Now()

	// Everything is valid: encode each outcode and upload it, a few at a
	// time, while the next one is encoded. Runs are in postcode order, so
	// each outcode's runs are adjacent ("AB1 " sorts before "AB10 ").
	conc := in.Concurrency
	if conc <= 0 {
		conc = 8
	}
	up := newUploader(ctx, in.Dst, conc)
	enc := newEncoder(t, in.ListColumn)
	res.Stats = LetterStats{Letter: in.Letter, Outcodes: map[string]FileStats{}}
	for lo := 0; lo < len(runs); {
		oc := outcodeOf(runs[lo].postcode)
		hi := lo + 1
		for hi < len(runs) && outcodeOf(runs[hi].postcode) == oc {
			hi++
		}
		data, empty, err := enc.encode(idx[runs[lo].lo:runs[hi-1].hi], oc, res.AddressbaseSource)
		if err != nil {
			_, _, _ = up.wait() // the encode error is the one to report
			return res, fmt.Errorf("split letter %s: encode %s: %w", in.Letter, oc, err)
		}
		res.Outcodes = append(res.Outcodes, oc)
		if empty {
			res.Empty++
		}
		if in.Stats || in.StatsKey != "" {
			res.Stats.Outcodes[oc] = StatsOf(data, enc.rows)
		}
		if !up.put(FileKey(in.DstPrefix, oc), data) {
			break // an upload failed; wait reports it
		}
		lo = hi
	}
	written, unchanged, err := up.wait()
	res.Written, res.Unchanged = written, unchanged
	if err != nil {
		return res, fmt.Errorf("split letter %s: %w", in.Letter, err)
	}
	if in.StatsKey != "" {
		b, err := json.Marshal(res.Stats)
		if err != nil {
			return res, fmt.Errorf("split letter %s: stats: %w", in.Letter, err)
		}
		if _, err := in.Dst.Put(ctx, in.StatsKey, b); err != nil {
			return res, fmt.Errorf("split letter %s: write %s: %w", in.Letter, in.StatsKey, err)
		}
	}
	log.Info("split letter", "letter", in.Letter, readKey, read, "rows", res.Rows,
		"duplicates_dropped", res.DuplicatesDropped, "outcodes", len(res.Outcodes),
		"written", res.Written, "unchanged", res.Unchanged, "empty", res.Empty,
		"read_ms", readDone.Sub(start).Milliseconds(), "write_ms", time.Since(readDone).Milliseconds())
	return res, nil
}

// dedupe marks identical copies of an earlier row in a bitset and returns
// how many it marked, with a few of their UPRNs. Conflicting duplicates
// (same UPRN, different data) are an error naming the count and examples.
// Only counts and examples are kept, so even a letter written twice (every
// row duplicated) costs one bit per row.
func dedupe(t *table, letter string) (drop bitset, dropped int, examples []string, err error) {
	cand := t.duplicateCandidates()
	drop = newBitset(t.len())
	var conflicts []string
	nConflicts := 0
	for lo := 0; lo < len(cand); {
		first := cand[lo]
		u := t.uprn(first)
		hi := lo + 1
		conflict := false
		for ; hi < len(cand) && bytes.Equal(t.uprn(cand[hi]), u); hi++ {
			if t.sameRow(first, cand[hi]) {
				drop.set(cand[hi])
				dropped++
			} else {
				conflict = true
			}
		}
		switch {
		case conflict:
			nConflicts++
			if len(conflicts) < exampleLimit {
				conflicts = append(conflicts, string(u))
			}
		case hi-lo > 1 && len(examples) < exampleLimit:
			examples = append(examples, string(u))
		}
		lo = hi
	}
	if nConflicts > 0 {
		return nil, 0, nil, &ConflictError{Letter: letter, Count: nConflicts, Examples: conflicts}
	}
	return drop, dropped, examples, nil
}

// ConflictError is a letter's conflicting duplicates: UPRNs with two
// different rows. The local bake adds the CSV lines of the examples.
type ConflictError struct {
	Letter   string
	Count    int
	Examples []string // up to exampleLimit UPRNs, sorted
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("split letter %s: %d uprns have conflicting duplicate rows (same uprn, different data), e.g. %s; nothing was written",
		e.Letter, e.Count, strings.Join(e.Examples, ", "))
}

// writerOptions are fixed so identical rows give identical bytes:
// created_by does not carry the library's build, and no timestamps exist.
// zstd rather than Snappy: klauspost's Snappy encoder emits different bytes
// from its amd64 assembly and its pure-Go path (used on arm64, where the
// Lambdas run), so golden bytes and the local engine would disagree with
// the Lambdas; its zstd encoder gives the same bytes on both (checked with
// -tags noasm), and files are ~30% smaller. polars reads zstd.
func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Zstd),
		parquet.CreatedBy("dc-data-baker", "1", "outcodes"),
		parquet.DataPageStatistics(false),
	}
}

// encoder turns one outcode's rows into parquet bytes, reusing buffers.
type encoder struct {
	t          *table
	listColumn string
	rows       []OutRow
}

func newEncoder(t *table, listColumn string) *encoder { return &encoder{t: t, listColumn: listColumn} }

// encode returns the outcode's file. If every row's list is empty, the
// file is empty (0 rows, full schema): consumers read that as "nothing
// here", e.g. no elections.
func (e *encoder) encode(idx []uint32, outcode, source string) ([]byte, bool, error) {
	hasItems := false
	for _, i := range idx {
		if e.t.lists[i] != 0 {
			hasItems = true
			break
		}
	}
	e.rows = e.rows[:0]
	if hasItems {
		for _, i := range idx {
			u, a := e.t.fields(i)
			e.rows = append(e.rows, OutRow{
				UPRN:              string(u),
				Address:           string(a),
				Postcode:          e.t.postcodes[e.t.pcIDs[i]],
				AddressbaseSource: source,
				List:              e.t.sets[e.t.lists[i]],
				Outcode:           outcode,
			})
		}
	}
	data, err := EncodeRows(e.listColumn, e.rows)
	return data, !hasItems, err
}

// EncodeRows writes rows as one <OUTCODE>.parquet file with the contract's
// schema, the list column named listColumn, and fixed writer options
// (zstd, fixed created_by), so the same rows always give the same bytes.
// Nil lists are written as [].
func EncodeRows(listColumn string, rows []OutRow) ([]byte, error) {
	if err := CheckListColumn(listColumn); err != nil {
		return nil, fmt.Errorf("encode rows: %w", err)
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[OutRow](&buf, append(writerOptions(), ListColumnOption(listColumn))...)
	for i := range rows {
		if rows[i].List == nil {
			rows[i].List = []string{}
		}
	}
	if _, err := w.Write(rows); err != nil {
		return nil, fmt.Errorf("write rows: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("close parquet writer: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeRows reads an <OUTCODE>.parquet file written with listColumn as
// its list column. A file without that column is an error, not a file of
// empty lists.
func DecodeRows(listColumn string, data []byte) ([]OutRow, error) {
	if err := CheckListColumn(listColumn); err != nil {
		return nil, fmt.Errorf("decode rows: %w", err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("open parquet: %w", err)
	}
	if _, ok := f.Schema().Lookup(listColumn, "list", "element"); !ok {
		return nil, fmt.Errorf("decode rows: no list column %q", listColumn)
	}
	r := parquet.NewGenericReader[OutRow](f, ListColumnOption(listColumn))
	defer r.Close()
	rows := make([]OutRow, f.NumRows())
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read rows: %w", err)
	}
	if n != len(rows) {
		return nil, fmt.Errorf("read %d of %d rows", n, len(rows))
	}
	return rows, nil
}

// uploader puts files with bounded concurrency and stops at the first error.
type uploader struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	dst    blob.Store
	sem    chan struct{}
	wg     sync.WaitGroup

	mu                 sync.Mutex
	written, unchanged int
	err                error
}

func newUploader(parent context.Context, dst blob.Store, n int) *uploader {
	ctx, cancel := context.WithCancel(parent)
	return &uploader{parent: parent, ctx: ctx, cancel: cancel, dst: dst, sem: make(chan struct{}, n)}
}

// put starts an upload; it returns false once an upload has failed.
func (u *uploader) put(key string, data []byte) bool {
	select {
	case u.sem <- struct{}{}:
	case <-u.ctx.Done():
		return false
	}
	u.wg.Add(1)
	go func() {
		defer func() { <-u.sem; u.wg.Done() }()
		changed, err := u.dst.Put(u.ctx, key, data)
		u.mu.Lock()
		defer u.mu.Unlock()
		switch {
		case err != nil:
			if u.err == nil {
				u.err = err
				u.cancel()
			}
		case changed:
			u.written++
		default:
			u.unchanged++
		}
	}()
	return true
}

func (u *uploader) wait() (written, unchanged int, err error) {
	u.wg.Wait()
	u.cancel()
	if u.err == nil && u.parent.Err() != nil {
		u.err = u.parent.Err()
	}
	return u.written, u.unchanged, u.err
}
