package addressbase

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
)

// The local bake keeps the partitioned table in a spill file per first
// letter, in its scratch folder, rather than as parquet: later layers read
// each letter once, whole, and a record that is only length-prefixed bytes
// costs a copy to write and to read, where parquet costs encoding,
// compression and reflection both ways. The parquet table is written as
// well with --keep-intermediate.
//
// A record is uprn, address and postcode, each a uvarint length and its
// bytes, then longitude and latitude as little-endian float64 bits.

// Address is one spilled row; its byte slices are only valid until the
// next one is read.
type Address struct {
	UPRN, Address, Postcode []byte
	Lon, Lat                float64
}

// Source is the addressbase_source of every row of j's bake: the CSV's
// file URL.
func Source(j *bake.Job) string {
	return (&url.URL{Scheme: "file", Path: j.Input(Input)}).String()
}

func spillDir(j *bake.Job) string { return filepath.Join(j.Scratch(), "addresses") }

func spillFile(j *bake.Job, letter string) string {
	return filepath.Join(spillDir(j), letter+".bin")
}

// spillBuffer is the spill files' read buffer: a record (MaxRecordBytes at
// most, and its prefixes) always fits.
const spillBuffer = 256 << 10

// spiller appends records to one file per letter.
type spiller struct {
	dir   string
	files map[string]*spillFileW
	rec   []byte
}

type spillFileW struct {
	f *os.File
	w *bufio.Writer
}

func newSpiller(dir string) (*spiller, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return &spiller{dir: dir, files: map[string]*spillFileW{}}, nil
}

func (s *spiller) write(letter string, r *Record) error {
	sf := s.files[letter]
	if sf == nil {
		f, err := os.Create(filepath.Join(s.dir, letter+".bin"))
		if err != nil {
			return fmt.Errorf("spill: %w", err)
		}
		sf = &spillFileW{f: f, w: bufio.NewWriterSize(f, 256<<10)}
		s.files[letter] = sf
	}
	b := s.rec[:0]
	for _, v := range [3]string{r.UPRN, r.Address, r.Postcode} {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Lon))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Lat))
	s.rec = b
	if _, err := sf.w.Write(b); err != nil {
		return fmt.Errorf("spill letter %s: %w", letter, err)
	}
	return nil
}

// close flushes and closes every file.
func (s *spiller) close() error {
	var errs []error
	for l, sf := range s.files {
		if err := sf.w.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("spill letter %s: %w", l, err))
		}
		if err := sf.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("spill letter %s: %w", l, err))
		}
	}
	return errors.Join(errs...)
}

// EachAddress calls fn with every address of letter, in CSV order, and
// returns how many there were. a is reused between calls.
func EachAddress(j *bake.Job, letter string, fn func(a *Address) error) (int64, error) {
	path := spillFile(j, letter)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read %s of letter %s: %w", PartitionedName, letter, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, spillBuffer)
	var a Address
	var n int64
	for {
		rec, err := nextRecord(br)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("read %s record %d: %w", path, n+1, err)
		}
		if err := decodeRecord(rec, &a); err != nil {
			return n, fmt.Errorf("read %s record %d: %w", path, n+1, err)
		}
		if err := fn(&a); err != nil {
			return n, err
		}
		// The bytes of a were peeked: consume them only now.
		if _, err := br.Discard(len(rec)); err != nil {
			return n, fmt.Errorf("read %s record %d: %w", path, n+1, err)
		}
		n++
	}
}

// nextRecord peeks the next whole record without consuming it.
func nextRecord(br *bufio.Reader) ([]byte, error) {
	for want := 64; ; want = min(2*want, br.Size()) {
		b, err := br.Peek(want)
		if len(b) == 0 && err != nil {
			return nil, err // io.EOF at a record boundary
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		n, ok, lerr := recordLen(b)
		if lerr != nil {
			return nil, lerr
		}
		if ok {
			if n > br.Size() {
				return nil, fmt.Errorf("record of %d bytes is longer than the read buffer", n)
			}
			if n > len(b) {
				if b, err = br.Peek(n); err != nil {
					return nil, fmt.Errorf("truncated record: %w", err)
				}
			}
			return b[:n], nil
		}
		if len(b) < want || want == br.Size() {
			return nil, errors.New("truncated record")
		}
	}
}

// recordLen returns the length of the record at the start of b, or false
// when b is too short to hold its three length prefixes.
func recordLen(b []byte) (n int, ok bool, err error) {
	off := 0
	for range 3 {
		if off >= len(b) {
			return 0, false, nil
		}
		l, w := binary.Uvarint(b[off:])
		if w == 0 {
			return 0, false, nil
		}
		if w < 0 || l > 1<<30 {
			return 0, false, errors.New("bad length prefix")
		}
		off += w + int(l)
	}
	return off + 16, true, nil
}

func decodeRecord(b []byte, a *Address) error {
	var f [3][]byte
	for i := range f {
		l, w := binary.Uvarint(b)
		if w <= 0 || int(l) > len(b)-w {
			return errors.New("bad length prefix")
		}
		f[i], b = b[w:w+int(l)], b[w+int(l):]
	}
	if len(b) != 16 {
		return errors.New("bad record length")
	}
	a.UPRN, a.Address, a.Postcode = f[0], f[1], f[2]
	a.Lon = math.Float64frombits(binary.LittleEndian.Uint64(b))
	a.Lat = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	return nil
}

// ReadLetter returns letter's addresses as addressbase_partitioned rows.
func ReadLetter(j *bake.Job, letter string) ([]Row, error) {
	source := Source(j)
	var rows []Row
	_, err := EachAddress(j, letter, func(a *Address) error {
		pc := string(a.Postcode)
		out, _, _ := strings.Cut(pc, " ")
		rows = append(rows, Row{Outcode: out, UPRN: string(a.UPRN), Address: string(a.Address), Postcode: pc,
			Longitude: a.Lon, Latitude: a.Lat, AddressbaseSource: source})
		return nil
	})
	return rows, err
}

// EachUPRN reads a letter's UPRNs again, for bake.Job.CheckJoin.
func EachUPRN(j *bake.Job) func(letter string, fn func(uprn []byte)) error {
	return func(l string, fn func(uprn []byte)) error {
		_, err := EachAddress(j, l, func(a *Address) error { fn(a.UPRN); return nil })
		return err
	}
}
