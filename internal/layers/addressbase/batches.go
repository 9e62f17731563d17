package addressbase

// ReadBatches: the AddressBase cleaned CSV parsed by several goroutines.
// One goroutine cuts the input into chunks at record boundaries, workers
// split and check each chunk's records, and the caller's goroutine hands
// the batches to fn in file order. The records and errors are Reader's:
// the CSV splitting below follows encoding/csv (comma, no comments, strict
// quotes) and the row rules are parse's.

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// chunkSize is how much input one worker parses at a time: about 10,000
// rows, so a batch is large enough to amortise the hand-offs and small
// enough that workers*2 chunks in flight stay a few MB.
const chunkSize = 1 << 20

// ReadBatches reads an AddressBase cleaned CSV with workers (at least one)
// parsing goroutines and calls fn, from the caller's goroutine, with
// batches of valid records in file order. fn may keep the slice and the
// records; a record's strings point into its 1 MB chunk of the file, which
// stays in memory while any of them is kept (strings.Clone what is kept
// long when the rest is not). The first bad row (the earliest in the file)
// stops the read with the same *ParseError that Reader gives, after fn has
// had the rows before it; an error from fn stops the read and is returned
// as it is, and so is ctx's. rows is the number of records handed to fn.
// r is not read after ReadBatches returns.
func ReadBatches(ctx context.Context, r io.Reader, name string, workers int, fn func([]Record) error) (rows int64, err error) {
	return readBatches(ctx, r, name, workers, chunkSize, fn)
}

// chunk is a run of whole records: text starts at a record boundary and,
// unless final, ends just after the newline that ends a record.
type chunk struct {
	text  string
	line  int  // line of text's first byte (1-based)
	lines int  // newlines in text
	final bool // text runs to the end of the input
	err   error
	done  chan chunkResult
}

type chunkResult struct {
	recs []Record
	// err is the chunk's first bad row (or a read error); when that row is
	// the chunk's first record, firstErr is what it gets as the file's
	// first record (a header), if that differs.
	err, firstErr error
}

func readBatches(ctx context.Context, r io.Reader, name string, workers, size int, fn func([]Record) error) (int64, error) {
	workers = max(workers, 1)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // r is not read after ReadBatches returns
	defer cancel()

	order := make(chan *chunk, 2*workers) // bounds the chunks in flight
	work := make(chan *chunk)
	wg.Go(func() {
		defer close(order)
		defer close(work)
		split(ctx, r, name, size, func(c *chunk) bool {
			c.done = make(chan chunkResult, 1)
			for _, ch := range []chan *chunk{order, work} {
				select {
				case ch <- c:
				case <-ctx.Done():
					return false
				}
			}
			return true
		})
	})
	for range workers {
		wg.Go(func() {
			var fields []string
			for c := range work {
				var res chunkResult
				if ctx.Err() == nil {
					res, fields = parseChunk(name, c, fields)
				}
				c.done <- res
			}
		})
	}

	var rows int64
	for c := range order {
		var res chunkResult
		select {
		case res = <-c.done:
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			return rows, fmt.Errorf("read %s: %w", name, err)
		}
		if res.err != nil && res.firstErr != nil && rows == 0 && len(res.recs) == 0 {
			res.err = res.firstErr
		}
		if len(res.recs) > 0 {
			if err := fn(res.recs); err != nil {
				return rows, err
			}
			rows += int64(len(res.recs))
		}
		if res.err != nil {
			return rows, res.err
		}
	}
	if err := ctx.Err(); err != nil {
		return rows, fmt.Errorf("read %s: %w", name, err)
	}
	if rows == 0 {
		return 0, &ParseError{File: name, Line: 1, Err: ErrEmpty}
	}
	return rows, nil
}

// split reads r into chunks of about size bytes cut at record boundaries
// and passes them to emit in order until it returns false. A read error
// comes as a last chunk with err set, after the whole records before it.
func split(ctx context.Context, r io.Reader, name string, size int, emit func(*chunk) bool) {
	var carry []byte // the unfinished record at the end of the last read
	line, first := 1, true
	for ctx.Err() == nil {
		// Each chunk gets its own buffer: its records' strings point into
		// it, so it is never written again.
		buf := make([]byte, len(carry), max(len(carry)+size, 2*len(carry), len(bom)))
		copy(buf, carry)
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			err = fmt.Errorf("%s: read csv: %w", name, err)
		} else {
			err = nil
		}
		if first {
			buf = bytes.TrimPrefix(buf, []byte(bom))
			first = false
		}
		end := len(buf)
		if !eof {
			end = recordEnd(buf)
		}
		// No even cut in MaxRecordBytes and more: a stray quote has thrown
		// the quote count out, so recordEnd would find none until the end
		// of the file. The text from the last good cut holds the first bad
		// record, which parsing it as the last chunk reports (a valid
		// record is never that long).
		forced := end == 0 && !eof && len(buf) > 2*MaxRecordBytes+size
		if forced {
			end = len(buf)
		}
		if end > 0 || eof {
			text := buf[:end]
			c := &chunk{text: unsafe.String(unsafe.SliceData(text), len(text)), line: line,
				lines: bytes.Count(text, []byte{'\n'}), final: (eof && err == nil) || forced}
			if !emit(c) {
				return
			}
			line += c.lines
		}
		carry = buf[end:]
		if err != nil {
			emit(&chunk{err: err})
			return
		}
		if eof || forced {
			return
		}
	}
}

const bom = "\ufeff"

// recordEnd returns the length of b's longest prefix of whole records, 0
// if none: just after the last newline with an even number of quotes
// before it. In a CSV file that encoding/csv reads without error, quotes
// come in pairs within a field, so that newline ends a record. In one it
// refuses, the cut may be wrong only after the first error, which is
// reported from a chunk cut rightly.
func recordEnd(b []byte) int {
	quotes := bytes.Count(b, []byte{'"'})
	end := len(b)
	for {
		nl := bytes.LastIndexByte(b[:end], '\n')
		if nl < 0 {
			return 0
		}
		quotes -= bytes.Count(b[nl+1:end], []byte{'"'})
		if quotes%2 == 0 {
			return nl + 1
		}
		end = nl
	}
}

// parseChunk parses a chunk's records; fields is scratch space.
func parseChunk(name string, c *chunk, fields []string) (chunkResult, []string) {
	if c.err != nil {
		return chunkResult{err: c.err}, fields
	}
	recs := make([]Record, 0, c.lines+1)
	s := scanner{s: c.text, line: c.line, final: c.final}
	// Text is valid UTF-8 only if every field is: fields are cut at ASCII
	// bytes. One check of the whole chunk is cheaper than one per field.
	validUTF8 := utf8.ValidString(c.text)
	for {
		var line int
		var err error
		fields, line, err = s.next(fields[:0])
		if err == io.EOF {
			return chunkResult{recs: recs}, fields
		}
		if err != nil {
			return chunkResult{recs: recs, err: &ParseError{File: name, Line: line, Err: err}}, fields
		}
		n := len(recs)
		if n < cap(recs) {
			recs = recs[:n+1] // zeroed by make: no need to zero it again
		} else {
			recs = append(recs, Record{})
		}
		if err := parse(&recs[n], name, fields, line, false, validUTF8); err != nil {
			res := chunkResult{recs: recs[:n], err: err}
			if n == 0 {
				var rec Record
				if ferr := parse(&rec, name, fields, line, true, validUTF8); ferr != nil && ferr.Error() != err.Error() {
					res.firstErr = ferr
				}
			}
			return res, fields
		}
	}
}

// scanner splits a chunk into records as encoding/csv does with its
// defaults (comma-separated, no comments, LazyQuotes and
// TrimLeadingSpace off): empty lines are skipped, \r\n ends a line as \n
// does (also inside quoted fields, where it reads as \n), a \r before the
// end of the input is dropped, and a quote may only open a field or be
// doubled inside a quoted one. Fields are substrings of the chunk unless
// a quoted one needs unescaping.
type scanner struct {
	s     string
	pos   int
	line  int // line of s[pos]
	final bool
}

// next appends the next record's fields to dst and returns them with the
// record's first line, or io.EOF after the last record. A syntax error is
// encoding/csv's (ErrQuote or ErrBareQuote) with the record's first line.
func (sc *scanner) next(dst []string) ([]string, int, error) {
	s := sc.s
	// Skip empty lines: "\n", "\r\n", and at the end "" or "\r".
	for {
		rest := s[sc.pos:]
		switch {
		case strings.HasPrefix(rest, "\n"):
			sc.pos++
			sc.line++
			continue
		case strings.HasPrefix(rest, "\r\n"):
			sc.pos += 2
			sc.line++
			continue
		case rest == "" || (rest == "\r" && sc.final):
			sc.pos = len(s)
			return dst, sc.line, io.EOF
		}
		break
	}
	line, newlines := sc.line, 0 // newlines inside quoted fields
	i := sc.pos
	for {
		if i < len(s) && s[i] == '"' {
			// Quoted field: up to a quote that is not doubled.
			open, escaped := i+1, false
			j := open
			for {
				q := strings.IndexByte(s[j:], '"')
				if q < 0 {
					sc.pos = len(s)
					return dst, line, csv.ErrQuote // the input ends inside the field
				}
				j += q + 1
				if j < len(s) && s[j] == '"' {
					escaped = true
					j++
					continue
				}
				break
			}
			raw := s[open : j-1]
			nl := strings.IndexByte(raw, '\n')
			if nl >= 0 {
				newlines += strings.Count(raw[nl:], "\n")
			}
			dst = append(dst, unquote(raw, escaped, nl >= 0))
			sc.line = line + newlines // the record's last line
			switch {
			case j < len(s) && s[j] == ',':
				i = j + 1
				continue
			case j == len(s):
				sc.pos = j
				return dst, line, nil
			case s[j] == '\n':
				sc.pos = j + 1
				sc.line++
				return dst, line, nil
			case s[j] == '\r' && (j+1 < len(s) && s[j+1] == '\n'):
				sc.pos = j + 2
				sc.line++
				return dst, line, nil
			case s[j] == '\r' && j+1 == len(s) && sc.final:
				sc.pos = j + 1
				return dst, line, nil
			}
			sc.pos = j
			return dst, line, csv.ErrQuote
		}
		// Unquoted field: up to a comma or the end of the line, and no
		// quote in it.
		end, bare := i, false
		for ; end < len(s); end++ {
			if c := s[end]; c == ',' || c == '\n' {
				break
			} else if c == '"' {
				bare = true
			}
		}
		if end < len(s) && s[end] == ',' {
			if bare {
				sc.pos = end
				return dst, line, csv.ErrBareQuote
			}
			dst = append(dst, s[i:end])
			i = end + 1
			continue
		}
		sc.pos, sc.line = end, line+newlines
		if end < len(s) { // at a newline
			sc.pos++
			sc.line++
		}
		if end > i && s[end-1] == '\r' && (end < len(s) || sc.final) {
			end-- // \r\n, or a \r before the end of the input
		}
		if bare {
			return dst, line, csv.ErrBareQuote
		}
		dst = append(dst, s[i:end])
		return dst, line, nil
	}
}

// unquote returns a quoted field's value from the text between its
// quotes: doubled quotes undoubled and \r\n read as \n. escaped and
// multiline say whether raw has a quote and a newline.
func unquote(raw string, escaped, multiline bool) string {
	if escaped {
		raw = strings.ReplaceAll(raw, `""`, `"`)
	}
	if multiline && strings.Contains(raw, "\r\n") {
		raw = strings.ReplaceAll(raw, "\r\n", "\n")
	}
	return raw
}
