package ballotexport

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
)

// In is the Lambda event. LookbackDays overrides Config.LookbackDays.
type In struct {
	LookbackDays *int `json:"lookback_days,omitempty"`
}

// Out says where the CSV went and how many data rows it has.
type Out struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Rows   int64  `json:"rows"`
}

// Handler runs the export. Build it with New.
type Handler struct {
	eeexport.Runner
	cfg Config
}

// New returns a Handler. s3c and ssmc are usually *s3.Client and *ssm.Client;
// opts are eeexport.WithClock and eeexport.WithTempDir.
func New(cfg Config, s3c eeexport.S3API, ssmc eeexport.SSMAPI, logger *slog.Logger, opts ...eeexport.Option) *Handler {
	return &Handler{Runner: eeexport.NewRunner(cfg.Config, "dc-data-baker-export-current-ballots", s3c, ssmc, logger, opts...), cfg: cfg}
}

// Handle exports the current ballots and publishes the CSV. It never
// replaces the published file unless the whole export succeeded.
func (h *Handler) Handle(ctx context.Context, in In) (Out, error) {
	days := h.cfg.LookbackDays
	if in.LookbackDays != nil {
		days = *in.LookbackDays
	}
	if days < 0 || days > MaxLookbackDays {
		err := fmt.Errorf("event field lookback_days = %d: must be from 0 to %d", days, MaxLookbackDays)
		h.Log.Error("invalid event", "error", err.Error())
		return Out{}, err
	}
	now := h.Now()
	since := eeexport.Today(now).AddDate(0, 0, -days)
	runID := eeexport.RunID(ctx, now)
	log := h.Log.With("bucket", h.cfg.Bucket, "key", h.cfg.Key, "run_id", runID,
		"since", since.Format(time.DateOnly), "lookback_days", days)

	var st Stats
	size, err := h.Exp.Run(ctx, log, runID, func(ctx context.Context, conn *pgx.Conn, w io.Writer) error {
		var err error
		st, err = WriteCSV(ctx, conn, w, since)
		return err
	})
	if err != nil {
		return Out{}, err
	}
	log.Info("export published", "rows", st.Rows, "ballots", st.Ballots, "none_rows", st.NoneRows, "bytes", size)
	return Out{Bucket: h.cfg.Bucket, Key: h.cfg.Key, Rows: st.Rows}, nil
}
