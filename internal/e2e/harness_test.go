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
	"path/filepath"
	"reflect"
	"slices"
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

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layer/layertest"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
	"github.com/DemocracyClub/dc-data-baker/internal/plausibility"
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
	topicArn  = "arn:aws:sns:eu-west-2:123456789012:dc-data-baker-failures"
	machineID = "arn:aws:states:eu-west-2:123456789012:stateMachine:Layer"
	execID    = "arn:aws:states:eu-west-2:123456789012:execution:Layer:run-1"
	// The layers' machines, for the tests that run both; each conflicts
	// with the other.
	abMachine = "arn:aws:states:eu-west-2:123456789012:stateMachine:MakeAddressBasePartitioned"
	ceMachine = "arn:aws:states:eu-west-2:123456789012:stateMachine:MakeCurrentElectionsParquet"
)

// The Glue database and Athena workgroup, named as in production, as the
// fake's named queries are rendered.
var (
	database  = layer.NamesFor("production").Database
	workgroup = layer.NamesFor("production").Workgroup
)

// started is when e.run's execution started.
var started = time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC)

var vars = tables.Vars{Environment: "development", Release: "2026-03", BallotsPrefix: "ballots-with-wkt"}

var buckets = tables.Buckets{AddressBase: abBucket, EE: eeBucket}

var lambdas = layertest.Lambdas

var roles = layertest.Roles

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
	stagingPrefix     = "addressbase/development/staging/current_elections_parquet/"
	ballotsKey        = "ballots-with-wkt/current_elections.csv"
	// abSource is the addressbase_source every row carries.
	abSource = "s3://" + abBucket + "/" + cleanedPrefix
)

func addressBaseParams() addressbase.FlowParams {
	return addressbase.FlowParams{
		Frame:    flows.Frame{Lambdas: lambdas, FailureTopicArn: topicArn, Guard: flows.Guard{ConflictingStateMachineArns: []string{ceMachine}}},
		Database: database, TargetBucket: abBucket, TargetPrefix: partitionedPrefix,
	}
}

func currentElectionsParams() currentelections.FlowParams {
	return currentelections.FlowParams{
		Frame:    flows.Frame{Lambdas: lambdas, FailureTopicArn: topicArn, Guard: flows.Guard{ConflictingStateMachineArns: []string{abMachine}}},
		Database: database, Bucket: abBucket, JoinedPrefix: joinedPrefix, StagingPrefix: stagingPrefix, OutcodePrefix: outcodePrefix,
		Letters: []string{"B", "N"},
	}
}

// scenario sets what the fakes answer.
type scenario struct {
	// running are RUNNING executions of machineID besides the ones the
	// test starts.
	running []runningExecution
	// fail makes that query ("name" or "name/letter") FAIL with
	// failMessage(fail).
	fail string
	// throttleStarts is how many StartQueryExecution calls Athena refuses
	// with ThrottlingException before accepting.
	throttleStarts int
	// withExport routes exportBallots to the real Postgres export.
	withExport bool
	// hold keeps these queries ("name" or "name/letter") RUNNING until
	// released or stopped, and a failing query reports RUNNING until every
	// held query has started, so the failure finds them running.
	hold []string
	// foreignQuery is a RUNNING query tagged with another execution.
	foreignQuery string
	// refuseStops denies the query Lambda ListQueryExecutions.
	refuseStops bool
	// corruptLetter puts an object that is not parquet into that letter's
	// joined partition just before its outcode split reads it, so the real
	// split fails for that letter only.
	corruptLetter string
}

// corruptingSplit is the real split Lambda, run after planting a corrupt
// object in scenario.corruptLetter's joined partition.
type corruptingSplit struct {
	next   lambda.Handler
	put    func(bucket, key string, body []byte)
	letter string
}

func (c corruptingSplit) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var ev outcodes.SplitEvent
	if err := json.Unmarshal(payload, &ev); err == nil && ev.FirstLetter == c.letter {
		c.put(ev.Bucket, ev.SourcePrefix+"first_letter="+c.letter+"/zz-corrupt.parquet", []byte("not parquet"))
	}
	return c.next.Invoke(ctx, payload)
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
	glue   *awsfake.Glue
	sfn    *awsfake.Server
	server *httptest.Server

	mu    sync.Mutex
	calls map[string]int // handler calls by role
	// executions are what the Step Functions fake lists: the ones the
	// test starts, RUNNING until their runner returns.
	executions []*sfnExecution
	// log is every handler call and every execution's end, in order.
	log []event
}

type sfnExecution struct {
	machine, arn string
	start        time.Time
	status       string
}

// event is one handler call (role set) or an execution's end.
type event struct {
	role      string
	execution string // the guard's currentExecutionArn
	decision  string // the guard's decision
	ended     string // the execution that ended
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

	for _, r := range sc.running {
		e.executions = append(e.executions, &sfnExecution{machine: machineID, arn: r.arn, start: r.started, status: "RUNNING"})
	}
	e.sfn = awsfake.New(awsfake.JSON10, awsfake.Routes{
		"AWSStepFunctions.ListExecutions": func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct{ StateMachineArn, StatusFilter string }](body)
			if err != nil {
				return nil, err
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			list := []map[string]any{}
			for _, x := range e.executions {
				if x.machine == in.StateMachineArn && (in.StatusFilter == "" || in.StatusFilter == x.status) {
					list = append(list, map[string]any{
						"executionArn": x.arn, "stateMachineArn": x.machine, "name": x.arn[strings.LastIndex(x.arn, ":")+1:],
						"status": x.status, "startDate": float64(x.start.UnixMilli()) / 1000,
					})
				}
			}
			return map[string]any{"executions": list}, nil
		},
	})
	t.Cleanup(e.sfn.Close)

	// The Glue catalog holds every table the machines read at its declared
	// location, as a deploy creates them; runs move the run-scoped ones.
	var glueTables []awsfake.GlueTable
	for _, tb := range catalogTables() {
		glueTables = append(glueTables, awsfake.GlueTable{Name: tb.Name, Location: "s3://" + tb.Bucket + "/" + prefix(t, tb), Parameters: tb.Projection()})
	}
	e.glue = awsfake.NewGlue(database, glueTables...)
	t.Cleanup(e.glue.Close)

	e.athena = newFakeAthena(t, e.s3.Client, e.glue, sc)
	query := athenaquery.New(athena.NewFromConfig(e.athena.Config()), athenaquery.Config{WorkGroup: workgroup, Database: database}, logger)

	handlers := map[string]lambda.Handler{
		"guard":         lambda.NewHandler(sfnguard.New(sfn.NewFromConfig(e.sfn.Config()), logger).Handle),
		"tableLocation": lambda.NewHandler(gluetable.New(glue.NewFromConfig(e.glue.Config()), logger).Handle),
		"emptyPrefix":   lambda.NewHandler(s3prefix.New(e.s3.Client, logger).Handle),
		"query":         lambda.NewHandler(query.Handle),
		"outcodeSplit":  lambda.NewHandler(outcodes.SplitHandler{S3: e.s3.Client, Logger: logger}.Handle),
		"publish":       lambda.NewHandler(outcodes.PublishHandler{S3: e.s3.Client, Logger: logger}.Handle),
		"plausibility":  lambda.NewHandler(plausibility.Handler{S3: e.s3.Client, Logger: logger}.Handle),
	}
	if sc.corruptLetter != "" {
		handlers["outcodeSplit"] = corruptingSplit{next: handlers["outcodeSplit"], put: e.put, letter: sc.corruptLetter}
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
		ev := event{role: role}
		if role == "guard" {
			var in sfnguard.Input
			var res sfnguard.Output
			_ = json.Unmarshal(body, &in)
			_ = json.Unmarshal(out, &res)
			ev.execution, ev.decision = in.CurrentExecutionArn, res.Decision
		}
		e.mu.Lock()
		e.log = append(e.log, ev)
		e.mu.Unlock()
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
		eeexport.WithClock(func() time.Time { return eetest.Now }), eeexport.WithTempDir(t.TempDir()))
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

type call = nodetool.SFNCall

// run executes sm as execID of machineID, started at started.
func (e *env) run(sm asl.StateMachine) report {
	e.t.Helper()
	return e.start(sm, machineID, execID, started)()
}

// start registers a RUNNING execution with the Step Functions fake and runs
// sm as it with tools/run-sfn-http.mjs under Node 22, in the background.
// When the runner returns, the execution takes its final status. The
// returned func waits for the report; call it from the test's goroutine.
// Wait states take waitMs instead of their seconds.
func (e *env) start(sm asl.StateMachine, machine, arn string, at time.Time) func() report {
	t := e.t
	t.Helper()
	def, err := sm.Render()
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	req, err := json.Marshal(map[string]any{
		"definition": json.RawMessage(def),
		"input":      map[string]any{"source": "e2e"},
		"context": map[string]any{
			"StateMachine": map[string]any{"Id": machine},
			"Execution":    map[string]any{"Id": arn, "Name": arn[strings.LastIndex(arn, ":")+1:]},
		},
		"baseURL": e.server.URL,
		"roles":   roles,
		"waitMs":  10,
	})
	if err != nil {
		t.Fatal(err)
	}
	root := nodetool.Require(t)
	node, err := nodetool.Node22(root)
	if err != nil {
		t.Fatal(err)
	}
	x := e.register(machine, arn, at)

	type result struct {
		r   report
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var res result
		out, err := nodetool.Run(ctx, root, req, node, filepath.Join(root, "tools", "run-sfn-http.mjs"))
		if err == nil {
			err = json.Unmarshal(out, &res.r)
		}
		res.err = err
		e.mu.Lock()
		x.status = res.r.Status
		if err != nil {
			x.status = "FAILED"
		}
		e.log = append(e.log, event{ended: arn})
		e.mu.Unlock()
		done <- res
	}()
	return func() report {
		t.Helper()
		res := <-done
		if res.err != nil {
			t.Fatalf("run %s: %v", arn, res.err)
		}
		return res.r
	}
}

// register lists arn as a RUNNING execution of machine with the Step
// Functions fake, unless it is listed already, and returns it. Register
// executions that must see each other before starting any of them.
func (e *env) register(machine, arn string, at time.Time) *sfnExecution {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.executions {
		if x.arn == arn {
			return x
		}
	}
	x := &sfnExecution{machine: machine, arn: arn, start: at, status: "RUNNING"}
	e.executions = append(e.executions, x)
	return x
}

// events returns the log so far.
func (e *env) events() []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// decisions returns the guard's decisions for arn so far, in order.
func (e *env) decisions(arn string) []string {
	var out []string
	for _, ev := range e.events() {
		if ev.execution == arn {
			out = append(out, ev.decision)
		}
	}
	return out
}

// count returns how often the guard told arn decision so far.
func (e *env) count(arn, decision string) int {
	n := 0
	for _, d := range e.decisions(arn) {
		if d == decision {
			n++
		}
	}
	return n
}

// assertWaitedFor checks that the guard told waiter to wait until blocker
// had ended, and then to proceed, once.
func (e *env) assertWaitedFor(waiter, blocker string) {
	e.t.Helper()
	evs := e.events()
	ended := slices.IndexFunc(evs, func(ev event) bool { return ev.ended == blocker })
	if ended < 0 {
		e.t.Fatalf("%s has not ended", blocker)
	}
	for i, ev := range evs {
		if ev.execution == waiter && ev.decision == sfnguard.Proceed && i < ended {
			e.t.Errorf("%s was told to proceed (event %d) before %s ended (event %d)", waiter, i, blocker, ended)
		}
	}
	d := e.decisions(waiter)
	if len(d) < 2 || d[len(d)-1] != sfnguard.Proceed || slices.ContainsFunc(d[:len(d)-1], func(x string) bool { return x != sfnguard.Wait }) {
		e.t.Errorf("%s's guard decisions %q, want waits then one proceed", waiter, d)
	}
}

// eventually polls cond until it holds, failing the test after a minute.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting until %s", what)
		}
	}
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
