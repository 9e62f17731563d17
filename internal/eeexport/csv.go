package eeexport

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
)

// NewCSV returns a writer that writes as EE's Python csv exports do
// (quoting only where needed, CRLF line ends), with header written.
func NewCSV(w io.Writer, header []string) (*csv.Writer, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(header); err != nil {
		return nil, fmt.Errorf("write csv header: %w", err)
	}
	return cw, nil
}

// FinishCSV reports an error that ended reading rows (what names them,
// n counts the rows written) and flushes cw.
func FinishCSV(cw *csv.Writer, rows pgx.Rows, what string, n int64) error {
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s after %d rows: %w", what, n, err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// IsEmptyWKT reports an empty geometry as PostGIS writes it, e.g.
// "POLYGON EMPTY": what ST_CollectionExtract(ST_MakeValid(g), 3) leaves of
// a collapsed sliver. The exports drop such pieces and count them.
func IsEmptyWKT(wkt string) bool {
	return len(wkt) >= 5 && wkt[len(wkt)-5:] == "EMPTY"
}
