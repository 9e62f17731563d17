// Package athenaquery runs Athena queries for the state machines: a named
// query (found by name in the workgroup) or literal SQL, with run-time
// placeholders such as {first_letter} filled from the payload's context. It
// can wait for the query to finish, or report the status of an earlier one.
// Every query a state machine starts is tagged with its execution's ARN, so
// a failed execution can stop the queries it left running.
package athenaquery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/smithy-go"

	"github.com/DemocracyClub/dc-data-baker/internal/clock"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

// Defaults used when the environment does not set ATHENA_WORKGROUP or
// ATHENA_DATABASE.
const (
	DefaultWorkGroup = "dc-data-baker"
	DefaultDatabase  = "dc_data_baker"
)

// batchGetLimit is BatchGetNamedQuery's maximum number of IDs per call.
const batchGetLimit = 50

// API is the part of the Athena client that the handler uses.
type API interface {
	ListNamedQueries(ctx context.Context, params *athena.ListNamedQueriesInput, optFns ...func(*athena.Options)) (*athena.ListNamedQueriesOutput, error)
	BatchGetNamedQuery(ctx context.Context, params *athena.BatchGetNamedQueryInput, optFns ...func(*athena.Options)) (*athena.BatchGetNamedQueryOutput, error)
	StartQueryExecution(ctx context.Context, params *athena.StartQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(ctx context.Context, params *athena.GetQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	ListQueryExecutions(ctx context.Context, params *athena.ListQueryExecutionsInput, optFns ...func(*athena.Options)) (*athena.ListQueryExecutionsOutput, error)
	BatchGetQueryExecution(ctx context.Context, params *athena.BatchGetQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.BatchGetQueryExecutionOutput, error)
	StopQueryExecution(ctx context.Context, params *athena.StopQueryExecutionInput, optFns ...func(*athena.Options)) (*athena.StopQueryExecutionOutput, error)
}

var _ API = (*athena.Client)(nil)

// Input is the Lambda payload. Set exactly one of QueryName and QueryString
// to start a query, or only QueryExecutionID to check an earlier one (with
// Blocking, to resume waiting for it after a QueryTimeoutError), or Stop
// with ExecutionArn to stop the queries that execution started.
type Input struct {
	QueryName        string  `json:"QueryName,omitempty"`
	QueryString      string  `json:"QueryString,omitempty"`
	Context          Context `json:"context,omitempty"`
	Blocking         bool    `json:"blocking,omitempty"`
	QueryExecutionID string  `json:"queryExecutionId,omitempty"`
	// ExecutionArn is the state machine execution ($$.Execution.Id) that
	// starts the query, which is tagged with it; with Stop, the execution
	// whose queries are stopped.
	ExecutionArn string `json:"executionArn,omitempty"`
	Stop         bool   `json:"stop,omitempty"`
}

// Context holds run-time placeholder values. Each value must be a JSON
// string, number or boolean.
type Context map[string]json.RawMessage

// Output is the Lambda result. A non-blocking start sets only
// QueryExecutionID.
type Output struct {
	QueryExecutionID string `json:"queryExecutionId,omitempty"`
	Status           string `json:"status,omitempty"`
	DataScannedBytes *int64 `json:"dataScannedBytes,omitempty"`
	// Stopped lists, in stop mode, the query executions stopped.
	Stopped []string `json:"stopped,omitempty"`
}

// QueryFailedError reports a query that ended FAILED or CANCELLED. Its type
// name is the Lambda errorType that a state machine can match.
type QueryFailedError struct {
	Query            string // query name, or "" for literal SQL
	QueryExecutionID string
	State            string
	Reason           string
}

func (e *QueryFailedError) Error() string {
	return fmt.Sprintf("athena query %s (execution %s) %s: %s", queryLabel(e.Query), e.QueryExecutionID, e.State, e.Reason)
}

// ThrottledError reports that Athena refused a call for its rate or
// concurrent-query quota after the SDK's own retries. The state machine
// retries it with a longer backoff; the Lambda's error type is its name.
type ThrottledError struct {
	Op  string
	Err error
}

func (e *ThrottledError) Error() string { return fmt.Sprintf("%s: athena throttled: %v", e.Op, e.Err) }
func (e *ThrottledError) Unwrap() error { return e.Err }

// throttled wraps err as a *ThrottledError when Athena throttled the call,
// and otherwise with op as context.
func throttled(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "TooManyRequestsException" || ae.ErrorCode() == "ThrottlingException") {
		return &ThrottledError{Op: op, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// NamedQueryUnavailableError reports that the workgroup has no single named
// query of that name: none, or several. A deploy that changes a query
// deletes the old one before creating the new one, so for a moment there is
// none; a failed deploy can leave it missing, and a hand-made copy can make
// it ambiguous. The state machines retry it with backoff, long enough to
// outlast a deploy; its type name is the Lambda's errorType.
type NamedQueryUnavailableError struct {
	Name, WorkGroup string
	// IDs are the queries that have the name (none when it is missing).
	IDs    []string
	Detail string
}

func (e *NamedQueryUnavailableError) Error() string {
	if len(e.IDs) == 0 {
		return fmt.Sprintf("named query %q not found in workgroup %q (%s); if a deploy is running this clears when it ends, otherwise run pulumi up", e.Name, e.WorkGroup, e.Detail)
	}
	return fmt.Sprintf("named query %q is ambiguous in workgroup %q: %d queries have that name (%s); delete all but the one pulumi manages (see its description's sql sha256)",
		e.Name, e.WorkGroup, len(e.IDs), strings.Join(e.IDs, ", "))
}

// QueryTimeoutError reports that polling stopped because the Lambda deadline
// was near while the query was still running. The query keeps running: check
// it again with {"queryExecutionId": QueryExecutionID}.
type QueryTimeoutError struct {
	Query            string
	QueryExecutionID string
	State            string
	Remaining        time.Duration
}

func (e *QueryTimeoutError) Error() string {
	return fmt.Sprintf("athena query %s (execution %s) still %s with %s left before the Lambda deadline; check it again with {\"queryExecutionId\": %q}",
		queryLabel(e.Query), e.QueryExecutionID, e.State, e.Remaining.Round(time.Millisecond), e.QueryExecutionID)
}

func queryLabel(name string) string {
	if name == "" {
		return "<QueryString>"
	}
	return strconv.Quote(name)
}

// Handler runs queries. Build it with New; the exported fields tune polling.
type Handler struct {
	Client    API
	WorkGroup string
	Database  string
	Logger    *slog.Logger

	// InitialBackoff is the first wait between GetQueryExecution calls; it
	// doubles up to MaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// SafetyMargin is how much time before the context deadline polling stops
	// with a QueryTimeoutError.
	SafetyMargin time.Duration
	// Sleep waits for d or until ctx is done; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// Config is the handler's environment.
type Config struct {
	WorkGroup string
	Database  string
}

// ConfigFromEnv reads ATHENA_WORKGROUP and ATHENA_DATABASE, with defaults.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{WorkGroup: getenv("ATHENA_WORKGROUP"), Database: getenv("ATHENA_DATABASE")}
	if c.WorkGroup == "" {
		c.WorkGroup = DefaultWorkGroup
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	return c
}

// New returns a handler with default polling: 200ms doubling to 5s, stopping
// 10s before the deadline.
func New(client API, cfg Config, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		Client:         client,
		WorkGroup:      cfg.WorkGroup,
		Database:       cfg.Database,
		Logger:         logger,
		InitialBackoff: 200 * time.Millisecond,
		MaxBackoff:     5 * time.Second,
		SafetyMargin:   10 * time.Second,
		Sleep:          clock.Sleep,
		Now:            time.Now,
	}
}

// Handle is the Lambda entry point.
func (h *Handler) Handle(ctx context.Context, in Input) (Output, error) {
	if in.Stop {
		if in.QueryName != "" || in.QueryString != "" || in.QueryExecutionID != "" {
			return Output{}, errors.New("input: stop cannot be combined with QueryName, QueryString or queryExecutionId")
		}
		return h.StopExecutionQueries(ctx, in.ExecutionArn)
	}
	if in.QueryExecutionID != "" {
		if in.QueryName != "" || in.QueryString != "" {
			return Output{}, errors.New("input: queryExecutionId cannot be combined with QueryName or QueryString")
		}
		if in.Blocking {
			return h.Wait(ctx, "", in.QueryExecutionID)
		}
		return h.Status(ctx, in.QueryExecutionID)
	}
	switch {
	case in.QueryName == "" && in.QueryString == "":
		return Output{}, errors.New("input: set exactly one of QueryName, QueryString or queryExecutionId")
	case in.QueryName != "" && in.QueryString != "":
		return Output{}, errors.New("input: set only one of QueryName and QueryString, not both")
	}
	sql := in.QueryString
	if in.QueryName != "" {
		nq, err := h.FindNamedQuery(ctx, in.QueryName)
		if err != nil {
			return Output{}, err
		}
		sql = aws.ToString(nq.QueryString)
	}
	rendered, err := Render(sql, in.Context)
	if err != nil {
		return Output{}, fmt.Errorf("render query %s: %w", queryLabel(in.QueryName), err)
	}
	if in.ExecutionArn != "" {
		tag, err := ExecutionTag(in.ExecutionArn)
		if err != nil {
			return Output{}, fmt.Errorf("tag query %s: %w", queryLabel(in.QueryName), err)
		}
		rendered += tag
	}
	start, err := h.Client.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{
		QueryString:           aws.String(rendered),
		WorkGroup:             aws.String(h.WorkGroup),
		QueryExecutionContext: &types.QueryExecutionContext{Database: aws.String(h.Database)},
	})
	if err != nil {
		return Output{}, throttled(fmt.Sprintf("start query %s in workgroup %q", queryLabel(in.QueryName), h.WorkGroup), err)
	}
	id := aws.ToString(start.QueryExecutionId)
	h.Logger.InfoContext(ctx, "query started", "query", in.QueryName, "queryExecutionId", id, "workgroup", h.WorkGroup, "blocking", in.Blocking)
	if !in.Blocking {
		return Output{QueryExecutionID: id}, nil
	}
	return h.Wait(ctx, in.QueryName, id)
}

// Status reports a query's current state without waiting. FAILED and
// CANCELLED are returned as a *QueryFailedError.
func (h *Handler) Status(ctx context.Context, id string) (Output, error) {
	qe, err := h.get(ctx, id)
	if err != nil {
		return Output{}, err
	}
	return result("", id, qe)
}

// Wait polls until the query succeeds, fails, or the context deadline is
// within SafetyMargin. Failures and timeouts are returned unwrapped, so the
// Lambda errorType is QueryFailedError or QueryTimeoutError.
func (h *Handler) Wait(ctx context.Context, name, id string) (Output, error) {
	backoff := h.InitialBackoff
	for {
		qe, err := h.get(ctx, id)
		if err != nil {
			return Output{}, err
		}
		state := qe.Status.State
		if state != types.QueryExecutionStateQueued && state != types.QueryExecutionStateRunning {
			out, err := result(name, id, qe)
			if err == nil {
				h.Logger.InfoContext(ctx, "query finished", "query", name, "queryExecutionId", id, "status", out.Status, "dataScannedBytes", aws.ToInt64(out.DataScannedBytes))
			}
			return out, err
		}
		if deadline, ok := ctx.Deadline(); ok {
			if remaining := deadline.Sub(h.Now()); remaining-backoff < h.SafetyMargin {
				return Output{}, &QueryTimeoutError{Query: name, QueryExecutionID: id, State: string(state), Remaining: remaining}
			}
		}
		if err := h.Sleep(ctx, backoff); err != nil {
			return Output{}, fmt.Errorf("wait for athena query %s (execution %s): %w", queryLabel(name), id, err)
		}
		backoff = min(backoff*2, h.MaxBackoff)
	}
}

func (h *Handler) get(ctx context.Context, id string) (*types.QueryExecution, error) {
	out, err := h.Client.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		return nil, throttled("get query execution "+id, err)
	}
	if out.QueryExecution == nil || out.QueryExecution.Status == nil {
		return nil, fmt.Errorf("get query execution %s: response has no status", id)
	}
	return out.QueryExecution, nil
}

func result(name, id string, qe *types.QueryExecution) (Output, error) {
	state := qe.Status.State
	switch state {
	case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
		reason := aws.ToString(qe.Status.StateChangeReason)
		if reason == "" {
			reason = "no reason given"
		}
		return Output{}, &QueryFailedError{Query: name, QueryExecutionID: id, State: string(state), Reason: reason}
	}
	var scanned int64
	if qe.Statistics != nil {
		scanned = aws.ToInt64(qe.Statistics.DataScannedInBytes)
	}
	return Output{QueryExecutionID: id, Status: string(state), DataScannedBytes: &scanned}, nil
}

// FindNamedQuery looks the query up by name in the handler's workgroup,
// reading every page of ListNamedQueries and fetching details in batches.
// Two queries with the same name are an error: which one runs must not be
// left to chance, and Athena keeps no creation time to pick the newest by.
func (h *Handler) FindNamedQuery(ctx context.Context, name string) (types.NamedQuery, error) {
	var ids []string
	p := athena.NewListNamedQueriesPaginator(h.Client, &athena.ListNamedQueriesInput{WorkGroup: aws.String(h.WorkGroup)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return types.NamedQuery{}, fmt.Errorf("list named queries in workgroup %q: %w", h.WorkGroup, err)
		}
		ids = append(ids, page.NamedQueryIds...)
	}
	var found []types.NamedQuery
	var unprocessed []string
	for start := 0; start < len(ids); start += batchGetLimit {
		batch := ids[start:min(start+batchGetLimit, len(ids))]
		out, err := h.Client.BatchGetNamedQuery(ctx, &athena.BatchGetNamedQueryInput{NamedQueryIds: batch})
		if err != nil {
			return types.NamedQuery{}, fmt.Errorf("get named queries %d-%d of %d in workgroup %q: %w", start+1, start+len(batch), len(ids), h.WorkGroup, err)
		}
		for _, nq := range out.NamedQueries {
			if aws.ToString(nq.Name) == name {
				found = append(found, nq)
			}
		}
		for _, u := range out.UnprocessedNamedQueryIds {
			unprocessed = append(unprocessed, fmt.Sprintf("%s (%s)", aws.ToString(u.NamedQueryId), aws.ToString(u.ErrorCode)))
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	e := &NamedQueryUnavailableError{Name: name, WorkGroup: h.WorkGroup, Detail: fmt.Sprintf("%d named queries listed", len(ids))}
	if len(unprocessed) > 0 {
		e.Detail = fmt.Sprintf("%d named queries could not be read: %s", len(unprocessed), strings.Join(unprocessed, ", "))
	}
	for _, nq := range found {
		e.IDs = append(e.IDs, aws.ToString(nq.NamedQueryId))
	}
	return types.NamedQuery{}, e
}

// Render fills {name} placeholders in sql from ctx. Every placeholder must
// have a value: a missing one is an error naming it, never an empty string.
// Values may not contain a single quote, so a value cannot end the SQL string
// literal it is placed in.
func Render(sql string, ctx Context) (string, error) {
	if strings.Contains(sql, "{{") || strings.Contains(sql, "}}") {
		return "", errors.New("SQL still contains a deploy-time template marker {{ or }}")
	}
	values := map[string]string{}
	for _, name := range dcsql.RuntimePlaceholders(sql) {
		raw, ok := ctx[name]
		if !ok {
			continue // Fill names every missing value
		}
		v, err := scalar(raw)
		if err != nil {
			return "", fmt.Errorf("context value %q: %w", name, err)
		}
		if strings.ContainsAny(v, "'\x00") {
			return "", fmt.Errorf("context value %q: %q contains a quote or NUL character", name, v)
		}
		values[name] = v
	}
	return dcsql.Fill(sql, values)
}

// scalar turns a JSON string, number or boolean into its SQL text.
func scalar(raw json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("invalid JSON %s: %w", raw, err)
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", errors.New("is null")
	default:
		return "", fmt.Errorf("is %T, want a string, number or boolean", v)
	}
}

// tagPrefix starts the SQL comment that names the execution a query
// belongs to. Athena keeps a query's text as submitted, comments included,
// so the tag can be read back with BatchGetQueryExecution.
const tagPrefix = "\n-- dc-data-baker execution "

// ExecutionTag returns the trailing SQL comment that tags a query with the
// state machine execution executionArn. The ARN must be one line of
// printable characters without spaces, so it cannot end the comment.
func ExecutionTag(executionArn string) (string, error) {
	if !strings.HasPrefix(executionArn, "arn:") || strings.IndexFunc(executionArn, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("executionArn %q is not an ARN without spaces or control characters", executionArn)
	}
	return tagPrefix + executionArn, nil
}

// batchGetExecutionsLimit is BatchGetQueryExecution's maximum number of IDs
// per call.
const batchGetExecutionsLimit = 50

// StopExecutionQueries stops every QUEUED or RUNNING query in the workgroup
// that carries executionArn's tag, and returns their IDs. It reads every
// page of ListQueryExecutions. A query that cannot be read or stopped does
// not keep the others from being stopped; the errors are returned together
// afterwards. Stopping a query that has just ended is harmless, so a retry
// is safe.
func (h *Handler) StopExecutionQueries(ctx context.Context, executionArn string) (Output, error) {
	tag, err := ExecutionTag(executionArn)
	if err != nil {
		return Output{}, fmt.Errorf("input: %w", err)
	}
	var ids []string
	p := athena.NewListQueryExecutionsPaginator(h.Client, &athena.ListQueryExecutionsInput{WorkGroup: aws.String(h.WorkGroup)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Output{}, throttled(fmt.Sprintf("list query executions in workgroup %q", h.WorkGroup), err)
		}
		ids = append(ids, page.QueryExecutionIds...)
	}
	var problems []error
	stopped := []string{}
	for start := 0; start < len(ids); start += batchGetExecutionsLimit {
		batch := ids[start:min(start+batchGetExecutionsLimit, len(ids))]
		out, err := h.Client.BatchGetQueryExecution(ctx, &athena.BatchGetQueryExecutionInput{QueryExecutionIds: batch})
		if err != nil {
			return Output{}, throttled(fmt.Sprintf("get query executions %d-%d of %d in workgroup %q", start+1, start+len(batch), len(ids), h.WorkGroup), err)
		}
		for _, u := range out.UnprocessedQueryExecutionIds {
			problems = append(problems, fmt.Errorf("query execution %s could not be read: %s %s", aws.ToString(u.QueryExecutionId), aws.ToString(u.ErrorCode), aws.ToString(u.ErrorMessage)))
		}
		for _, qe := range out.QueryExecutions {
			if qe.Status == nil || (qe.Status.State != types.QueryExecutionStateQueued && qe.Status.State != types.QueryExecutionStateRunning) {
				continue
			}
			if !strings.HasSuffix(strings.TrimRight(aws.ToString(qe.Query), " \t\r\n;"), tag) {
				continue
			}
			id := aws.ToString(qe.QueryExecutionId)
			if _, err := h.Client.StopQueryExecution(ctx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)}); err != nil {
				problems = append(problems, fmt.Errorf("stop query execution %s: %w", id, err))
				continue
			}
			stopped = append(stopped, id)
		}
	}
	h.Logger.InfoContext(ctx, "stopped the execution's queries", "executionArn", executionArn, "workgroup", h.WorkGroup, "listed", len(ids), "stopped", stopped, "problems", len(problems))
	if len(problems) > 0 {
		return Output{}, fmt.Errorf("stop queries of %s in workgroup %q (stopped %d: %s): %w", executionArn, h.WorkGroup, len(stopped), strings.Join(stopped, ", "), errors.Join(problems...))
	}
	return Output{Stopped: stopped}, nil
}
