// Package gates holds the quality checks that must pass before baked data
// is published: exactly one addressbase_source, and the same set of UPRNs
// in source and target.
package gates

import (
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"strings"
	"unsafe"
)

// UPRNStats is an order-insensitive summary of a UPRN column. Athena
// computes the same values with
//
//	SELECT count(*), count(DISTINCT uprn), sum(crc32(to_utf8(uprn)))
//
// (Trino's crc32 is CRC-32 IEEE and returns a bigint; a sum over 30M rows
// of values below 2^32 cannot overflow an int64).
type UPRNStats struct {
	Rows     int64 `json:"rows"`
	Distinct int64 `json:"distinct"`
	Checksum int64 `json:"checksum"`

	seen map[string]struct{}
}

// Checksum returns one UPRN's contribution to UPRNStats.Checksum.
func Checksum(uprn string) int64 {
	// crc32 only reads the bytes: no copy of the string is needed.
	return ChecksumBytes(unsafe.Slice(unsafe.StringData(uprn), len(uprn)))
}

// ChecksumBytes is Checksum of a UPRN's bytes.
func ChecksumBytes(uprn []byte) int64 { return int64(crc32.ChecksumIEEE(uprn)) }

// Add counts one UPRN. It keeps a set of UPRNs seen, so it suits local
// data; large sorted inputs can fill the fields directly instead.
func (s *UPRNStats) Add(uprn string) {
	if s.seen == nil {
		s.seen = make(map[string]struct{})
	}
	s.Rows++
	s.Checksum += Checksum(uprn)
	if _, ok := s.seen[uprn]; !ok {
		s.seen[uprn] = struct{}{}
		s.Distinct++
	}
}

// Plus returns the sum of two summaries of disjoint UPRN sets, such as
// two first-letter partitions (a UPRN has one postcode, so one letter).
func (s UPRNStats) Plus(o UPRNStats) UPRNStats {
	return UPRNStats{Rows: s.Rows + o.Rows, Distinct: s.Distinct + o.Distinct, Checksum: s.Checksum + o.Checksum}
}

// CompareUPRNs returns an error naming every measure that differs between
// source and target, with both values.
func CompareUPRNs(source, target UPRNStats) error {
	var diffs []string
	if source.Rows != target.Rows {
		diffs = append(diffs, fmt.Sprintf("row count: source %d, target %d", source.Rows, target.Rows))
	}
	if source.Distinct != target.Distinct {
		diffs = append(diffs, fmt.Sprintf("distinct uprn count: source %d, target %d", source.Distinct, target.Distinct))
	}
	if source.Checksum != target.Checksum {
		diffs = append(diffs, fmt.Sprintf("uprn checksum: source %d, target %d", source.Checksum, target.Checksum))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("uprn gate failed: %s", strings.Join(diffs, "; "))
	}
	return nil
}

// OneSource checks that exactly one non-empty addressbase_source occurs.
// sources maps each value to its row count; the error names them all.
func OneSource(sources map[string]int64) error {
	switch len(sources) {
	case 0:
		return fmt.Errorf("addressbase_source gate failed: no source found")
	case 1:
		for s, n := range sources {
			if s == "" {
				return fmt.Errorf("addressbase_source gate failed: %d rows have an empty addressbase_source", n)
			}
		}
		return nil
	}
	names := slices.Sorted(maps.Keys(sources))
	parts := make([]string, len(names))
	for i, s := range names {
		parts[i] = fmt.Sprintf("%q (%d rows)", s, sources[s])
	}
	return fmt.Errorf("addressbase_source gate failed: want exactly one source, found %d: %s", len(names), strings.Join(parts, ", "))
}
