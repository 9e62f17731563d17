package outcodes

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"hash/maphash"
	"slices"
	"strings"
)

// table holds a whole letter compactly so the largest letter (~3.5M rows)
// fits a 1 GB Lambda:
//   - each row's uprn and address are packed into a chunked byte arena
//     (length-prefixed, no per-row string headers);
//   - postcodes (~15 addresses each) and lists (ballot ids or boundary
//     reviews: a letter has few distinct combinations) are interned, and
//     rows hold 32-bit ids;
//   - addressbase_source is not stored per row: the gate requires a single
//     value, so only the counts per value are kept.
//
// That is ~16 bytes of index plus the uprn and address bytes per row.
type table struct {
	chunks [][]byte
	refs   []uint64 // chunk index << 32 | offset of the row's record
	pcIDs  []uint32 // interned postcode per row
	lists  []uint32 // interned list per row

	postcodes []string          // interned postcodes
	pcIndex   map[string]uint32 // postcode -> index in postcodes
	sets      [][]string        // interned lists; sets[0] is the empty list
	setIndex  map[string]uint32 // setKey of a list -> index in sets
	sources   map[string]int64  // addressbase_source -> rows

	checksum int64 // sum of crc32(uprn) over all rows, as in gates.UPRNStats
	// keepHashes keeps hashes: the sorted, distinct HashUPRN of the rows,
	// once written.
	keepHashes bool
	hashes     []uint64

	key []byte // scratch for interning
}

// chunkSize is the arena allocation unit. Chunks avoid the 2x copy spike of
// growing one huge slice.
const chunkSize = 4 << 20

func newTable() *table {
	return &table{
		pcIndex:  map[string]uint32{},
		sets:     [][]string{{}},
		setIndex: map[string]uint32{"": 0},
		sources:  map[string]int64{},
	}
}

func (t *table) len() int { return len(t.refs) }

// add appends one row. items must be distinct, in the order the file
// keeps them.
func (t *table) add(uprn, address, postcode []byte, items [][]byte, source []byte) {
	need := 2*binary.MaxVarintLen32 + len(uprn) + len(address)
	if len(t.chunks) == 0 || cap(t.chunks[len(t.chunks)-1])-len(t.chunks[len(t.chunks)-1]) < need {
		t.chunks = append(t.chunks, make([]byte, 0, max(chunkSize, need)))
	}
	ci := len(t.chunks) - 1
	c := t.chunks[ci]
	off := len(c)
	c = binary.AppendUvarint(c, uint64(len(uprn)))
	c = append(c, uprn...)
	c = binary.AppendUvarint(c, uint64(len(address)))
	c = append(c, address...)
	t.chunks[ci] = c
	t.refs = append(t.refs, uint64(ci)<<32|uint64(off))

	pc, ok := t.pcIndex[string(postcode)] // no allocation for a known postcode
	if !ok {
		pc = uint32(len(t.postcodes))
		t.postcodes = append(t.postcodes, string(postcode))
		t.pcIndex[t.postcodes[pc]] = pc
	}
	t.pcIDs = append(t.pcIDs, pc)
	t.lists = append(t.lists, t.intern(items))
	t.checksum += int64(crc32.ChecksumIEEE(uprn))
	if n, ok := t.sources[string(source)]; ok {
		t.sources[string(source)] = n + 1
	} else {
		t.sources[string(source)] = 1
	}
}

// intern returns the id of the list items. The key length-prefixes each
// item, so no two lists share one: not [] and [""], and not ["a\x00b"]
// and ["a", "b"] (items may be any string, e.g. JSON).
func (t *table) intern(items [][]byte) uint32 {
	t.key = t.key[:0]
	for _, it := range items {
		t.key = binary.AppendUvarint(t.key, uint64(len(it)))
		t.key = append(t.key, it...)
	}
	if i, ok := t.setIndex[string(t.key)]; ok {
		return i
	}
	set := make([]string, len(items))
	for i, it := range items {
		set[i] = string(it)
	}
	i := uint32(len(t.sets))
	t.sets = append(t.sets, set)
	t.setIndex[string(t.key)] = i
	return i
}

// record returns row i's encoded uprn and address.
func (t *table) record(i uint32) []byte {
	ref := t.refs[i]
	c := t.chunks[ref>>32][uint32(ref):]
	n := 0
	for range 2 {
		l, w := binary.Uvarint(c[n:])
		n += w + int(l)
	}
	return c[:n]
}

// fields decodes row i's uprn and address without copying.
func (t *table) fields(i uint32) (uprn, address []byte) {
	ref := t.refs[i]
	c := t.chunks[ref>>32][uint32(ref):]
	l, w := binary.Uvarint(c)
	uprn, c = c[w:w+int(l)], c[w+int(l):]
	l, w = binary.Uvarint(c)
	return uprn, c[w : w+int(l)]
}

func (t *table) uprn(i uint32) []byte {
	ref := t.refs[i]
	c := t.chunks[ref>>32][uint32(ref):]
	l, w := binary.Uvarint(c)
	return c[w : w+int(l)]
}

func (t *table) compareUPRN(a, b uint32) int { return bytes.Compare(t.uprn(a), t.uprn(b)) }

// sameRow reports whether rows a and b hold identical data (the source is
// the same for every row once the gate passed).
func (t *table) sameRow(a, b uint32) bool {
	return t.pcIDs[a] == t.pcIDs[b] && t.lists[a] == t.lists[b] && bytes.Equal(t.record(a), t.record(b))
}

// uprnSeed seeds HashUPRN for the life of the process.
var uprnSeed = maphash.MakeSeed()

// HashUPRN is the hash a Letter keeps of each UPRN (UPRNHashes).
func HashUPRN(uprn []byte) uint64 { return maphash.Bytes(uprnSeed, uprn) }

// duplicateCandidates returns the rows whose uprn hash occurs more than
// once, sorted by uprn, so equal uprns are adjacent, and with keepHashes
// keeps the sorted, distinct hashes in t.hashes. Hashing first keeps the common case (no
// duplicates) to one sort of 64-bit integers instead of a string sort of
// every row.
func (t *table) duplicateCandidates() []uint32 {
	hs := make([]uint64, t.len())
	for i := range hs {
		hs[i] = HashUPRN(t.uprn(uint32(i)))
	}
	sorted := slices.Clone(hs)
	slices.Sort(sorted)
	repeated := map[uint64]bool{}
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			repeated[sorted[i]] = true
		}
	}
	if t.keepHashes {
		t.hashes = slices.Clip(slices.Compact(sorted))
	}
	sorted = nil
	var cand []uint32
	if len(repeated) > 0 {
		for i, h := range hs {
			if repeated[h] {
				cand = append(cand, uint32(i))
			}
		}
	}
	slices.SortFunc(cand, t.compareUPRN)
	return cand
}

// postcodeOrder returns the rows not in drop ordered by postcode, then
// uprn (byte-wise), and the start of each postcode's run. Rows are bucketed
// by postcode rank (a counting sort), so only the few rows sharing a
// postcode are compared by uprn.
func (t *table) postcodeOrder(drop bitset) (idx []uint32, runs []run) {
	byName := make([]uint32, len(t.postcodes))
	for i := range byName {
		byName[i] = uint32(i)
	}
	slices.SortFunc(byName, func(a, b uint32) int { return strings.Compare(t.postcodes[a], t.postcodes[b]) })
	rank := make([]uint32, len(t.postcodes))
	for r, pc := range byName {
		rank[pc] = uint32(r)
	}
	start := make([]int, len(t.postcodes)+1)
	for i, pc := range t.pcIDs {
		if !drop.has(uint32(i)) {
			start[rank[pc]+1]++
		}
	}
	for r := 1; r < len(start); r++ {
		start[r] += start[r-1]
	}
	idx = make([]uint32, start[len(start)-1])
	next := slices.Clone(start[:len(start)-1])
	for i, pc := range t.pcIDs {
		if !drop.has(uint32(i)) {
			r := rank[pc]
			idx[next[r]] = uint32(i)
			next[r]++
		}
	}
	for r, pc := range byName {
		lo, hi := start[r], start[r+1]
		if lo == hi {
			continue // every row of the postcode was a dropped duplicate
		}
		slices.SortFunc(idx[lo:hi], t.compareUPRN)
		runs = append(runs, run{postcode: t.postcodes[pc], lo: lo, hi: hi})
	}
	return idx, runs
}

// run is one postcode's rows, idx[lo:hi].
type run struct {
	postcode string
	lo, hi   int
}

// outcodeOf returns the part of a postcode before the space.
func outcodeOf(postcode string) string {
	before, _, _ := strings.Cut(postcode, " ")
	return before
}

// bitset is a set of row indexes.
type bitset []uint64

func newBitset(n int) bitset       { return make(bitset, (n+63)/64) }
func (b bitset) set(i uint32)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i uint32) bool { return b[i/64]&(1<<(i%64)) != 0 }
