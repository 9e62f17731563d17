package outcodes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// FileStats describe one <OUTCODE>.parquet file as a run manifest does:
// the same figures whether the split computes them while writing or the
// manifest reads the file back.
type FileStats struct {
	SHA256        string `json:"sha256"`          // of the file's bytes
	Rows          int64  `json:"rows"`            // 0 for an empty (0-row) file
	RowsWithItems int64  `json:"rows_with_items"` // rows whose list is not empty
	// Items counts the rows holding each distinct list element.
	Items map[string]int64 `json:"items"`
}

// StatsOf returns the stats of a file's bytes and its rows.
func StatsOf(data []byte, rows []OutRow) FileStats {
	sum := sha256.Sum256(data)
	s := FileStats{SHA256: hex.EncodeToString(sum[:]), Rows: int64(len(rows)), Items: map[string]int64{}}
	for _, r := range rows {
		if len(r.List) > 0 {
			s.RowsWithItems++
		}
		for _, it := range r.List {
			s.Items[it]++
		}
	}
	return s
}

// LetterStats are one letter's files' stats, by outcode: what the split
// writes to SplitInput.StatsKey for the plausibility gate, so the gate
// need not read every file back.
type LetterStats struct {
	Letter   string               `json:"first_letter"`
	Outcodes map[string]FileStats `json:"outcodes"`
}

// StatsKey is the key of a letter's stats under statsPrefix.
func StatsKey(statsPrefix, letter string) string { return statsPrefix + letter + ".json" }

// ParseLetterStats decodes a LetterStats object named key.
func ParseLetterStats(key string, data []byte) (LetterStats, error) {
	var ls LetterStats
	if err := json.Unmarshal(data, &ls); err != nil {
		return ls, fmt.Errorf("%s: %w", key, err)
	}
	return ls, nil
}
