// Package athenafake is the tests' Athena: an in-process server speaking
// Athena's JSON 1.1 protocol with the real API's limits (ListNamedQueries
// pages, at most 50 IDs per BatchGetNamedQuery, named queries visible only
// in their own workgroup). What a started query does is up to an Engine:
// a Script of states for unit tests, or Executing, which runs the real SQL
// on a trinopg warehouse. It is test support; nothing deployed imports it.
package athenafake

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/trinopg"
)

// NamedQuery is a named query as the API returns it.
type NamedQuery struct {
	NamedQueryID string `json:"NamedQueryId"`
	Name         string `json:"Name"`
	Database     string `json:"Database"`
	QueryString  string `json:"QueryString"`
	WorkGroup    string `json:"WorkGroup"`
}

// Status is one answer of GetQueryExecution.
type Status struct {
	State   string
	Reason  string
	Scanned int64
}

// StartRequest is a StartQueryExecution call.
type StartRequest struct {
	QueryString           string
	WorkGroup             string
	QueryExecutionContext struct{ Database string }
	ClientRequestToken    string
}

// Engine decides what a started query does: the states GetQueryExecution
// reports on successive calls (the last repeats), or an error that refuses
// the start.
type Engine interface {
	Start(ctx context.Context, sql string) ([]Status, error)
}

// Script answers each SQL text with its listed states; other SQL is refused.
type Script map[string][]Status

// Start implements Engine.
func (s Script) Start(_ context.Context, sql string) ([]Status, error) {
	states, ok := s[sql]
	if !ok {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "fake has no script for SQL: " + sql}
	}
	return states, nil
}

// Executing runs each query on Warehouse when it starts: SUCCEEDED, or
// FAILED with the engine's message as the reason (fail() gives
// GENERIC_USER_ERROR: <message>, as in Athena). Fail lists SQL texts that
// FAIL with the given reason instead of running, to stand in for an
// Athena-side failure.
type Executing struct {
	Warehouse *trinopg.Warehouse
	Fail      map[string]string
}

// Start implements Engine.
func (e Executing) Start(ctx context.Context, sql string) ([]Status, error) {
	if reason, ok := e.Fail[sql]; ok {
		return []Status{{State: "FAILED", Reason: reason}}, nil
	}
	if _, err := e.Warehouse.Exec(ctx, sql); err != nil {
		return []Status{{State: "FAILED", Reason: err.Error()}}, nil
	}
	return []Status{{State: "SUCCEEDED", Scanned: 1024}}, nil
}

// Options configure a Server.
type Options struct {
	NamedQueries []NamedQuery
	// PageSize is ListNamedQueries' page size (default 50).
	PageSize int
	Engine   Engine
	// WorkGroup and Database, when set, are the only ones a query may
	// start in.
	WorkGroup, Database string
	// RefuseStarts is how many StartQueryExecution calls are refused with
	// ThrottlingException before one is accepted.
	RefuseStarts int
}

// Server is the fake.
type Server struct {
	*awsfake.Server
	opts Options

	mu      sync.Mutex
	execs   map[string]*execution
	started []StartRequest
	refused int
}

type execution struct {
	sql    string
	states []Status
	polls  int
}

// New starts a fake Athena, closed when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.PageSize == 0 {
		opts.PageSize = 50
	}
	f := &Server{opts: opts, execs: map[string]*execution{}}
	f.Server = awsfake.New(awsfake.JSON11, awsfake.Routes{
		"AmazonAthena.ListNamedQueries":    f.listNamedQueries,
		"AmazonAthena.BatchGetNamedQuery":  f.batchGetNamedQuery,
		"AmazonAthena.StartQueryExecution": f.startQueryExecution,
		"AmazonAthena.GetQueryExecution":   f.getQueryExecution,
	})
	t.Cleanup(f.Close)
	return f
}

// Client returns an Athena client for the fake.
func (f *Server) Client() *athena.Client { return athena.NewFromConfig(f.Config()) }

func (f *Server) listNamedQueries(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ NextToken, WorkGroup string }](body)
	if err != nil {
		return nil, err
	}
	wg := in.WorkGroup
	if wg == "" {
		wg = "primary"
	}
	ids := []string{}
	for _, q := range f.opts.NamedQueries {
		if q.WorkGroup == wg {
			ids = append(ids, q.NamedQueryID)
		}
	}
	start := 0
	if in.NextToken != "" {
		if start, err = strconv.Atoi(in.NextToken); err != nil {
			return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "bad NextToken"}
		}
	}
	end := min(start+f.opts.PageSize, len(ids))
	out := map[string]any{"NamedQueryIds": ids[start:end]}
	if end < len(ids) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func (f *Server) batchGetNamedQuery(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ NamedQueryIds []string }](body)
	if err != nil {
		return nil, err
	}
	if len(in.NamedQueryIds) < 1 || len(in.NamedQueryIds) > 50 {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: fmt.Sprintf("NamedQueryIds must hold 1 to 50 IDs, got %d", len(in.NamedQueryIds))}
	}
	found := []NamedQuery{}
	unprocessed := []map[string]string{}
	for _, id := range in.NamedQueryIds {
		ok := false
		for _, q := range f.opts.NamedQueries {
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

func (f *Server) startQueryExecution(body []byte) (any, error) {
	in, err := awsfake.Decode[StartRequest](body)
	if err != nil {
		return nil, err
	}
	if (f.opts.WorkGroup != "" && in.WorkGroup != f.opts.WorkGroup) || (f.opts.Database != "" && in.QueryExecutionContext.Database != f.opts.Database) {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: fmt.Sprintf("workgroup %q database %q, want %q %q", in.WorkGroup, in.QueryExecutionContext.Database, f.opts.WorkGroup, f.opts.Database)}
	}
	f.mu.Lock()
	throttle := f.refused < f.opts.RefuseStarts
	if throttle {
		f.refused++
	}
	f.mu.Unlock()
	if throttle {
		return nil, &awsfake.APIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	}
	if f.opts.Engine == nil {
		return nil, errors.New("athenafake: no Engine")
	}
	states, err := f.opts.Engine.Start(context.Background(), in.QueryString)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, in)
	id := fmt.Sprintf("exec-%d", len(f.started))
	f.execs[id] = &execution{sql: in.QueryString, states: states}
	return map[string]string{"QueryExecutionId": id}, nil
}

func (f *Server) getQueryExecution(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ QueryExecutionId string }](body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.execs[in.QueryExecutionId]
	if !ok {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "QueryExecution " + in.QueryExecutionId + " was not found"}
	}
	st := e.states[min(e.polls, len(e.states)-1)]
	e.polls++
	status := map[string]any{"State": st.State, "SubmissionDateTime": 1.7645e9}
	if st.Reason != "" {
		status["StateChangeReason"] = st.Reason
	}
	return map[string]any{"QueryExecution": map[string]any{
		"QueryExecutionId": in.QueryExecutionId,
		"Query":            e.sql,
		"StatementType":    "DML",
		"Status":           status,
		"Statistics":       map[string]any{"DataScannedInBytes": st.Scanned, "EngineExecutionTimeInMillis": 1234},
	}}, nil
}

// AddExecution registers an execution started elsewhere, for status calls.
func (f *Server) AddExecution(id, sql string, states ...Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs[id] = &execution{sql: sql, states: states}
}

// Started returns the accepted StartQueryExecution calls, in order.
func (f *Server) Started() []StartRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]StartRequest(nil), f.started...)
}
