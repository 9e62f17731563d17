package boundaryexport

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
)

// In is the Lambda event. It has no fields: what is selected comes from
// the configuration and the date, so every trigger sends {}.
type In struct{}

// Out says where the CSV went and what it holds.
type Out struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Rows    int64  `json:"rows"`
	Reviews int64  `json:"reviews"`
}

// Handler runs the export. Build it with New.
type Handler struct {
	eeexport.Runner
	cfg Config
}

// New returns a Handler. s3c and ssmc are usually *s3.Client and *ssm.Client;
// opts are eeexport.WithClock and eeexport.WithTempDir.
func New(cfg Config, s3c eeexport.S3API, ssmc eeexport.SSMAPI, logger *slog.Logger, opts ...eeexport.Option) *Handler {
	return &Handler{Runner: eeexport.NewRunner(cfg.Config, "dc-data-baker-export-boundary-reviews", s3c, ssmc, logger, opts...), cfg: cfg}
}

// Handle exports the selected boundary reviews and publishes the CSV. It
// never replaces the published file unless the whole export succeeded.
func (h *Handler) Handle(ctx context.Context, _ In) (Out, error) {
	now := h.Now()
	sel := Selection{
		Today:                 eeexport.Today(now),
		CompletedLookbackDays: h.cfg.CompletedLookbackDays,
		MapOnly:               h.cfg.MapOnly,
	}
	runID := eeexport.RunID(ctx, now)
	log := h.Log.With("bucket", h.cfg.Bucket, "key", h.cfg.Key, "run_id", runID,
		"today", sel.Today.Format(time.DateOnly), "completed_lookback_days", sel.CompletedLookbackDays,
		"map_only", sel.MapOnly)

	var st Stats
	size, err := h.Exp.Run(ctx, log, runID, func(ctx context.Context, conn *pgx.Conn, w io.Writer) error {
		var err error
		st, err = WriteCSV(ctx, conn, w, sel)
		return err
	})
	if err != nil {
		return Out{}, err
	}
	log.Info("export published", "rows", st.Rows, "reviews", st.Reviews,
		"divisions_without_geometry", st.DivisionsWithoutGeometry, "empty_pieces", st.EmptyPieces, "bytes", size)
	return Out{Bucket: h.cfg.Bucket, Key: h.cfg.Key, Rows: st.Rows, Reviews: st.Reviews}, nil
}
