package ballotexport

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/jackc/pgx/v5"
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
	cfg    Config
	s3     s3API
	ssm    ssmAPI
	log    *slog.Logger
	now    func() time.Time
	tmpDir string
}

// Option customises a Handler.
type Option func(*Handler)

// WithClock sets the clock that defines "today" for the look-back window.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithTempDir sets where the CSV is staged before upload (default os.TempDir()).
func WithTempDir(dir string) Option { return func(h *Handler) { h.tmpDir = dir } }

// New returns a Handler. s3c and ssmc are usually *s3.Client and *ssm.Client.
func New(cfg Config, s3c s3API, ssmc ssmAPI, logger *slog.Logger, opts ...Option) *Handler {
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	h := &Handler{cfg: cfg, s3: s3c, ssm: ssmc, log: logger, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
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
		h.log.Error("invalid event", "error", err.Error())
		return Out{}, err
	}
	today := h.now().UTC()
	since := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -days)
	runID := runID(ctx, today)
	log := h.log.With("bucket", h.cfg.Bucket, "key", h.cfg.Key, "run_id", runID)

	params, err := loadDBParams(ctx, h.ssm, h.cfg)
	if err != nil {
		log.Error("read database parameters", "error", err.Error())
		return Out{}, err
	}
	log.Info("export started", "db", params, "port", h.cfg.Port, "since", since.Format(time.DateOnly), "lookback_days", days)

	st, size, file, err := h.exportToFile(ctx, params, since)
	if file != nil {
		defer func() {
			file.Close()
			os.Remove(file.Name())
		}()
	}
	if err != nil {
		log.Error("export failed; published file left unchanged", "error", err.Error(), "rows_before_error", st.Rows)
		return Out{}, err
	}

	tmpKey := tables.HiddenKey(h.cfg.Key, runID)
	if err := publish(ctx, h.s3, h.cfg.Bucket, h.cfg.Key, tmpKey, file, size); err != nil {
		log.Error("publish failed", "error", err.Error(), "temp_key", tmpKey)
		return Out{}, err
	}
	log.Info("export published", "rows", st.Rows, "ballots", st.Ballots, "none_rows", st.NoneRows, "bytes", size)
	return Out{Bucket: h.cfg.Bucket, Key: h.cfg.Key, Rows: st.Rows}, nil
}

// exportToFile streams the query into a temp file and returns it rewound.
// The caller closes and removes the file, which is returned even on error.
func (h *Handler) exportToFile(ctx context.Context, p DBParams, since time.Time) (Stats, int64, *os.File, error) {
	cc, err := connConfig(p, h.cfg.Port, h.cfg.SSLMode)
	if err != nil {
		return Stats{}, 0, nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return Stats{}, 0, nil, fmt.Errorf("connect to database %s port %d: %w", p, h.cfg.Port, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	f, err := os.CreateTemp(h.tmpDir, "current_elections-*.csv")
	if err != nil {
		return Stats{}, 0, nil, fmt.Errorf("create temp file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	st, err := WriteCSV(ctx, conn, bw, since)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return st, 0, f, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return st, 0, f, fmt.Errorf("size of %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return st, 0, f, fmt.Errorf("rewind %s: %w", f.Name(), err)
	}
	return st, size, f, nil
}

// runID names this run's temporary key: the Lambda request id when there
// is one, else a timestamp.
func runID(ctx context.Context, now time.Time) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return strconv.FormatInt(now.UnixNano(), 10)
}
