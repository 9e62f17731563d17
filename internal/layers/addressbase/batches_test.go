package addressbase_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/synth"
)

// batchesAll reads in with ReadBatches and collects what fn was given.
func batchesAll(in string, workers, size int) ([]addressbase.Record, int64, error) {
	var out []addressbase.Record
	rows, err := addressbase.ReadBatchesSize(context.Background(), strings.NewReader(in), "ab.csv", workers, size,
		func(b []addressbase.Record) error {
			if len(b) == 0 {
				return errors.New("empty batch")
			}
			out = append(out, b...)
			return nil
		})
	return out, rows, err
}

// sameError reports how two errors differ: both nil, or both *ParseError
// with the same file, line, field and message, or the same message.
func sameError(want, got error) string {
	if (want == nil) != (got == nil) {
		return fmt.Sprintf("error: Reader %v, ReadBatches %v", want, got)
	}
	if want == nil {
		return ""
	}
	var wp, gp *addressbase.ParseError
	if errors.As(want, &wp) != errors.As(got, &gp) {
		return fmt.Sprintf("error type: Reader %T, ReadBatches %T", want, got)
	}
	if wp != nil && (wp.File != gp.File || wp.Line != gp.Line || wp.Field != gp.Field || wp.Err.Error() != gp.Err.Error()) {
		return fmt.Sprintf("error: Reader %#v (%v), ReadBatches %#v (%v)", *wp, wp.Err, *gp, gp.Err)
	}
	if want.Error() != got.Error() {
		return fmt.Sprintf("error: Reader %q, ReadBatches %q", want, got)
	}
	return ""
}

// sizes are the chunk sizes tried: tiny ones put records across chunk
// boundaries, down to one record per chunk and a boundary in every field.
var sizes = []int{1, 2, 3, 5, 7, 16, 61, 256, 4096, 1 << 20}

// differ compares ReadBatches with Reader on in for every worker count and
// chunk size, and returns the first difference.
func differ(t testing.TB, in string, workers, sizes []int) string {
	t.Helper()
	want, wantErr := readAll(t, "ab.csv", in)
	for _, w := range workers {
		for _, size := range sizes {
			got, rows, err := batchesAll(in, w, size)
			where := fmt.Sprintf("workers=%d size=%d", w, size)
			if d := sameError(wantErr, err); d != "" {
				return where + ": " + d
			}
			if d := cmp.Diff(want, got); d != "" {
				return fmt.Sprintf("%s: records (-Reader +ReadBatches):\n%s", where, d)
			}
			if rows != int64(len(got)) {
				return fmt.Sprintf("%s: rows %d, records given %d", where, rows, len(got))
			}
		}
	}
	return ""
}

// csvCases are inputs whose CSV syntax is unusual: quotes, line ends and
// blank lines in every position, good and bad.
var csvCases = map[string]string{
	"quoted commas":            "1,\"A, B\",AB1 2CD,SRID=4326;POINT(-2 57),D\r\n2,\"C, D\",AB1 2CD,SRID=4326;POINT(-2 57),D\r\n",
	"doubled quotes":           "1,\"A \"\"B\"\"\",AB1 2CD,SRID=4326;POINT(-2 57),D\n2,\"\"\"\",AB1 2CD,SRID=4326;POINT(-2 57),\"\"\n",
	"newline in quotes":        "1,\"A\nB\r\nC\",AB1 2CD,SRID=4326;POINT(-2 57),D\r\n2,\"\r\n\",AB1 2CD,SRID=4326;POINT(-2 57),D\r\n3,X,AB1 2CD,SRID=4326;POINT(-2 57),D\r\n",
	"CR in fields":             "1,A\rB,AB1 2CD,SRID=4326;POINT(-2 57),D\r\r\n2,\"A\rB\r\",AB1 2CD,SRID=4326;POINT(-2 57),D\r\n",
	"blank lines":              "\n\r\n\n1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n\n\r\n2,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n\n",
	"no final newline":         "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n2,A,AB1 2CD,SRID=4326;POINT(-2 57),D",
	"final CR":                 "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n2,A,AB1 2CD,SRID=4326;POINT(-2 57),D\r",
	"final quoted CR":          "1,A,AB1 2CD,SRID=4326;POINT(-2 57),\"D\"\r",
	"final quoted":             "1,A,AB1 2CD,SRID=4326;POINT(-2 57),\"D\"",
	"final CR only":            "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n\r",
	"quoted location":          "1,A,\"AB1 2CD\",\"SRID=4326;POINT(-2 57)\",D\n",
	"blank lines only":         "\n\r\n\n",
	"BOM only":                 "\ufeff",
	"BOM and blank lines":      "\ufeff\r\n\r\n",
	"BOM twice":                "\ufeff\ufeff1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n",
	"unterminated quote":       "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n2,\"A,AB1 2CD,SRID=4326;POINT(-2 57),D\n3,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n",
	"text after closing quote": "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n\n2,\"A\"x,AB1 2CD,SRID=4326;POINT(-2 57),D\n",
	"CR after closing quote":   "1,\"A\"\r,AB1 2CD,SRID=4326;POINT(-2 57),D\n",
	"CR CR after quote":        "1,A,AB1 2CD,SRID=4326;POINT(-2 57),\"D\"\r\r\n",
	"bare quote last field":    "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\"\n",
	"bare quote then quotes":   "1,A\"B,AB1 2CD,SRID=4326;POINT(-2 57),D\n2,\"x\ny\",AB1 2CD,SRID=4326;POINT(-2 57),D\n",
	"bad row after multiline":  "1,\"A\nB\nC\",AB1 2CD,SRID=4326;POINT(-2 57),D\n2,A,AB1 2CD,SRID=4326;POINT(-2 97),D\n",
	"two bad rows":             "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n2,A,ab1 2CD,SRID=4326;POINT(-2 57),D\n3,A,AB1 2CD,SRID=4326;POINT(-2 57)\n",
	"header after blank lines": "\n\r\nUPRN,Address,postcode,location,address_type\n1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n",
	"header in the middle":     "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\nuprn,address,postcode,location,address_type\n",
	"header with bad UTF-8":    "uprn,address\xff,postcode,location,address_type\n",
	"short header":             " uprn , address \n",
	"one empty field":          "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n \n",
	"bad UTF-8 in field 7":     "1,A,AB1 2CD,SRID=4326;POINT(-2 57),D,,\xc3\n",
	"ONSPD filler":             "ONSPD-TE11ST,,TE1 1ST,SRID=4326;POINT(-1.5 52.25),\r\n",
}

// badRows are bad AddressBase rows, one rule each (as in
// cmd/databaker's TestBakeRefusesInvalidRows and TestReadBad).
var badRows = []string{
	"9,X,AA1 1AA,SRID=4326;POINT(51.1 .1),D",
	"9,X,AA1 1AA,SRID=4326;POINT(0 0),D",
	"9,X,AA1 1AA,SRID=4326;POINT(-1 95),D",
	"9,X,AA1 1AA,SRID=4326;POINT(200 51),D",
	"9,X,AA1 1AA,SRID=4326;POINT(NaN 51),D",
	"9,X,AA1 1AA,SRID=4326;POINT(Inf 51),D",
	"9,X,AA1 1AA,SRID=4326;POINT(1e400 51),D",
	"9,X,AA1 1AA,SRID=27700;POINT(500000 200000),D",
	"9,X,AA1 1AA,POINT(500000 200000),D",
	"9,X,AA1 1AA,SRID=4326;POINT(-2),D",
	"9,X,AA1 1AA,SRID=4326;POINT(-2 57 1),D",
	"9,X,AA1 1AA,SRID=4326;POINT(- 57),D",
	"9,X,AA1 1AA,SRID=4326;POINT(. 57),D",
	"9,X,AA1 1AA,SRID=4326;POINT(0x1p-2 57),D",
	"9,X,AA1 1AA,SRID=4326POINT(-2 57),D",
	"9,X,AA1 1AA,,D",
	"\ufeff9,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	" 1001,1 HIGH STREET,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"9 ,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"-9,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"+9,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"12345678901234567890,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"1234567890123,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"1e5,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"9.0,X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	",X,AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"ONSPD-AA1,,AA1 1ZZ,SRID=4326;POINT(.1 51.1),",
	"ONSPD-AA1 1ZZ,,AA1 1ZZ,SRID=4326;POINT(.1 51.1),",
	"9,X,M/14 1EC,SRID=4326;POINT(.1 51.1),D",
	"9,X,M 9,SRID=4326;POINT(.1 51.1),D",
	"9,X,M.. 1EC,SRID=4326;POINT(.1 51.1),D",
	"9,X,ME14 1ec,SRID=4326;POINT(.1 51.1),D",
	"9,X,AA1  1AA,SRID=4326;POINT(.1 51.1),D",
	"9,X,AA1 1AA ,SRID=4326;POINT(.1 51.1),D",
	"9,X, AA1 1AA,SRID=4326;POINT(.1 51.1),D",
	"9,X,AA11AA,SRID=4326;POINT(.1 51.1),D",
	"9,X,,SRID=4326;POINT(.1 51.1),D",
	"9,X,AAA11 1AA,SRID=4326;POINT(.1 51.1),D",
	"2,B,AB1 2CD,SRID=4326;POINT(-2 57)",
	"3,B,AB1 2CD,SRID=4326;POINT(-2 57),D,X",
	"3,CAF\xe9,AB1 2CD,SRID=4326;POINT(-2 57),D",
	"2,B\"x,AB1 2CD,SRID=4326;POINT(-2 57),D",
	"uprn,address,postcode,location,address_type",
}

// sample returns the repository's sample AddressBase file.
func sample(t testing.TB) string {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "sample", "addressbase_cleaned.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadBatchesMatchesReader: ReadBatches gives Reader's records, or
// Reader's error after Reader's records, for the sample, synthetic files,
// unusual CSV syntax and every bad row at the start, middle and end of a
// file, with 1, 2 and 7 workers and chunks from 1 byte to 1 MB.
func TestReadBatchesMatchesReader(t *testing.T) {
	workers := []int{1, 2, 7}
	var good bytes.Buffer
	if _, err := synth.Generate(synth.Options{Seed: 3, Addresses: 300}, &good, io.Discard); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{"sample": sample(t), "synth": good.String()}
	for name, in := range csvCases {
		inputs["csv/"+name] = in
	}
	lines := strings.SplitAfter(good.String(), "\r\n")
	for i, row := range badRows {
		for _, at := range []int{0, 7, len(lines) - 1} {
			in := strings.Join(lines[:at], "") + row + "\r\n" + strings.Join(lines[at:], "")
			inputs[fmt.Sprintf("bad/%d@%d", i, at)] = in
			if at == 7 { // and with the line ends, BOM and no final newline varied
				inputs[fmt.Sprintf("bad/%d@%d/LF+BOM", i, at)] = "\ufeff" + strings.ReplaceAll(in, "\r\n", "\n")
				inputs[fmt.Sprintf("bad/%d@end/no newline", i)] = good.String() + row
			}
		}
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			sz := sizes
			if len(in) > 10000 { // one-byte chunks of a big file only slow the test
				sz = []int{7, 61, 4096, 1 << 20}
			}
			if d := differ(t, in, workers, sz); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestReadBatchesSynthSizes: the same at 20,000 synthetic addresses with
// the real chunk size and sizes around a row's length.
func TestReadBatchesSynthSizes(t *testing.T) {
	var good bytes.Buffer
	if _, err := synth.Generate(synth.Options{Seed: 9, Addresses: 20000}, &good, io.Discard); err != nil {
		t.Fatal(err)
	}
	if d := differ(t, good.String(), []int{1, 2, 7}, []int{97, 1000, 65536, 1 << 20}); d != "" {
		t.Error(d)
	}
}

// TestReadBatchesReadError: a read error stops ReadBatches after the
// records before it, with Reader's message.
func TestReadBatchesReadError(t *testing.T) {
	in := sample(t)
	for _, size := range []int{16, 4096, 1 << 20} {
		r := io.MultiReader(strings.NewReader(in), iotest.ErrReader(errors.New("disk on fire")))
		var n int
		rows, err := addressbase.ReadBatchesSize(context.Background(), r, "ab.csv", 2, size, func(b []addressbase.Record) error {
			n += len(b)
			return nil
		})
		if err == nil || err.Error() != "ab.csv: read csv: disk on fire" {
			t.Errorf("size %d: error %v, want ab.csv: read csv: disk on fire", size, err)
		}
		want, _ := readAll(t, "ab.csv", in)
		if rows != int64(n) || n != len(want) {
			t.Errorf("size %d: rows %d, records %d, want %d", size, rows, n, len(want))
		}
	}
}

// TestReadBatchesStops: fn's error and a cancelled context stop the read
// and come back, and fn is not called again.
func TestReadBatchesStops(t *testing.T) {
	var in bytes.Buffer
	if _, err := synth.Generate(synth.Options{Seed: 3, Addresses: 5000}, &in, io.Discard); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	rows, err := addressbase.ReadBatchesSize(context.Background(), bytes.NewReader(in.Bytes()), "ab.csv", 2, 1000, func(b []addressbase.Record) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 || rows != 0 {
		t.Errorf("fn error: err %v, calls %d, rows %d; want stop, 1, 0", err, calls, rows)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	_, err = addressbase.ReadBatchesSize(ctx, bytes.NewReader(in.Bytes()), "ab.csv", 2, 1000, func(b []addressbase.Record) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled: err %v, calls %d; want context.Canceled, 1", err, calls)
	}
}

// FuzzReadBatches: for any input, ReadBatches with tiny chunks and several
// workers agrees with Reader.
func FuzzReadBatches(f *testing.F) {
	f.Add(sample(f))
	for _, in := range csvCases {
		f.Add(in)
	}
	for _, row := range badRows {
		f.Add("1,A,AB1 2CD,SRID=4326;POINT(-2 57),D\n" + row + "\n")
	}
	f.Fuzz(func(t *testing.T, in string) {
		if d := differ(t, in, []int{1, 3}, []int{1, 4, 13, 4096}); d != "" {
			t.Error(d)
		}
	})
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A stray quote throws the quote count out for the rest of the file, so no
// later newline looks like a record's end; the reader must still report it
// at once, as Reader does, not after holding the rest of the file.
func TestReadBatchesStrayQuoteStopsEarly(t *testing.T) {
	row := "10001,1 HIGH STREET,AB1 2CD,SRID=4326;POINT(-2 57),D\n"
	for name, bad := range map[string]string{
		"bare quote":    "10002,12 O\"BRIEN ROAD,AB1 2CD,SRID=4326;POINT(-2 57),D\n",
		"odd quotes":    "10002,\"ab\"c\",AB1 2CD,SRID=4326;POINT(-2 57),D\n",
		"opened quote":  "10002,\"12 OBRIEN ROAD,AB1 2CD,SRID=4326;POINT(-2 57),D\n",
		"row too large": "10002,\"" + strings.Repeat("x", addressbase.MaxRecordBytes) + "\",AB1 2CD,SRID=4326;POINT(-2 57),D\n",
	} {
		t.Run(name, func(t *testing.T) {
			in := strings.Repeat(row, 2) + bad + strings.Repeat(row, 200_000) // ~10 MB after it
			_, wantErr := readAll(t, "ab.csv", in)
			var pe *addressbase.ParseError
			if !errors.As(wantErr, &pe) || pe.Line != 3 {
				t.Fatalf("Reader: %v, want an error at line 3", wantErr)
			}
			cr := &countingReader{r: strings.NewReader(in)}
			_, err := addressbase.ReadBatchesSize(context.Background(), cr, "ab.csv", 2, 4096,
				func([]addressbase.Record) error { return nil })
			if d := sameError(wantErr, err); d != "" {
				t.Error(d)
			}
			// What the reader holds before it cuts: the bound and the chunks
			// in flight, far less than the file.
			if limit := int64(4*addressbase.MaxRecordBytes + 64*4096); cr.n > limit {
				t.Errorf("read %d of %d bytes before reporting the error; want at most %d", cr.n, len(in), limit)
			}
		})
	}
}
