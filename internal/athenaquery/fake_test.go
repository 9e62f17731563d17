package athenaquery_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
)

// fakeAthena is an in-memory Athena speaking the JSON 1.1 protocol, with the
// real API's limits: ListNamedQueries and ListQueryExecutions page, at most
// 50 IDs per BatchGetNamedQuery and BatchGetQueryExecution, named queries
// visible only in their own workgroup.
type fakeAthena struct {
	*awsfake.Server

	mu       sync.Mutex
	pageSize int
	queries  []namedQuery
	// script lists, per SQL text, the states GetQueryExecution returns on
	// successive calls; the last one repeats.
	script  map[string][]execState
	execs   map[string]*execution
	order   []string // execution IDs, oldest first
	started []startRequest
}

type namedQuery struct {
	NamedQueryID string `json:"NamedQueryId"`
	Name         string `json:"Name"`
	Database     string `json:"Database"`
	QueryString  string `json:"QueryString"`
	WorkGroup    string `json:"WorkGroup"`
}

type execState struct {
	State   string
	Reason  string
	Scanned int64
}

type execution struct {
	sql     string
	polls   int
	stopped bool
}

type startRequest struct {
	QueryString           string
	WorkGroup             string
	QueryExecutionContext struct{ Database string }
	ClientRequestToken    string
}

func newFakeAthena(t *testing.T, pageSize int, queries []namedQuery, script map[string][]execState) *fakeAthena {
	t.Helper()
	f := &fakeAthena{pageSize: pageSize, queries: queries, script: script, execs: map[string]*execution{}}
	f.Server = awsfake.New(awsfake.JSON11, awsfake.Routes{
		"AmazonAthena.ListNamedQueries":    f.listNamedQueries,
		"AmazonAthena.BatchGetNamedQuery":  f.batchGetNamedQuery,
		"AmazonAthena.StartQueryExecution": f.startQueryExecution,
		"AmazonAthena.GetQueryExecution": f.onExecution(func(id string, e *execution) any {
			out := f.describe(id, e)
			e.polls++
			return map[string]any{"QueryExecution": out}
		}),
		// Every execution is in the handler's workgroup.
		"AmazonAthena.ListQueryExecutions":    f.listQueryExecutions,
		"AmazonAthena.BatchGetQueryExecution": awsfake.BatchGet(&f.mu, f.execs, "QueryExecution", "QueryExecutions", f.describe),
		"AmazonAthena.StopQueryExecution": f.onExecution(func(_ string, e *execution) any {
			e.stopped = true
			return map[string]any{}
		}),
	})
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAthena) client() *athena.Client { return athena.NewFromConfig(f.Config()) }

func (f *fakeAthena) listNamedQueries(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ NextToken, WorkGroup string }](body)
	if err != nil {
		return nil, err
	}
	wg := in.WorkGroup
	if wg == "" {
		wg = "primary"
	}
	var ids []string
	for _, q := range f.queries {
		if q.WorkGroup == wg {
			ids = append(ids, q.NamedQueryID)
		}
	}
	return f.page("NamedQueryIds", ids, in.NextToken)
}

// page answers a List call with one page of ids under key.
func (f *fakeAthena) page(key string, ids []string, token string) (any, error) {
	page, next, err := awsfake.Page(ids, token, f.pageSize)
	if err != nil {
		return nil, err
	}
	out := map[string]any{key: page}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (f *fakeAthena) batchGetNamedQuery(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ NamedQueryIds []string }](body)
	if err != nil {
		return nil, err
	}
	if len(in.NamedQueryIds) < 1 || len(in.NamedQueryIds) > 50 {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: fmt.Sprintf("NamedQueryIds must hold 1 to 50 IDs, got %d", len(in.NamedQueryIds))}
	}
	found := []namedQuery{}
	unprocessed := []map[string]string{}
	for _, id := range in.NamedQueryIds {
		ok := false
		for _, q := range f.queries {
			if q.NamedQueryID == id {
				found = append(found, q)
				ok = true
			}
		}
		if !ok {
			unprocessed = append(unprocessed, map[string]string{"NamedQueryId": id, "ErrorCode": "INVALID_INPUT", "ErrorMessage": "not found"})
		}
	}
	return map[string]any{"NamedQueries": found, "UnprocessedNamedQueryIds": unprocessed}, nil
}

func (f *fakeAthena) startQueryExecution(body []byte) (any, error) {
	in, err := awsfake.Decode[startRequest](body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.script[in.QueryString]; !ok {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "fake has no script for SQL: " + in.QueryString}
	}
	f.started = append(f.started, in)
	id := fmt.Sprintf("exec-%d", len(f.started))
	f.execs[id] = &execution{sql: in.QueryString}
	f.order = append(f.order, id)
	return map[string]string{"QueryExecutionId": id}, nil
}

// onExecution answers an operation on one query execution
// (GetQueryExecution, StopQueryExecution), calling fn with f.mu held.
func (f *fakeAthena) onExecution(fn func(id string, e *execution) any) awsfake.HandlerFunc {
	return awsfake.OnItem(&f.mu, f.execs, "QueryExecutionId", "QueryExecution", fn)
}

// describe is a QueryExecution as the API returns it, in the state the
// script gives for the execution's next poll; a stopped one is CANCELLED.
func (f *fakeAthena) describe(id string, e *execution) map[string]any {
	states := f.script[e.sql]
	st := states[min(e.polls, len(states)-1)]
	if e.stopped {
		st = execState{State: "CANCELLED", Reason: "Query cancelled by user"}
	}
	status := map[string]any{"State": st.State, "SubmissionDateTime": 1.7645e9}
	if st.Reason != "" {
		status["StateChangeReason"] = st.Reason
	}
	return map[string]any{
		"QueryExecutionId": id,
		"Query":            e.sql,
		"StatementType":    "DML",
		"Status":           status,
		"Statistics":       map[string]any{"DataScannedInBytes": st.Scanned, "EngineExecutionTimeInMillis": 1234},
	}
}

// listQueryExecutions pages the workgroup's execution IDs, newest first.
func (f *fakeAthena) listQueryExecutions(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ NextToken, WorkGroup string }](body)
	if err != nil {
		return nil, err
	}
	if in.WorkGroup != workgroup {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "fake holds executions of workgroup " + workgroup + " only, got " + in.WorkGroup}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := slices.Clone(f.order)
	slices.Reverse(ids)
	return f.page("QueryExecutionIds", ids, in.NextToken)
}

// addExecution registers an execution started elsewhere, for status mode.
func (f *fakeAthena) addExecution(id, sql string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs[id] = &execution{sql: sql}
	f.order = append(f.order, id)
}

// forget lists an execution ID whose details can no longer be read.
func (f *fakeAthena) forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.order = append(f.order, id)
}

func (f *fakeAthena) startedRequests() []startRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]startRequest(nil), f.started...)
}
