// Package athenafake is the tests' Athena: an in-process server speaking
// Athena's JSON 1.1 protocol with the real API's limits (ListNamedQueries
// and ListQueryExecutions page, at most 50 IDs per BatchGetNamedQuery and
// BatchGetQueryExecution, named queries visible only in their own
// workgroup). What a started query does is up to an Engine:
// a Script of states for unit tests, or Executing, which runs the real SQL
// on a trinopg warehouse. It is test support; nothing deployed imports it.
package athenafake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
// Athena-side failure. Trailing comments, such as the query Lambda's
// execution tag, are ignored, as Athena does.
type Executing struct {
	Warehouse *trinopg.Warehouse
	Fail      map[string]string
}

// Start implements Engine.
func (e Executing) Start(ctx context.Context, sql string) ([]Status, error) {
	sql = WithoutTrailingComments(sql)
	if reason, ok := e.Fail[sql]; ok {
		return []Status{{State: "FAILED", Reason: reason}}, nil
	}
	if _, err := e.Warehouse.Exec(ctx, sql); err != nil {
		return []Status{{State: "FAILED", Reason: err.Error()}}, nil
	}
	return []Status{{State: "SUCCEEDED", Scanned: 1024}}, nil
}

// WithoutTrailingComments returns sql without the "--" comment lines that
// end it.
func WithoutTrailingComments(sql string) string {
	for {
		s := strings.TrimRight(sql, " \t\r\n")
		i := strings.LastIndex(s, "\n")
		if i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "--") {
			return sql
		}
		sql = s[:i]
	}
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
	// Hold lists SQL texts (compared without trailing comments) that, once
	// started, stay RUNNING without reaching the Engine until Release.
	// Until every one of them has started, a FAILED query reports RUNNING,
	// so that the failure finds the held queries running.
	Hold []string
	// RefuseStops denies ListQueryExecutions and StopQueryExecution
	// (AccessDeniedException), as to a role without those permissions.
	RefuseStops bool
}

// Server is the fake.
type Server struct {
	*awsfake.Server
	opts Options

	mu      sync.Mutex
	execs   map[string]*execution
	order   []string // execution IDs, oldest first
	started []StartRequest
	refused int
}

type execution struct {
	sql       string
	states    []Status
	polls     int
	stopped   bool // StopQueryExecution was called
	cancelled bool // while QUEUED or RUNNING
	held      bool // until Release
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
		"AmazonAthena.GetQueryExecution": f.onExecution(func(id string, e *execution) any {
			out := f.describe(id, e)
			e.polls++
			return map[string]any{"QueryExecution": out}
		}),
		"AmazonAthena.ListQueryExecutions":    f.refusable(f.listQueryExecutions),
		"AmazonAthena.BatchGetQueryExecution": awsfake.BatchGet(&f.mu, f.execs, "QueryExecution", "QueryExecutions", f.describe),
		"AmazonAthena.StopQueryExecution": f.refusable(f.onExecution(func(_ string, e *execution) any {
			e.stopped = true
			// Stopping an ended query changes nothing.
			if st := f.status(e).State; st == "QUEUED" || st == "RUNNING" {
				e.cancelled = true
			}
			return map[string]any{}
		})),
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
	return f.page("NamedQueryIds", ids, in.NextToken)
}

// page answers a List call with one page of ids under key.
func (f *Server) page(key string, ids []string, token string) (any, error) {
	page, next, err := awsfake.Page(ids, token, f.opts.PageSize)
	if err != nil {
		return nil, err
	}
	out := map[string]any{key: page}
	if next != "" {
		out["NextToken"] = next
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
	e := &execution{sql: in.QueryString, states: []Status{{State: "RUNNING"}}}
	e.held = slices.Contains(f.opts.Hold, WithoutTrailingComments(in.QueryString))
	if !e.held {
		if e.states, err = f.opts.Engine.Start(context.Background(), in.QueryString); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, in)
	id := fmt.Sprintf("exec-%d", len(f.started))
	f.execs[id] = e
	f.order = append(f.order, id)
	return map[string]string{"QueryExecutionId": id}, nil
}

// onExecution answers an operation on one query execution
// (GetQueryExecution, StopQueryExecution), calling fn with f.mu held.
func (f *Server) onExecution(fn func(id string, e *execution) any) awsfake.HandlerFunc {
	return awsfake.OnItem(&f.mu, f.execs, "QueryExecutionId", "QueryExecution", fn)
}

// refusable denies h's operation with Options.RefuseStops.
func (f *Server) refusable(h awsfake.HandlerFunc) awsfake.HandlerFunc {
	if !f.opts.RefuseStops {
		return h
	}
	return func([]byte) (any, error) {
		return nil, &awsfake.APIError{Code: "AccessDeniedException", Message: "not authorized to list or stop query executions"}
	}
}

// status is the state the engine gave for e's next poll; a stopped one is
// CANCELLED, and a FAILED one RUNNING while a held query has yet to start.
// Call with f.mu held.
func (f *Server) status(e *execution) Status {
	st := e.states[min(e.polls, len(e.states)-1)]
	switch {
	case e.cancelled:
		st = Status{State: "CANCELLED", Reason: "Query cancelled by user"}
	case st.State == "FAILED" && !f.heldStarted():
		st = Status{State: "RUNNING"}
	}
	return st
}

// heldStarted reports whether every query in Options.Hold has started.
// Call with f.mu held.
func (f *Server) heldStarted() bool {
	for _, h := range f.opts.Hold {
		if !slices.ContainsFunc(f.started, func(s StartRequest) bool { return WithoutTrailingComments(s.QueryString) == h }) {
			return false
		}
	}
	return true
}

// Release runs the held executions of sql (compared without trailing
// comments) that have not been stopped on the Engine, which gives their
// states from then on, and returns how many it ran.
func (f *Server) Release(sql string) (int, error) {
	f.mu.Lock()
	var held []*execution
	for _, id := range f.order {
		if e := f.execs[id]; e.held && !e.cancelled && WithoutTrailingComments(e.sql) == sql {
			e.held = false
			held = append(held, e)
		}
	}
	f.mu.Unlock()
	for _, e := range held {
		states, err := f.opts.Engine.Start(context.Background(), e.sql)
		if err != nil {
			return 0, err
		}
		f.mu.Lock()
		if !e.cancelled {
			e.states, e.polls = states, 0
		}
		f.mu.Unlock()
	}
	return len(held), nil
}

// describe is a QueryExecution as the API returns it (see status).
func (f *Server) describe(id string, e *execution) map[string]any {
	st := f.status(e)
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
// Every execution is in Options.WorkGroup; with none set, in any.
func (f *Server) listQueryExecutions(body []byte) (any, error) {
	in, err := awsfake.Decode[struct{ NextToken, WorkGroup string }](body)
	if err != nil {
		return nil, err
	}
	if f.opts.WorkGroup != "" && in.WorkGroup != f.opts.WorkGroup {
		return nil, &awsfake.APIError{Code: "InvalidRequestException", Message: "fake holds executions of workgroup " + f.opts.WorkGroup + " only, got " + in.WorkGroup}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := slices.Clone(f.order)
	slices.Reverse(ids)
	return f.page("QueryExecutionIds", ids, in.NextToken)
}

// Execution is a query execution's ID, text and current state.
type Execution struct{ ID, Query, State string }

// Executions returns every execution, oldest first, in the state a poll
// would report now (without counting as one).
func (f *Server) Executions() []Execution {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Execution
	for _, id := range f.order {
		if e, ok := f.execs[id]; ok {
			out = append(out, Execution{id, e.sql, f.status(e).State})
		}
	}
	return out
}

// Stopped reports whether StopQueryExecution was called for id.
func (f *Server) Stopped(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.execs[id]
	return ok && e.stopped
}

// Forget lists an execution ID whose details can no longer be read.
func (f *Server) Forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.order = append(f.order, id)
}

// AddExecution registers an execution started elsewhere, for status calls.
func (f *Server) AddExecution(id, sql string, states ...Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs[id] = &execution{sql: sql, states: states}
	f.order = append(f.order, id)
}

// Started returns the accepted StartQueryExecution calls, in order.
func (f *Server) Started() []StartRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]StartRequest(nil), f.started...)
}
