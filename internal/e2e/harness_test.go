package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
	"github.com/DemocracyClub/dc-data-baker/internal/s3prefix"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

// TestMain stops the shared Postgres that the ballots export and the
// Athena fake use.
func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// Deploy-time values, as a development stack would have them.
const (
	abBucket  = "pollingstations.private.data"
	eeBucket  = "ee.data-cache.test"
	database  = core.DatabaseName
	workgroup = "dc-data-baker"
	topicArn  = "arn:aws:sns:eu-west-2:123456789012:dc-data-baker-failures"
	fnPrefix  = "arn:aws:lambda:eu-west-2:123456789012:function:"
	machineID = "arn:aws:states:eu-west-2:123456789012:stateMachine:Layer"
	execID    = "arn:aws:states:eu-west-2:123456789012:execution:Layer:run-1"
)

var vars = tables.Vars{Environment: "development", Release: "2026-03", BallotsPrefix: "ballots-with-wkt"}

var buckets = tables.Buckets{AddressBase: abBucket, EE: eeBucket}

var lambdas = flows.Lambdas{
	Guard:         fnPrefix + "check_step_function_running",
	TableLocation: fnPrefix + "get_glue_table_location",
	EmptyPrefix:   fnPrefix + "empty_s3_bucket_by_prefix",
	Query:         fnPrefix + "run_athena_query",
	ExportBallots: fnPrefix + "export_current_ballots",
	OutcodeSplit:  fnPrefix + "first_letter_to_outcode_parquet",
	DeleteStale:   fnPrefix + "delete_stale_outcodes",
}

var roles = map[string]string{
	lambdas.Guard:         "guard",
	lambdas.TableLocation: "tableLocation",
	lambdas.EmptyPrefix:   "emptyPrefix",
	lambdas.Query:         "query",
	lambdas.ExportBallots: "exportBallots",
	lambdas.OutcodeSplit:  "outcodeSplit",
	lambdas.DeleteStale:   "deleteStale",
}

// prefix returns a table's key prefix for vars.
func prefix(t testing.TB, tb tables.Table) string {
	t.Helper()
	p, err := tb.KeyPrefix(vars)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Key prefixes of the tables the machines touch.
var (
	cleanedPrefix     = "addressbase/2026-03/addressbase_cleaned/"
	partitionedPrefix = "addressbase/development/addressbase_partitioned/"
	joinedPrefix      = "addressbase/development/current_ballots_joined_to_address_base/"
	outcodePrefix     = "addressbase/development/current_elections_parquet/"
	ballotsKey        = "ballots-with-wkt/current_elections.csv"
	// abSource is the addressbase_source every row carries.
	abSource = "s3://" + abBucket + "/" + cleanedPrefix
)

func addressBaseParams() flows.AddressBaseParams {
	return flows.AddressBaseParams{
		Lambdas: lambdas, FailureTopicArn: topicArn, Database: database,
		TargetBucket: abBucket, TargetPrefix: partitionedPrefix,
	}
}

func currentElectionsParams() flows.CurrentElectionsParams {
	return flows.CurrentElectionsParams{
		Lambdas: lambdas, FailureTopicArn: topicArn, Database: database,
		Bucket: abBucket, JoinedPrefix: joinedPrefix, OutcodePrefix: outcodePrefix,
		Letters: []string{"B", "N"}, MaxConcurrency: 2, OutcodeMaxConcurrency: 2,
	}
}

// scenario sets what the fakes answer.
type scenario struct {
	// running are the RUNNING executions ListExecutions returns besides
	// the current one.
	running []runningExecution
	// failJoinLetter makes the join query FAIL for that letter.
	failJoinLetter string
	// throttleStarts is how many StartQueryExecution calls Athena refuses
	// with ThrottlingException before accepting.
	throttleStarts int
	// withExport routes exportBallots to the real Postgres export.
	withExport bool
}

type runningExecution struct {
	arn     string
	started time.Time
}

// env is one test's world: fakes, handlers and the Lambda server.
type env struct {
	t      *testing.T
	s3     *s3test.Server
	athena *fakeAthena
	glue   *awsfake.Server
	sfn    *awsfake.Server
	server *httptest.Server

	mu    sync.Mutex
	calls map[string]int // handler calls by role
}

// newEnv wires every real handler to its fake and serves them at
// POST /invoke/<role>.
func newEnv(t *testing.T, sc scenario) *env {
	t.Helper()
	nodetool.Require(t) // skip (or fail in CI) before starting anything
	e := &env{t: t, calls: map[string]int{}}
	e.s3 = s3test.New(t, abBucket, eeBucket)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	started := time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)
	e.sfn = awsfake.New(awsfake.JSON10, awsfake.Routes{
		"AWSStepFunctions.ListExecutions": func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct{ StateMachineArn, StatusFilter string }](body)
			if err != nil {
				return nil, err
			}
			if in.StateMachineArn != machineID || in.StatusFilter != "RUNNING" {
				return nil, &awsfake.APIError{Code: "InvalidArn", Message: fmt.Sprintf("fake lists RUNNING executions of %s only, got %s %s", machineID, in.StatusFilter, in.StateMachineArn)}
			}
			list := []map[string]any{execItem(execID, started)}
			for _, r := range sc.running {
				list = append(list, execItem(r.arn, r.started))
			}
			return map[string]any{"executions": list}, nil
		},
	})
	t.Cleanup(e.sfn.Close)

	e.glue = awsfake.New(awsfake.JSON11, awsfake.Routes{
		"AWSGlue.GetTable": func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct{ DatabaseName, Name string }](body)
			if err != nil {
				return nil, err
			}
			if in.DatabaseName != database || in.Name != "addressbase_cleaned_raw" {
				return nil, &awsfake.APIError{Code: "EntityNotFoundException", Message: fmt.Sprintf("table %s.%s not found", in.DatabaseName, in.Name)}
			}
			return map[string]any{"Table": map[string]any{
				"Name": in.Name, "DatabaseName": in.DatabaseName,
				"StorageDescriptor": map[string]any{"Location": "s3://" + abBucket + "/" + cleanedPrefix},
			}}, nil
		},
	})
	t.Cleanup(e.glue.Close)

	e.athena = newFakeAthena(t, e.s3.Client, sc)
	query := athenaquery.New(athena.NewFromConfig(e.athena.Config()), athenaquery.Config{WorkGroup: workgroup, Database: database}, logger)

	handlers := map[string]lambda.Handler{
		"guard":         lambda.NewHandler(sfnguard.New(sfn.NewFromConfig(e.sfn.Config()), logger).Handle),
		"tableLocation": lambda.NewHandler(gluetable.New(glue.NewFromConfig(e.glue.Config()), logger).Handle),
		"emptyPrefix":   lambda.NewHandler(s3prefix.New(e.s3.Client, logger).Handle),
		"query":         lambda.NewHandler(query.Handle),
		"outcodeSplit":  lambda.NewHandler(outcodes.SplitHandler{S3: e.s3.Client, Logger: logger}.Handle),
		"deleteStale":   lambda.NewHandler(outcodes.DeleteStaleHandler{S3: e.s3.Client, Logger: logger}.Handle),
	}
	if sc.withExport {
		handlers["exportBallots"] = lambda.NewHandler(ballotExport(t, e.s3.Client, logger).Handle)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /invoke/{role}", func(w http.ResponseWriter, r *http.Request) {
		role := r.PathValue("role")
		h, ok := handlers[role]
		if !ok {
			writeLambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "no handler for role "+role)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeLambdaError(w, http.StatusBadRequest, "RequestBodyError", err.Error())
			return
		}
		e.mu.Lock()
		e.calls[role]++
		e.mu.Unlock()
		out, err := h.Invoke(r.Context(), body)
		if err != nil {
			writeLambdaError(w, http.StatusInternalServerError, errorType(err), err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
	e.server = httptest.NewServer(mux)
	t.Cleanup(e.server.Close)
	return e
}

func execItem(arn string, started time.Time) map[string]any {
	return map[string]any{
		"executionArn": arn, "stateMachineArn": machineID, "name": arn[strings.LastIndex(arn, ":")+1:],
		"status": "RUNNING", "startDate": float64(started.Unix()),
	}
}

// ballotExport is the real export Lambda reading a scratch EE database
// (skipped without Postgres, failed in CI) and publishing to the fake S3.
func ballotExport(t *testing.T, client *s3.Client, logger *slog.Logger) *ballotexport.Handler {
	t.Helper()
	db := eetest.NewDB(t)
	cfg, err := ballotexport.ConfigFromEnv(db.Env(eeBucket))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Key != ballotsKey {
		t.Fatalf("export key %q, want the current_ballots table's %q", cfg.Key, ballotsKey)
	}
	return ballotexport.New(cfg, client, eetest.NewSSM(t, db.SSMParams()).Client, logger,
		ballotexport.WithClock(func() time.Time { return eetest.Now }), ballotexport.WithTempDir(t.TempDir()))
}

// errorType names err as aws-lambda-go does for the Lambda errorType.
func errorType(err error) string {
	ty := reflect.TypeOf(err)
	if ty.Kind() == reflect.Pointer {
		return ty.Elem().Name()
	}
	return ty.Name()
}

func writeLambdaError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

// handlerCalls returns the handler calls by role.
func (e *env) handlerCalls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for k, v := range e.calls {
		out[k] = v
	}
	return out
}

// report is what the local state machine runner prints.
type report = nodetool.SFNReport

// run executes sm with tools/run-sfn-http.mjs under Node 22.
func (e *env) run(sm asl.StateMachine) report {
	t := e.t
	t.Helper()

	def, err := sm.Render()
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	var r report
	nodetool.RunScript(t, "run-sfn-http.mjs", map[string]any{
		"definition": json.RawMessage(def),
		"input":      map[string]any{"source": "e2e"},
		"context": map[string]any{
			"StateMachine": map[string]any{"Id": machineID},
			"Execution":    map[string]any{"Id": execID},
		},
		"baseURL": e.server.URL,
		"roles":   roles,
	}, &r)
	return r
}

// fmtCalls lists the Lambda calls for a failure message.
func fmtCalls(r report) string {
	var b strings.Builder
	for _, c := range r.Calls {
		fmt.Fprintf(&b, "  %s (%s)", c.State, c.Role)
		if c.Error != "" {
			fmt.Fprintf(&b, " -> %s: %s", c.Error, c.Message)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// keys lists the object keys under prefix with their ETags.
func (e *env) keys(bucket, pfx string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	p := s3.NewListObjectsV2Paginator(e.s3.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(pfx)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			e.t.Fatalf("list s3://%s/%s: %v", bucket, pfx, err)
		}
		for _, o := range page.Contents {
			out[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
	}
	return out
}

// put writes one object.
func (e *env) put(bucket, key string, data []byte) {
	e.t.Helper()
	if _, err := e.s3.Client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	}); err != nil {
		e.t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// get reads one object.
func (e *env) get(bucket, key string) []byte {
	e.t.Helper()
	b, err := getObject(context.Background(), e.s3.Client, bucket, key)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func getObject(ctx context.Context, client *s3.Client, bucket, key string) ([]byte, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return b, nil
}
