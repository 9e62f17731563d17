package outcodes

import (
	"context"
	"errors"
)

// Split reads every parquet object under in.SrcPrefix, checks and
// de-duplicates the rows, and writes one sorted file per outcode to
// in.Dst. Nothing is written unless all input is read and valid.
func Split(ctx context.Context, in SplitInput) (Result, error) {
	return Result{}, errors.New("split: not implemented yet")
}
