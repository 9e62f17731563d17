package athenaquery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/athenafake"
	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"
)

const (
	workgroup = "dc-data-baker"
	database  = "dc_data_baker"
	// uprnSQL is shaped like the deploy-time-rendered named query.
	uprnSQL = "UNLOAD (SELECT uprn, address, postcode, addressbase_source, ballot_ids FROM joined WHERE first_letter = '{first_letter}') " +
		"TO 's3://dc-data-baker-results/current_ballots_joined_to_address_base/first_letter={first_letter}/' WITH (format='PARQUET', compression='SNAPPY')"
)

// newFakeAthena is the shared Athena fake answering from a script.
func newFakeAthena(t *testing.T, pageSize int, queries []athenafake.NamedQuery, script athenafake.Script) *athenafake.Server {
	return athenafake.New(t, athenafake.Options{PageSize: pageSize, NamedQueries: queries, Engine: script})
}

func rendered(letter string) string {
	return strings.ReplaceAll(uprnSQL, "{first_letter}", letter)
}

// manyQueries returns n named queries in the workgroup, with the ones given
// appended at the end so that they are on the last page.
func manyQueries(n int, extra ...athenafake.NamedQuery) []athenafake.NamedQuery {
	qs := make([]athenafake.NamedQuery, 0, n+len(extra))
	for i := range n {
		qs = append(qs, athenafake.NamedQuery{NamedQueryID: fmt.Sprintf("nq-%03d", i), Name: fmt.Sprintf("other-%03d", i), Database: database, QueryString: "SELECT 1", WorkGroup: workgroup})
	}
	return append(qs, extra...)
}

var uprnQuery = athenafake.NamedQuery{NamedQueryID: "nq-uprn", Name: "uprn-to-ballots-first-letter", Database: database, QueryString: uprnSQL, WorkGroup: workgroup}

// clock is a fake time source; Sleep advances it and records each wait.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return ctx.Err()
}

func newHandler(f *athenafake.Server) (*athenaquery.Handler, *clock) {
	h := athenaquery.New(f.Client(), athenaquery.Config{WorkGroup: workgroup, Database: database}, nil)
	c := &clock{now: time.Now()}
	h.Now, h.Sleep = c.Now, c.Sleep
	return h, c
}

func readPayload(t *testing.T, name string) []byte {
	t.Helper()
	return lambdatest.Payload(t, "run_athena_query", name)
}

// TestInvokeJSON drives the handler through the Lambda JSON boundary with the
// state machine's payloads.
func TestInvokeJSON(t *testing.T) {
	script := athenafake.Script{
		rendered("A"): {{State: "QUEUED"}, {State: "RUNNING"}, {State: "SUCCEEDED", Scanned: 987654321}},
		rendered("B"): {{State: "RUNNING"}},
		rendered("C") + "\n-- dc-data-baker execution " + execArn: {{State: "RUNNING"}},
		"MSCK REPAIR TABLE addressbase_partitioned":               {{State: "SUCCEEDED"}},
		"earlier": {{State: "RUNNING", Scanned: 1024}},
	}
	tests := []struct {
		payload    string
		wantOut    string
		wantErr    string
		wantSleeps []time.Duration
		wantSQL    []string
	}{
		{
			payload:    "blocking_named_query.json",
			wantOut:    `{"queryExecutionId":"exec-1","status":"SUCCEEDED","dataScannedBytes":987654321}`,
			wantSleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
			wantSQL:    []string{rendered("A")},
		},
		{
			payload: "nonblocking_named_query.json",
			wantOut: `{"queryExecutionId":"exec-1"}`,
			wantSQL: []string{rendered("B")},
		},
		{
			payload: "tagged_named_query.json",
			wantOut: `{"queryExecutionId":"exec-1"}`,
			wantSQL: []string{rendered("C") + "\n-- dc-data-baker execution " + execArn},
		},
		{
			payload: "blocking_query_string.json",
			wantOut: `{"queryExecutionId":"exec-1","status":"SUCCEEDED","dataScannedBytes":0}`,
			wantSQL: []string{"MSCK REPAIR TABLE addressbase_partitioned"},
		},
		{
			payload: "status_check.json",
			wantOut: `{"queryExecutionId":"exec-earlier","status":"RUNNING","dataScannedBytes":1024}`,
		},
		{
			payload: "missing_context.json",
			wantErr: `render query "uprn-to-ballots-first-letter": no context value for placeholder(s) {first_letter}`,
		},
		{
			payload: "unknown_query.json",
			wantErr: `named query "no-such-query" not found in workgroup "dc-data-baker" (121 named queries listed); if a deploy is running this clears when it ends, otherwise run pulumi up`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			f := newFakeAthena(t, 50, manyQueries(120, uprnQuery), script)
			f.AddExecution("exec-earlier", "earlier", script["earlier"]...)
			h, clk := newHandler(f)
			out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), readPayload(t, tt.payload))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if n := len(f.Started()); n != 0 {
					t.Errorf("%d queries started despite the error", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(decode(t, tt.wantOut), decode(t, string(out))); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSleeps, clk.sleeps); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			var gotSQL []string
			for _, s := range f.Started() {
				gotSQL = append(gotSQL, s.QueryString)
				if s.WorkGroup != workgroup || s.QueryExecutionContext.Database != database {
					t.Errorf("started in workgroup %q database %q, want %q %q", s.WorkGroup, s.QueryExecutionContext.Database, workgroup, database)
				}
			}
			if diff := cmp.Diff(tt.wantSQL, gotSQL); diff != "" {
				t.Errorf("started SQL (-want +got):\n%s", diff)
			}
		})
	}
}

const execArn = "arn:aws:states:eu-west-2:123456789012:execution:MakeCurrentElectionsParquet:run-1"

// TestStopExecutionQueries stops, through the JSON boundary, exactly the
// queued and running queries tagged with the execution, reading every page
// of the workgroup's executions.
func TestStopExecutionQueries(t *testing.T) {
	tag := func(arn string) string { return "\n-- dc-data-baker execution " + arn }
	running, queued, done, failed := "SELECT 'running'", "SELECT 'queued'", "SELECT 'done'", "SELECT 'failed'"
	script := athenafake.Script{
		running + tag(execArn):                {{State: "RUNNING"}},
		queued + tag(execArn) + ";\n":         {{State: "QUEUED"}},
		done + tag(execArn):                   {{State: "SUCCEEDED"}},
		failed + tag(execArn):                 {{State: "FAILED", Reason: "boom"}},
		running + tag(execArn+"0"):            {{State: "RUNNING"}}, // another execution whose ARN extends this one's
		running + tag(execArn) + "\nSELECT 1": {{State: "RUNNING"}}, // the tag is not the end of the query
		running:                               {{State: "RUNNING"}}, // started by hand
	}
	f := newFakeAthena(t, 50, nil, script)
	for i := range 110 { // history, so the tagged queries are on the third page
		f.AddExecution(fmt.Sprintf("old-%03d", i), done+tag(execArn), script[done+tag(execArn)]...)
	}
	var want []string
	for i, sql := range []string{running + tag(execArn), queued + tag(execArn) + ";\n", done + tag(execArn), failed + tag(execArn),
		running + tag(execArn+"0"), running + tag(execArn) + "\nSELECT 1", running} {
		id := fmt.Sprintf("q-%d", i)
		f.AddExecution(id, sql, script[sql]...)
		if i < 2 {
			want = append(want, id)
		}
	}
	slices.Reverse(want) // the API lists newest first
	h, _ := newHandler(f)
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), readPayload(t, "stop_execution_queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"stopped":["q-1","q-0"]}`, string(out)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	var stopped []string
	for _, c := range f.Calls("AmazonAthena.StopQueryExecution") {
		in, err := awsfake.Decode[struct{ QueryExecutionId string }](c.Body)
		if err != nil {
			t.Fatal(err)
		}
		stopped = append(stopped, in.QueryExecutionId)
	}
	if diff := cmp.Diff(want, stopped); diff != "" {
		t.Errorf("StopQueryExecution calls (-want +got):\n%s", diff)
	}
	if n := len(f.Calls("AmazonAthena.ListQueryExecutions")); n != 3 {
		t.Errorf("ListQueryExecutions called %d times, want 3 pages", n)
	}
	var batches []int
	for _, c := range f.Calls("AmazonAthena.BatchGetQueryExecution") {
		in, err := awsfake.Decode[struct{ QueryExecutionIds []string }](c.Body)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, len(in.QueryExecutionIds))
	}
	if diff := cmp.Diff([]int{50, 50, 17}, batches); diff != "" {
		t.Errorf("BatchGetQueryExecution batch sizes (-want +got):\n%s", diff)
	}
	if n := len(f.Started()); n != 0 {
		t.Errorf("stop mode started %d queries", n)
	}
}

func TestStopExecutionQueriesErrors(t *testing.T) {
	t.Run("an ARN that could end the comment", func(t *testing.T) {
		f := newFakeAthena(t, 50, nil, nil)
		h, _ := newHandler(f)
		_, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), readPayload(t, "stop_bad_execution_arn.json"))
		if err == nil || !strings.Contains(err.Error(), "is not an ARN without spaces or control characters") {
			t.Fatalf("error = %v", err)
		}
		if n := len(f.Calls("")); n != 0 {
			t.Errorf("%d Athena calls for a bad ARN", n)
		}
	})
	t.Run("stop combined with a start", func(t *testing.T) {
		h, _ := newHandler(newFakeAthena(t, 50, nil, nil))
		_, err := h.Handle(context.Background(), athenaquery.Input{Stop: true, ExecutionArn: execArn, QueryString: "SELECT 1"})
		if err == nil || !strings.Contains(err.Error(), "stop cannot be combined") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("a query that cannot be read does not keep the others running", func(t *testing.T) {
		tagged := "SELECT 1\n-- dc-data-baker execution " + execArn
		f := newFakeAthena(t, 50, nil, athenafake.Script{tagged: {{State: "RUNNING"}}})
		f.AddExecution("q-1", tagged, athenafake.Status{State: "RUNNING"})
		f.Forget("q-1-expired") // listed, but BatchGetQueryExecution cannot read it
		h, _ := newHandler(f)
		_, err := h.Handle(context.Background(), athenaquery.Input{Stop: true, ExecutionArn: execArn})
		if err == nil || !strings.Contains(err.Error(), "(stopped 1: q-1)") || !strings.Contains(err.Error(), "query execution q-1-expired could not be read: INVALID_INPUT") {
			t.Fatalf("error = %v", err)
		}
		if n := len(f.Calls("AmazonAthena.StopQueryExecution")); n != 1 {
			t.Errorf("StopQueryExecution called %d times, want 1", n)
		}
	})
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

// TestNamedQueryLookupPagination checks that every ListNamedQueries page is
// read and that details are fetched in batches of at most 50 IDs.
func TestNamedQueryLookupPagination(t *testing.T) {
	tests := []struct {
		name      string
		pageSize  int
		others    int
		wantPages int
		wantBatch []int
	}{
		{name: "one page", pageSize: 50, others: 3, wantPages: 1, wantBatch: []int{4}},
		{name: "target on third page", pageSize: 50, others: 120, wantPages: 3, wantBatch: []int{50, 50, 21}},
		{name: "pages smaller than batches", pageSize: 7, others: 60, wantPages: 9, wantBatch: []int{50, 11}},
		{name: "exactly one full batch", pageSize: 25, others: 49, wantPages: 2, wantBatch: []int{50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := athenafake.NamedQuery{NamedQueryID: "elsewhere", Name: uprnQuery.Name, QueryString: "SELECT 'wrong workgroup'", WorkGroup: "primary"}
			f := newFakeAthena(t, tt.pageSize, append(manyQueries(tt.others, uprnQuery), other), nil)
			h, _ := newHandler(f)
			nq, err := h.FindNamedQuery(context.Background(), "uprn-to-ballots-first-letter")
			if err != nil {
				t.Fatal(err)
			}
			if got := *nq.QueryString; got != uprnSQL {
				t.Errorf("QueryString = %q, want %q", got, uprnSQL)
			}
			lists := f.Calls("AmazonAthena.ListNamedQueries")
			if len(lists) != tt.wantPages {
				t.Errorf("ListNamedQueries called %d times, want %d", len(lists), tt.wantPages)
			}
			for _, c := range lists {
				if !strings.Contains(string(c.Body), `"WorkGroup":"dc-data-baker"`) {
					t.Errorf("ListNamedQueries without the workgroup: %s", c.Body)
				}
			}
			var batches []int
			for _, c := range f.Calls("AmazonAthena.BatchGetNamedQuery") {
				var in struct{ NamedQueryIds []string }
				if err := json.Unmarshal(c.Body, &in); err != nil {
					t.Fatal(err)
				}
				batches = append(batches, len(in.NamedQueryIds))
			}
			if diff := cmp.Diff(tt.wantBatch, batches); diff != "" {
				t.Errorf("BatchGetNamedQuery sizes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNamedQueryLookupErrors(t *testing.T) {
	dup := uprnQuery
	dup.NamedQueryID = "nq-uprn-2"
	tests := []struct {
		name    string
		queries []athenafake.NamedQuery
		wantErr string
	}{
		{name: "empty workgroup", wantErr: `named query "uprn-to-ballots-first-letter" not found in workgroup "dc-data-baker" (0 named queries listed)`},
		{name: "only in another workgroup", queries: []athenafake.NamedQuery{{NamedQueryID: "x", Name: uprnQuery.Name, WorkGroup: "primary"}}, wantErr: `not found in workgroup "dc-data-baker"`},
		// What a deploy that replaced a query create-before-delete would
		// leave for a while: Athena keeps no creation time, so there is no
		// newest to pick, and the error must say what to do.
		{name: "two with the same name", queries: manyQueries(60, uprnQuery, dup), wantErr: `named query "uprn-to-ballots-first-letter" is ambiguous in workgroup "dc-data-baker": 2 queries have that name (nq-uprn, nq-uprn-2); delete all but the one pulumi manages`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAthena(t, 50, tt.queries, nil)
			h, _ := newHandler(f)
			_, err := h.FindNamedQuery(context.Background(), "uprn-to-ballots-first-letter")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			// Through the Lambda boundary the error's type is the errorType
			// that the state machines retry while a deploy runs.
			_, err = lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(`{"QueryName":"uprn-to-ballots-first-letter","context":{"first_letter":"A"}}`))
			if got := errorType(err); got != flows.NamedQueryUnavailable {
				t.Errorf("Lambda error type = %s (%v), want %s", got, err, flows.NamedQueryUnavailable)
			}
			if n := len(f.Started()); n != 0 {
				t.Errorf("%d queries started without a single named query", n)
			}
		})
	}
}

// errorType is the errorType aws-lambda-go reports for err: the name of its
// (pointed-to) type, which a Retry's ErrorEquals matches.
func errorType(err error) string {
	typ := reflect.TypeOf(err)
	if typ == nil {
		return ""
	}
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	return typ.Name()
}

// TestBlockingOutcomes covers the end states of a blocking run.
func TestBlockingOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		states     []athenafake.Status
		wantOut    athenaquery.Output
		wantFailed *athenaquery.QueryFailedError
		wantSleeps []time.Duration
	}{
		{
			name:       "succeeds after a long run, backoff capped at 5s",
			states:     []athenafake.Status{{State: "QUEUED"}, {State: "RUNNING"}, {State: "RUNNING"}, {State: "RUNNING"}, {State: "RUNNING"}, {State: "RUNNING"}, {State: "RUNNING"}, {State: "RUNNING"}, {State: "SUCCEEDED", Scanned: 42}},
			wantOut:    athenaquery.Output{QueryExecutionID: "exec-1", Status: "SUCCEEDED", DataScannedBytes: ptr(int64(42))},
			wantSleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name:       "failed",
			states:     []athenafake.Status{{State: "RUNNING"}, {State: "FAILED", Reason: "COLUMN_NOT_FOUND: line 1:8: Column 'uprnx' cannot be resolved"}},
			wantFailed: &athenaquery.QueryFailedError{Query: "uprn-to-ballots-first-letter", QueryExecutionID: "exec-1", State: "FAILED", Reason: "COLUMN_NOT_FOUND: line 1:8: Column 'uprnx' cannot be resolved"},
			wantSleeps: []time.Duration{200 * time.Millisecond},
		},
		{
			name:       "cancelled",
			states:     []athenafake.Status{{State: "QUEUED"}, {State: "CANCELLED", Reason: "Query cancelled by user"}},
			wantFailed: &athenaquery.QueryFailedError{Query: "uprn-to-ballots-first-letter", QueryExecutionID: "exec-1", State: "CANCELLED", Reason: "Query cancelled by user"},
			wantSleeps: []time.Duration{200 * time.Millisecond},
		},
		{
			name:       "failed without a reason",
			states:     []athenafake.Status{{State: "FAILED"}},
			wantFailed: &athenaquery.QueryFailedError{Query: "uprn-to-ballots-first-letter", QueryExecutionID: "exec-1", State: "FAILED", Reason: "no reason given"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAthena(t, 50, manyQueries(2, uprnQuery), athenafake.Script{rendered("C"): tt.states})
			h, clk := newHandler(f)
			out, err := h.Handle(context.Background(), athenaquery.Input{QueryName: uprnQuery.Name, Context: athenaquery.Context{"first_letter": json.RawMessage(`"C"`)}, Blocking: true})
			if tt.wantFailed != nil {
				fe, ok := err.(*athenaquery.QueryFailedError) // unwrapped: it is the Lambda errorType
				if !ok {
					t.Fatalf("error = %v (%T), want an unwrapped *QueryFailedError", err, err)
				}
				if diff := cmp.Diff(tt.wantFailed, fe); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				if !strings.Contains(err.Error(), tt.wantFailed.Reason) || !strings.Contains(err.Error(), tt.wantFailed.Query) {
					t.Errorf("message %q lacks the reason or query name", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.wantOut, out); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantSleeps, clk.sleeps); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestTimeoutNearDeadline checks that polling stops before the Lambda
// deadline and names the execution, so the state machine can poll later.
func TestTimeoutNearDeadline(t *testing.T) {
	f := newFakeAthena(t, 50, nil, athenafake.Script{"SELECT slow()": {{State: "RUNNING"}}})
	h, clk := newHandler(f)
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(15*time.Second))
	defer cancel()
	payload := []byte(`{"QueryString":"SELECT slow()","blocking":true}`)
	_, err := lambda.NewHandler(h.Handle).Invoke(ctx, payload)
	var te *athenaquery.QueryTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want a QueryTimeoutError", err)
	}
	if te.QueryExecutionID != "exec-1" || te.State != "RUNNING" {
		t.Errorf("timeout error = %+v, want execution exec-1 RUNNING", te)
	}
	if !strings.Contains(err.Error(), `{"queryExecutionId": "exec-1"}`) {
		t.Errorf("message %q does not say how to check the query again", err)
	}
	// 200+400+800+1600ms leaves 12s; another 3.2s wait would leave less than
	// the 10s margin.
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	if diff := cmp.Diff(want, clk.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}

	// The Lambda errorType is the top-level error's type name, which the
	// state machine matches: the error must not be wrapped.
	if _, ok := err.(*athenaquery.QueryTimeoutError); !ok {
		t.Errorf("error type %T, want *athenaquery.QueryTimeoutError unwrapped", err)
	}

	// Status mode picks the query up again.
	out, err := h.Handle(context.Background(), athenaquery.Input{QueryExecutionID: te.QueryExecutionID})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "RUNNING" {
		t.Errorf("status = %q, want RUNNING", out.Status)
	}
}

// TestResumeWaiting checks that {"queryExecutionId", "blocking": true} waits
// for an earlier query instead of only reporting its state.
func TestResumeWaiting(t *testing.T) {
	f := newFakeAthena(t, 50, nil, athenafake.Script{"SELECT slow()": {{State: "RUNNING"}, {State: "RUNNING"}, {State: "SUCCEEDED", Scanned: 7}}})
	f.AddExecution("exec-earlier", "SELECT slow()", athenafake.Status{State: "RUNNING"}, athenafake.Status{State: "RUNNING"}, athenafake.Status{State: "SUCCEEDED", Scanned: 7})
	h, clk := newHandler(f)
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(`{"queryExecutionId":"exec-earlier","blocking":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`{"queryExecutionId":"exec-earlier","status":"SUCCEEDED","dataScannedBytes":7}`, string(out)); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if len(clk.sleeps) != 2 {
		t.Errorf("sleeps = %v, want 2", clk.sleeps)
	}
	if n := len(f.Started()); n != 0 {
		t.Errorf("%d queries started, want none", n)
	}
}

func TestTimeoutMarginConfigurable(t *testing.T) {
	f := newFakeAthena(t, 50, nil, athenafake.Script{"SELECT slow()": {{State: "QUEUED"}}})
	h, clk := newHandler(f)
	h.SafetyMargin = time.Second
	ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(3500*time.Millisecond))
	defer cancel()
	_, err := h.Handle(ctx, athenaquery.Input{QueryString: "SELECT slow()", Blocking: true})
	var te *athenaquery.QueryTimeoutError
	if !errors.As(err, &te) || te.State != "QUEUED" {
		t.Fatalf("error = %v, want a QueryTimeoutError in state QUEUED", err)
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	if diff := cmp.Diff(want, clk.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestStatusMode(t *testing.T) {
	tests := []struct {
		state   athenafake.Status
		wantOut athenaquery.Output
		wantErr string
	}{
		{state: athenafake.Status{State: "QUEUED"}, wantOut: athenaquery.Output{QueryExecutionID: "q1", Status: "QUEUED", DataScannedBytes: ptr(int64(0))}},
		{state: athenafake.Status{State: "RUNNING", Scanned: 10}, wantOut: athenaquery.Output{QueryExecutionID: "q1", Status: "RUNNING", DataScannedBytes: ptr(int64(10))}},
		{state: athenafake.Status{State: "SUCCEEDED", Scanned: 5000}, wantOut: athenaquery.Output{QueryExecutionID: "q1", Status: "SUCCEEDED", DataScannedBytes: ptr(int64(5000))}},
		{state: athenafake.Status{State: "FAILED", Reason: "HIVE_BAD_DATA: bad row"}, wantErr: `athena query <QueryString> (execution q1) FAILED: HIVE_BAD_DATA: bad row`},
		{state: athenafake.Status{State: "CANCELLED", Reason: "cancelled"}, wantErr: `athena query <QueryString> (execution q1) CANCELLED: cancelled`},
	}
	for _, tt := range tests {
		t.Run(tt.state.State, func(t *testing.T) {
			f := newFakeAthena(t, 50, nil, athenafake.Script{"SELECT 1": {tt.state}})
			f.AddExecution("q1", "SELECT 1", tt.state)
			h, clk := newHandler(f)
			out, err := h.Handle(context.Background(), athenaquery.Input{QueryExecutionID: "q1"})
			if tt.wantErr != "" {
				var fe *athenaquery.QueryFailedError
				if !errors.As(err, &fe) || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want QueryFailedError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if len(clk.sleeps) != 0 {
				t.Errorf("status mode waited: %v", clk.sleeps)
			}
		})
	}
}

func TestStatusModeUnknownExecution(t *testing.T) {
	f := newFakeAthena(t, 50, nil, nil)
	h, _ := newHandler(f)
	_, err := h.Handle(context.Background(), athenaquery.Input{QueryExecutionID: "nope"})
	if err == nil || !strings.Contains(err.Error(), "get query execution nope") || !strings.Contains(err.Error(), "InvalidRequestException") {
		t.Fatalf("error = %v, want one naming the execution and Athena's error", err)
	}
}

func TestInputValidation(t *testing.T) {
	tests := []struct {
		payload string
		wantErr string
	}{
		{`{}`, "input: set exactly one of QueryName, QueryString or queryExecutionId"},
		{`{"blocking":true,"context":{"first_letter":"A"}}`, "input: set exactly one of QueryName, QueryString or queryExecutionId"},
		{`{"QueryName":"a","QueryString":"SELECT 1"}`, "input: set only one of QueryName and QueryString, not both"},
		{`{"QueryName":"a","queryExecutionId":"q1"}`, "input: queryExecutionId cannot be combined with QueryName or QueryString"},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			f := newFakeAthena(t, 50, nil, nil)
			h, _ := newHandler(f)
			_, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(tt.payload))
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if calls := f.Calls(""); len(calls) != 0 {
				t.Errorf("made %d Athena calls for invalid input", len(calls))
			}
		})
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		sql     string
		ctx     string
		want    string
		wantErr string
	}{
		{name: "repeated placeholder", sql: "SELECT '{first_letter}' WHERE x = '{first_letter}'", ctx: `{"first_letter":"A"}`, want: "SELECT 'A' WHERE x = 'A'"},
		{name: "number and bool", sql: "LIMIT {n} -- {flag}", ctx: `{"n":12345678901234567890,"flag":true}`, want: "LIMIT 12345678901234567890 -- true"},
		{name: "extra context ignored", sql: "SELECT {a}", ctx: `{"a":"1","b":"2"}`, want: "SELECT 1"},
		{name: "regex quantifiers untouched", sql: "SELECT regexp_like(p, '^[A-Z]{1,2}[0-9]') AND x = '{v}'", ctx: `{"v":"ok"}`, want: "SELECT regexp_like(p, '^[A-Z]{1,2}[0-9]') AND x = 'ok'"},
		{name: "no placeholders", sql: "SELECT 1", want: "SELECT 1"},
		{name: "empty string value is explicit", sql: "x = '{v}'", ctx: `{"v":""}`, want: "x = ''"},
		{name: "missing", sql: "SELECT '{first_letter}', '{b}', '{a}'", ctx: `{"a":"x"}`, wantErr: "no context value for placeholder(s) {b}, {first_letter}"},
		{name: "null", sql: "SELECT '{a}'", ctx: `{"a":null}`, wantErr: `context value "a": is null`},
		{name: "object", sql: "SELECT '{a}'", ctx: `{"a":{"b":1}}`, wantErr: `context value "a": is map[string]interface {}, want a string, number or boolean`},
		{name: "quote", sql: "SELECT '{a}'", ctx: `{"a":"x' OR '1'='1"}`, wantErr: `context value "a": "x' OR '1'='1" contains a quote or NUL character`},
		{name: "deploy-time template left over", sql: "SELECT '{{ .Bucket }}'", wantErr: "SQL still contains a deploy-time template marker {{ or }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx athenaquery.Context
			if tt.ctx != "" {
				if err := json.Unmarshal([]byte(tt.ctx), &ctx); err != nil {
					t.Fatal(err)
				}
			}
			got, err := athenaquery.Render(tt.sql, ctx)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want athenaquery.Config
	}{
		{env: nil, want: athenaquery.Config{WorkGroup: "dc-data-baker", Database: "dc_data_baker"}},
		{env: map[string]string{"ATHENA_WORKGROUP": "wg-staging", "ATHENA_DATABASE": "db2"}, want: athenaquery.Config{WorkGroup: "wg-staging", Database: "db2"}},
	}
	for _, tt := range tests {
		got := athenaquery.ConfigFromEnv(func(k string) string { return tt.env[k] })
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ConfigFromEnv(%v) (-want +got):\n%s", tt.env, diff)
		}
	}
}

// TestAthenaErrorsWrapped checks that an API error keeps its context.
func TestAthenaErrorsWrapped(t *testing.T) {
	f := newFakeAthena(t, 50, nil, nil) // no script: StartQueryExecution is refused
	h, _ := newHandler(f)
	_, err := h.Handle(context.Background(), athenaquery.Input{QueryString: "SELECT 2"})
	if err == nil || !strings.HasPrefix(err.Error(), `start query <QueryString> in workgroup "dc-data-baker": `) || !strings.Contains(err.Error(), "InvalidRequestException") {
		t.Fatalf("error = %v", err)
	}
}

// Athena's quota refusals surface as ThrottledError, the error type the
// state machine retries with a long backoff; other errors do not.
func TestThrottlingIsReportedForTheStateMachineToRetry(t *testing.T) {
	for _, tc := range []struct {
		code      string
		wantType  string
		throttled bool
	}{
		{"TooManyRequestsException", flows.AthenaThrottled, true},
		{"InvalidRequestException", "wrapError", false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			srv := awsfake.New(awsfake.JSON11, awsfake.Routes{
				"AmazonAthena.StartQueryExecution": func([]byte) (any, error) {
					return nil, &awsfake.APIError{Code: tc.code, Message: "Rate exceeded"}
				},
			})
			t.Cleanup(srv.Close)
			client := athena.NewFromConfig(srv.Config(), func(o *athena.Options) { o.RetryMaxAttempts = 1 })
			h := athenaquery.New(client, athenaquery.Config{}, nil)
			_, err := h.Handle(context.Background(), athenaquery.Input{QueryString: "SELECT 1"})
			var te *athenaquery.ThrottledError
			if errors.As(err, &te) != tc.throttled {
				t.Fatalf("error %v: ThrottledError = %v, want %v", err, !tc.throttled, tc.throttled)
			}
			_, err = lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(`{"QueryString":"SELECT 1"}`))
			if got := errorType(err); got != tc.wantType {
				t.Errorf("Lambda error type = %s, want %s", got, tc.wantType)
			}
		})
	}
}
