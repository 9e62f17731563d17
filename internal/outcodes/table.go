package outcodes

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strings"
)

// table holds a whole letter compactly so the largest letter (~3.5M rows)
// fits a 1 GB Lambda: each row's uprn, address and postcode are packed into
// a chunked byte arena (length-prefixed, no per-row string headers), and
// ballot-id lists are interned (a letter has few distinct combinations).
// addressbase_source is not stored per row: the gate requires a single
// value, so only the counts per value are kept.
type table struct {
	chunks  [][]byte
	refs    []uint64 // chunk index << 32 | offset of the row's record
	ballots []uint32 // interned ballot set per row

	sets     [][]string        // interned ballot sets; sets[0] is the empty set
	setIndex map[string]uint32 // "\x00"-joined ids -> index in sets
	sources  map[string]int64  // addressbase_source -> rows

	checksum int64 // sum of crc32(uprn) over all rows, as in gates.UPRNStats

	key []byte // scratch for interning
}

// chunkSize is the arena allocation unit. Chunks avoid the 2x copy spike of
// growing one huge slice.
const chunkSize = 4 << 20

func newTable() *table {
	return &table{
		sets:     [][]string{{}},
		setIndex: map[string]uint32{"": 0},
		sources:  map[string]int64{},
	}
}

func (t *table) len() int { return len(t.refs) }

// add appends one row. ids must already be sorted and distinct.
func (t *table) add(uprn, address, postcode []byte, ids [][]byte, source []byte) {
	need := 3*binary.MaxVarintLen32 + len(uprn) + len(address) + len(postcode)
	if len(t.chunks) == 0 || cap(t.chunks[len(t.chunks)-1])-len(t.chunks[len(t.chunks)-1]) < need {
		t.chunks = append(t.chunks, make([]byte, 0, max(chunkSize, need)))
	}
	ci := len(t.chunks) - 1
	c := t.chunks[ci]
	off := len(c)
	for _, f := range [][]byte{uprn, address, postcode} {
		c = binary.AppendUvarint(c, uint64(len(f)))
		c = append(c, f...)
	}
	t.chunks[ci] = c
	t.refs = append(t.refs, uint64(ci)<<32|uint64(off))
	t.ballots = append(t.ballots, t.intern(ids))
	t.checksum += int64(crc32.ChecksumIEEE(uprn))
	if n, ok := t.sources[string(source)]; ok { // no allocation for a known source
		t.sources[string(source)] = n + 1
	} else {
		t.sources[string(source)] = 1
	}
}

func (t *table) intern(ids [][]byte) uint32 {
	t.key = t.key[:0]
	for i, id := range ids {
		if i > 0 {
			t.key = append(t.key, 0)
		}
		t.key = append(t.key, id...)
	}
	if i, ok := t.setIndex[string(t.key)]; ok {
		return i
	}
	set := make([]string, len(ids))
	for i, id := range ids {
		set[i] = string(id)
	}
	i := uint32(len(t.sets))
	t.sets = append(t.sets, set)
	t.setIndex[string(t.key)] = i
	return i
}

// record returns row i's encoded uprn, address and postcode.
func (t *table) record(i uint32) []byte {
	ref := t.refs[i]
	c := t.chunks[ref>>32][uint32(ref):]
	n := 0
	for range 3 {
		l, w := binary.Uvarint(c[n:])
		n += w + int(l)
	}
	return c[:n]
}

// fields decodes row i's uprn, address and postcode without copying.
func (t *table) fields(i uint32) (uprn, address, postcode []byte) {
	ref := t.refs[i]
	c := t.chunks[ref>>32][uint32(ref):]
	next := func() []byte {
		l, w := binary.Uvarint(c)
		f := c[w : w+int(l)]
		c = c[w+int(l):]
		return f
	}
	uprn = next()
	address = next()
	postcode = next()
	return uprn, address, postcode
}

func (t *table) uprn(i uint32) []byte {
	ref := t.refs[i]
	c := t.chunks[ref>>32][uint32(ref):]
	l, w := binary.Uvarint(c)
	return c[w : w+int(l)]
}

func (t *table) postcode(i uint32) []byte {
	_, _, p := t.fields(i)
	return p
}

// sortByUPRN orders idx by uprn, byte-wise.
func (t *table) sortByUPRN(idx []uint32) {
	slices.SortFunc(idx, func(a, b uint32) int { return bytes.Compare(t.uprn(a), t.uprn(b)) })
}

// sortByPostcode orders idx by postcode, then uprn, byte-wise.
func (t *table) sortByPostcode(idx []uint32) {
	slices.SortFunc(idx, func(a, b uint32) int {
		ua, _, pa := t.fields(a)
		ub, _, pb := t.fields(b)
		if c := bytes.Compare(pa, pb); c != 0 {
			return c
		}
		return bytes.Compare(ua, ub)
	})
}

// sameRow reports whether rows a and b hold identical data.
func (t *table) sameRow(a, b uint32) bool {
	return t.ballots[a] == t.ballots[b] && bytes.Equal(t.record(a), t.record(b))
}

// outcodeOf returns the part of a postcode before the space.
func outcodeOf(postcode []byte) string {
	before, _, _ := strings.Cut(string(postcode), " ")
	return before
}
