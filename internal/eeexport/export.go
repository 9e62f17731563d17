package eeexport

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/jackc/pgx/v5"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// Exporter runs one export from EE's database to one S3 object. Build it
// with NewExporter.
type Exporter struct {
	cfg     Config
	app     string
	s3      S3API
	ssm     SSMAPI
	TempDir string // where the file is staged before upload; "" is os.TempDir()
	// Now dates the history copy; nil is time.Now.
	Now func() time.Time
}

// NewExporter returns an Exporter publishing to cfg.Bucket/cfg.Key. app
// names the export in the database's pg_stat_activity (application_name).
// s3c and ssmc are usually *s3.Client and *ssm.Client.
func NewExporter(cfg Config, app string, s3c S3API, ssmc SSMAPI) *Exporter {
	return &Exporter{cfg: cfg, app: app, s3: s3c, ssm: ssmc}
}

// Config returns the exporter's configuration.
func (e *Exporter) Config() Config { return e.cfg }

// WriteFunc writes an export's file from the database to w.
type WriteFunc func(ctx context.Context, conn *pgx.Conn, w io.Writer) error

// Run reads the connection details from SSM, connects, streams write's
// output into a temporary file and publishes it atomically over the
// configured key, staged at tables.HiddenKey(key, runID). The published
// object is never replaced unless the whole export succeeded. It logs
// each failure (never a password) to log and returns the file's size.
func (e *Exporter) Run(ctx context.Context, log *slog.Logger, runID string, write WriteFunc) (int64, error) {
	params, err := loadDBParams(ctx, e.ssm, e.cfg.DB)
	if err != nil {
		log.Error("read database parameters", "error", err.Error())
		return 0, err
	}
	log.Info("export started", "db", params, "port", e.cfg.Port)

	size, file, err := e.exportToFile(ctx, params, write)
	if file != nil {
		defer func() {
			file.Close()
			os.Remove(file.Name())
		}()
	}
	if err != nil {
		log.Error("export failed; published file left unchanged", "error", err.Error())
		return 0, err
	}

	// The dated copy is written first, so every file ever published has
	// one: a failure here leaves the published file as it was.
	if e.cfg.HistoryBucket != "" {
		if err := e.keepHistory(ctx, file, size); err != nil {
			log.Error("history copy failed; published file left unchanged", "error", err.Error())
			return 0, err
		}
	}
	tmpKey := tables.HiddenKey(e.cfg.Key, runID)
	if err := publish(ctx, e.s3, e.cfg.Bucket, e.cfg.Key, tmpKey, file, size); err != nil {
		log.Error("publish failed", "error", err.Error(), "temp_key", tmpKey)
		return 0, err
	}
	return size, nil
}

// exportToFile streams write into a temp file and returns it rewound.
// The caller closes and removes the file, which is returned even on error.
func (e *Exporter) exportToFile(ctx context.Context, p DBParams, write WriteFunc) (int64, *os.File, error) {
	cc, err := connConfig(p, e.cfg.Port, e.cfg.SSLMode, e.app)
	if err != nil {
		return 0, nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return 0, nil, fmt.Errorf("connect to database %s port %d: %w", p, e.cfg.Port, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	f, err := os.CreateTemp(e.TempDir, e.app+"-*.csv")
	if err != nil {
		return 0, nil, fmt.Errorf("create temp file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(ctx, conn, bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return 0, f, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, f, fmt.Errorf("size of %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, f, fmt.Errorf("rewind %s: %w", f.Name(), err)
	}
	return size, f, nil
}

// HistoryKey is where the copy of a file exported at now goes:
// <prefix><YYYY-MM-DD>/<base>-<HHMMSS>Z<ext> in UTC, e.g.
// current_elections/2026-12-02/current_elections-180512Z.csv, so a day's
// exports sort by time and none overwrites another.
func HistoryKey(prefix, key string, now time.Time) string {
	base := path.Base(key)
	ext := path.Ext(base)
	u := now.UTC()
	return prefix + u.Format("2006-01-02") + "/" + strings.TrimSuffix(base, ext) + "-" + u.Format("150405") + "Z" + ext
}

// keepHistory uploads the staged file to its history key and rewinds it
// for the publish.
func (e *Exporter) keepHistory(ctx context.Context, file *os.File, size int64) error {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	key := HistoryKey(e.cfg.HistoryPrefix, e.cfg.Key, now())
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(e.cfg.HistoryBucket), Key: aws.String(key), Body: file,
		ContentLength: aws.Int64(size), ContentType: aws.String("text/csv; charset=utf-8"),
	}); err != nil {
		return fmt.Errorf("keep history copy s3://%s/%s: %w", e.cfg.HistoryBucket, key, err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: %w", file.Name(), err)
	}
	return nil
}

// RunID names a run's temporary key: the Lambda request id when there is
// one, else a timestamp.
func RunID(ctx context.Context, now time.Time) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return strconv.FormatInt(now.UnixNano(), 10)
}

// Today is the UTC date of now, at midnight.
func Today(now time.Time) time.Time {
	u := now.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
}

// CheckSRID refuses a geometry that is not in EPSG:4326 (lon lat), the
// only reference system the exported CSVs may hold.
func CheckSRID(srid *int32) error {
	if srid == nil || *srid != 4326 {
		got := "NULL"
		if srid != nil {
			got = strconv.Itoa(int(*srid))
		}
		return fmt.Errorf("geography has SRID %s, want 4326 (lon lat)", got)
	}
	return nil
}
