package flows_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/boundaryexport"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/gates"
	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/plausibility"
	"github.com/DemocracyClub/dc-data-baker/internal/s3prefix"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

// The contract tests run each rendered definition's happy path in Go: every
// JSONPath is evaluated against data shaped exactly like the Lambdas' real
// Go output types, and every Lambda payload is decoded strictly into the
// handler's real input type. Node is not needed.

const (
	contractStateMachineArn = "arn:aws:states:eu-west-2:123456789012:stateMachine:Layer"
	contractExecutionArn    = "arn:aws:states:eu-west-2:123456789012:execution:Layer:contract-1"
	contractStartTime       = "2026-11-26T23:00:00.123Z"
	contractSourceLocation  = "s3://pollingstations.private.data/addressbase/2025-11/addressbase_cleaned/"
)

// lambdaContract is one Lambda's boundary: its input type, how a call is
// checked, and its output.
type lambdaContract struct {
	function string // the Lambda's name
	input    string // the handler's input type, for messages
	// call strictly decodes the payload, checks required fields and returns
	// what the handler would return.
	call func(s *flowSim, payload []byte) (any, error)
	// full is an output with every field set, for the static check of the
	// keys the flow reads.
	full any
}

// contracts maps the test Lambdas' ARNs to their contracts.
func contracts() map[string]lambdaContract {
	return map[string]lambdaContract{
		lambdas[layer.Guard]: {
			function: "check_step_function_running", input: "sfnguard.Input",
			call: func(s *flowSim, b []byte) (any, error) {
				in, err := strictDecode[sfnguard.Input](b)
				if err != nil {
					return nil, err
				}
				if err := requireFields(map[string]string{"stateMachineArn": in.StateMachineArn, "currentExecutionArn": in.CurrentExecutionArn}); err != nil {
					return nil, err
				}
				if in.StateMachineArn != contractStateMachineArn || in.CurrentExecutionArn != contractExecutionArn || in.CurrentExecutionStartTime != contractStartTime {
					return nil, fmt.Errorf("stateMachineArn/currentExecutionArn/currentExecutionStartTime = %q/%q/%q, want the context object's $$.StateMachine.Id/$$.Execution.Id/$$.Execution.StartTime",
						in.StateMachineArn, in.CurrentExecutionArn, in.CurrentExecutionStartTime)
				}
				for _, sm := range in.ConflictingStateMachineArns {
					if !strings.HasPrefix(sm, "arn:aws:states:") || !strings.Contains(sm, ":stateMachine:") || sm == in.StateMachineArn {
						return nil, fmt.Errorf("field conflictingStateMachineArns: %q is not another state machine's ARN", sm)
					}
				}
				if in.MaxWaitSeconds <= 0 {
					return nil, fmt.Errorf("field maxWaitSeconds: %d, want a bound", in.MaxWaitSeconds)
				}
				s.guardCalls++
				return sfnguard.Output{Decision: sfnguard.Proceed, Message: "no other execution is running"}, nil
			},
			full: sfnguard.Output{Decision: sfnguard.Proceed, Message: "m"},
		},
		lambdas[layer.TableLocation]: {
			function: "get_glue_table_location", input: "gluetable.Input",
			call: func(_ *flowSim, b []byte) (any, error) {
				in, err := strictDecode[gluetable.Input](b)
				if err != nil {
					return nil, err
				}
				if err := requireFields(map[string]string{"database": in.Database, "table": in.Table}); err != nil {
					return nil, err
				}
				if in.Location != "" {
					if !strings.HasPrefix(in.Location, "s3://") || !strings.HasSuffix(in.Location, "/") {
						return nil, fmt.Errorf("field location: %q is not an s3:// prefix ending in /", in.Location)
					}
					return gluetable.Output{in.Table + "_location": in.Location, in.Table + gluetable.PreviousSuffix: contractSourceLocation}, nil
				}
				return gluetable.Output{in.Table + "_location": contractSourceLocation}, nil
			},
			full: gluetable.Output{"addressbase_cleaned_raw_location": contractSourceLocation},
		},
		lambdas[layer.EmptyPrefix]: {
			function: "empty_s3_bucket_by_prefix", input: "s3prefix.Input",
			call: func(_ *flowSim, b []byte) (any, error) {
				in, err := strictDecode[s3prefix.Input](b)
				if err != nil {
					return nil, err
				}
				if err := s3prefix.CheckPrefix(in.Bucket, in.Prefix); err != nil {
					return nil, err
				}
				if _, err := s3prefix.KeepPrefixes(in.Bucket, in.Keep); err != nil {
					return nil, err
				}
				return s3prefix.Output{Deleted: 7}, nil
			},
			full: s3prefix.Output{Deleted: 7},
		},
		lambdas[layer.Query]: {
			function: "run_athena_query", input: "athenaquery.Input",
			call: (*flowSim).athena,
			full: athenaquery.Output{QueryExecutionID: "q-1", Status: "SUCCEEDED", DataScannedBytes: new(int64)},
		},
		lambdas[layer.ExportBallots]: {
			function: "export_current_ballots", input: "ballotexport.In",
			call: func(_ *flowSim, b []byte) (any, error) {
				in, err := strictDecode[ballotexport.In](b)
				if err != nil {
					return nil, err
				}
				if in.LookbackDays != nil && *in.LookbackDays < 0 {
					return nil, fmt.Errorf("field lookback_days: %d is negative", *in.LookbackDays)
				}
				return ballotexport.Out{Bucket: "ee.data-cache.production", Key: "ballots-with-wkt/current_elections.csv", Rows: 1234}, nil
			},
			full: ballotexport.Out{Bucket: "b", Key: "k", Rows: 1},
		},
		lambdas[layer.ExportBoundaryReviews]: {
			function: "export_boundary_reviews", input: "boundaryexport.In",
			call: func(_ *flowSim, b []byte) (any, error) {
				// Every trigger sends {}: the selection is the Lambda's config.
				if _, err := strictDecode[boundaryexport.In](b); err != nil {
					return nil, err
				}
				return boundaryexport.Out{Bucket: "ee.data-cache.production", Key: "boundary-reviews/production/current_boundary_reviews.csv", Rows: 40, Reviews: 20}, nil
			},
			full: boundaryexport.Out{Bucket: "b", Key: "k", Rows: 1, Reviews: 1},
		},
		lambdas[layer.OutcodeSplit]: {
			function: "first_letter_to_outcode_parquet", input: "outcodes.SplitEvent",
			call: (*flowSim).split,
			full: splitResult("A"),
		},
		lambdas[layer.Plausibility]: {
			function: "plausibility_gate", input: "plausibility.Event",
			call: (*flowSim).plausibility,
			full: plausibility.Out{Manifest: "m", Changes: manifest.Changes{Previous: true, ItemsAdded: []string{"a"}, ItemsRemoved: []string{"r"}}, Accepted: []string{"f"}},
		},
		lambdas[layer.Publish]: {
			function: "publish_outcodes", input: "outcodes.PublishEvent",
			call: (*flowSim).publish,
			full: outcodes.PublishOutput{Copied: []string{"k"}, Unchanged: 1, Deleted: []string{"k"}},
		},
	}
}

// strictDecode decodes one JSON value into T, refusing unknown fields and
// trailing data.
func strictDecode[T any](b []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, err
	}
	if dec.More() {
		return v, errors.New("trailing data after the payload")
	}
	return v, nil
}

// requireFields names, in order, every field whose value is empty.
func requireFields(fields map[string]string) error {
	var empty []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if strings.TrimSpace(fields[k]) == "" {
			empty = append(empty, k)
		}
	}
	if len(empty) > 0 {
		return fmt.Errorf("required field(s) %s empty", strings.Join(empty, ", "))
	}
	return nil
}

// splitResult is what first_letter_to_outcode_parquet returns for a letter.
func splitResult(letter string) outcodes.Result {
	return outcodes.Result{
		Letter:            letter,
		Rows:              3,
		Outcodes:          []string{letter + "A1", letter + "A2"},
		Written:           1,
		Unchanged:         1,
		AddressbaseSource: contractSourceLocation,
		Input:             gates.UPRNStats{Rows: 3, Distinct: 3, Checksum: 3141592653},
	}
}

// lambdaCall is one simulated invocation.
type lambdaCall struct {
	State    string
	Function string
	Payload  string
}

// flowSim runs a definition's happy path.
type flowSim struct {
	contracts    map[string]lambdaContract
	guardCalls   int
	queries      map[string]int // status calls per started query ID
	splitLetters []string       // letters split, in call order
	splitDest    string         // where the splits wrote
	splitStats   string         // where the splits wrote their stats
	gated        bool           // the plausibility gate passed
	calls        []lambdaCall
	steps        int
}

func newFlowSim() *flowSim {
	return &flowSim{contracts: contracts(), queries: map[string]int{}}
}

func (s *flowSim) athena(b []byte) (any, error) {
	in, err := strictDecode[athenaquery.Input](b)
	if err != nil {
		return nil, err
	}
	if in.Stop {
		if in.ExecutionArn != contractExecutionArn || in.QueryName != "" || in.QueryString != "" || in.QueryExecutionID != "" || len(in.Context) > 0 {
			return nil, fmt.Errorf("field stop: want only executionArn = $$.Execution.Id (%s) with it, got %s", contractExecutionArn, b)
		}
		return athenaquery.Output{Stopped: []string{}}, nil
	}
	if in.QueryExecutionID != "" {
		if in.QueryName != "" || in.QueryString != "" || len(in.Context) > 0 {
			return nil, errors.New("field queryExecutionId: a status call must carry nothing else")
		}
		polls, ok := s.queries[in.QueryExecutionID]
		if !ok {
			return nil, fmt.Errorf("field queryExecutionId: %q was not returned by any start call", in.QueryExecutionID)
		}
		s.queries[in.QueryExecutionID] = polls + 1
		scanned := int64(1 << 20)
		status := "SUCCEEDED"
		if polls == 0 { // poll once while running, so the loop is taken
			status = "RUNNING"
		}
		return athenaquery.Output{QueryExecutionID: in.QueryExecutionID, Status: status, DataScannedBytes: &scanned}, nil
	}
	if (in.QueryName == "") == (in.QueryString == "") {
		return nil, fmt.Errorf("fields QueryName and QueryString: want exactly one, got %q and %q", in.QueryName, in.QueryString)
	}
	if in.Blocking {
		return nil, errors.New("field blocking: true, but the state machine polls the query itself")
	}
	if in.ExecutionArn != contractExecutionArn {
		return nil, fmt.Errorf("field executionArn: %q, want $$.Execution.Id (%s), so a failed run can stop the query", in.ExecutionArn, contractExecutionArn)
	}
	sql := in.QueryString
	if in.QueryName != "" {
		q, err := namedQuery(in.QueryName)
		if err != nil {
			return nil, err
		}
		// Rendered as deployed: a deploy-time value (a run-scoped table's
		// location) can carry a run-time placeholder too.
		if sql, err = dcsql.Render(q.Template, q.Values); err != nil {
			return nil, err
		}
	}
	// The context must fill exactly the SQL's run-time placeholders.
	want := dcsql.RuntimePlaceholders(sql)
	got := slices.Sorted(maps.Keys(in.Context))
	if !slices.Equal(want, got) {
		return nil, fmt.Errorf("field context: keys %v, want the query's run-time placeholders %v", got, want)
	}
	for k, raw := range in.Context {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || v == "" {
			return nil, fmt.Errorf("field context.%s: %s is not a non-empty string", k, raw)
		}
	}
	id := fmt.Sprintf("q-%d", len(s.queries)+1)
	s.queries[id] = 0
	// A non-blocking start returns only the execution ID.
	return athenaquery.Output{QueryExecutionID: id}, nil
}

// queryTemplate finds the sql/ template behind a named query, as the
// layers declare it.
func namedQuery(name string) (layer.NamedQuery, error) {
	settings := layer.Settings{
		Names:    layer.NamesFor("production"),
		Vars:     tables.Vars{Environment: "production", Release: "current", BallotsPrefix: "ballots-with-wkt/"},
		Buckets:  tables.Buckets{AddressBase: "pollingstations.private.data", EE: "ee.data-cache.production"},
		Schedule: "rate(1 day)",
	}
	specs, err := layers.Specs(settings)
	if err != nil {
		return layer.NamedQuery{}, err
	}
	var names []string
	for _, spec := range specs {
		for _, q := range spec.Queries {
			if q.Name == name {
				return q, nil
			}
			names = append(names, q.Name)
		}
	}
	return layer.NamedQuery{}, fmt.Errorf("field QueryName: %q is no layer's named query %v", name, names)
}

func (s *flowSim) split(b []byte) (any, error) {
	in, err := strictDecode[outcodes.SplitEvent](b)
	if err != nil {
		return nil, err
	}
	if err := requireFields(map[string]string{"bucket": in.Bucket, "source_prefix": in.SourcePrefix, "dest_prefix": in.DestPrefix, "first_letter": in.FirstLetter, "list_column": in.ListColumn}); err != nil {
		return nil, err
	}
	if err := outcodes.CheckListColumn(in.ListColumn); err != nil {
		return nil, fmt.Errorf("field list_column: %w", err)
	}
	if len(in.FirstLetter) != 1 || in.FirstLetter[0] < 'A' || in.FirstLetter[0] > 'Z' {
		return nil, fmt.Errorf("field first_letter: %q is not one letter A-Z", in.FirstLetter)
	}
	if strings.TrimSuffix(in.SourcePrefix, "/") == strings.TrimSuffix(in.DestPrefix, "/") {
		return nil, fmt.Errorf("fields source_prefix and dest_prefix: both are %q", in.SourcePrefix)
	}
	s.splitLetters = append(s.splitLetters, in.FirstLetter)
	s.splitDest, s.splitStats = in.DestPrefix, in.StatsPrefix
	return splitResult(in.FirstLetter), nil
}

func (s *flowSim) plausibility(b []byte) (any, error) {
	in, err := strictDecode[plausibility.Event](b)
	if err != nil {
		return nil, err
	}
	if err := requireFields(map[string]string{"bucket": in.Bucket, "staging_prefix": in.StagingPrefix, "dest_prefix": in.DestPrefix, "list_column": in.ListColumn}); err != nil {
		return nil, err
	}
	if in.Areas == nil || in.Areas.Bucket == "" || in.Areas.Key == "" || len(in.Trigger) == 0 {
		return nil, fmt.Errorf("fields areas and trigger: %+v", in)
	}
	// The gate reads what every letter's split staged, before the publish.
	if in.StagingPrefix != s.splitDest {
		return nil, fmt.Errorf("field staging_prefix: %q, but the splits wrote to %q", in.StagingPrefix, s.splitDest)
	}
	if in.StatsPrefix == "" || in.StatsPrefix != s.splitStats {
		return nil, fmt.Errorf("field stats_prefix: %q, but the splits wrote their stats to %q", in.StatsPrefix, s.splitStats)
	}
	var got []string
	for _, r := range in.Letters {
		got = append(got, r.Letter)
	}
	if diff := cmp.Diff(s.splitLetters, got); diff != "" {
		return nil, fmt.Errorf("field letters: not the split results (-split +letters):\n%s", diff)
	}
	s.gated = true
	return plausibility.Out{Manifest: manifest.Key(in.StagingPrefix), Changes: manifest.Changes{ItemsAdded: []string{}, ItemsRemoved: []string{}}}, nil
}

func (s *flowSim) publish(b []byte) (any, error) {
	in, err := strictDecode[outcodes.PublishEvent](b)
	if err != nil {
		return nil, err
	}
	if err := requireFields(map[string]string{"bucket": in.Bucket, "staging_prefix": in.StagingPrefix, "dest_prefix": in.DestPrefix}); err != nil {
		return nil, err
	}
	// A gated publish copies the manifest the gate staged, and only then.
	if s.gated != (in.Manifest != nil) {
		return nil, fmt.Errorf("field manifest: %+v, but the plausibility gate ran: %v", in.Manifest, s.gated)
	}
	if m := in.Manifest; m != nil && (m.From != manifest.Key(in.StagingPrefix) || m.To != manifest.Key(in.DestPrefix)) {
		return nil, fmt.Errorf("field manifest: %+v, want from %s to %s", m, manifest.Key(in.StagingPrefix), manifest.Key(in.DestPrefix))
	}
	if in.StagingPrefix != s.splitDest {
		return nil, fmt.Errorf("field staging_prefix: %q, but the splits wrote to %q", in.StagingPrefix, s.splitDest)
	}
	var got []string
	for i, r := range in.Letters {
		if r.Letter == "" || len(r.Outcodes) == 0 || r.AddressbaseSource == "" {
			return nil, fmt.Errorf("field letters[%d]: %+v lacks first_letter, outcodes or addressbase_source", i, r)
		}
		got = append(got, r.Letter)
	}
	// Every split's result, and only those, must reach the deletion.
	if diff := cmp.Diff(s.splitLetters, got); diff != "" {
		return nil, fmt.Errorf("field letters: not the split results (-split +letters):\n%s", diff)
	}
	return outcodes.PublishOutput{Copied: []string{}, Deleted: []string{}}, nil
}

// run executes a scope (a state machine, branch or item processor) from
// StartAt and returns its output.
func (s *flowSim) run(scope map[string]any, input, ctxObj any) (any, error) {
	states, _ := scope["States"].(map[string]any)
	name, _ := scope["StartAt"].(string)
	for {
		if s.steps++; s.steps > 10000 {
			return nil, errors.New("more than 10000 steps: the flow loops")
		}
		st, ok := states[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no state %q in scope", name)
		}
		out, next, err := s.step(name, st, input, ctxObj)
		if err != nil {
			return nil, fmt.Errorf("state %q: %w", name, err)
		}
		if next == "" {
			return out, nil
		}
		name, input = next, out
	}
}

// step runs one state and returns its output and the next state ("" ends
// the scope).
func (s *flowSim) step(name string, st, input, ctxObj any) (any, string, error) {
	m := st.(map[string]any)
	next, _ := m["Next"].(string)
	if ip, ok := m["InputPath"].(string); ok {
		v, err := lookup(input, ctxObj, ip)
		if err != nil {
			return nil, "", fmt.Errorf("InputPath: %w", err)
		}
		input = v
	}
	var result any
	switch m["Type"] {
	case "Pass":
		result = input
		if p, ok := m["Parameters"]; ok {
			v, err := resolve(p, input, ctxObj)
			if err != nil {
				return nil, "", fmt.Errorf("Parameters: %w", err)
			}
			result = v
		}
		if r, ok := m["Result"]; ok {
			result = r
		}
	case "Wait":
		return input, next, nil
	case "Succeed":
		return input, "", nil
	case "Fail":
		return nil, "", fmt.Errorf("reached a Fail state (%v)", m["Error"])
	case "Choice":
		for i, rule := range m["Choices"].([]any) {
			ok, err := evalCondition(rule.(map[string]any), input, ctxObj)
			if err != nil {
				return nil, "", fmt.Errorf("Choices[%d]: %w", i, err)
			}
			if ok {
				return input, rule.(map[string]any)["Next"].(string), nil
			}
		}
		return input, m["Default"].(string), nil
	case "Task":
		if m["Resource"] != asl.LambdaInvokeResource {
			return nil, "", fmt.Errorf("resource %v is not on the happy path", m["Resource"])
		}
		params, err := resolve(m["Parameters"], input, ctxObj)
		if err != nil {
			return nil, "", fmt.Errorf("Parameters: %w", err)
		}
		pm, _ := params.(map[string]any)
		fn, _ := pm["FunctionName"].(string)
		c, ok := s.contracts[fn]
		if !ok {
			return nil, "", fmt.Errorf("FunctionName %q is none of the Lambdas", fn)
		}
		payload, ok := pm["Payload"]
		if !ok {
			return nil, "", fmt.Errorf("calls %s without a Payload, so it would receive the whole state input", c.function)
		}
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, "", err
		}
		s.calls = append(s.calls, lambdaCall{State: name, Function: c.function, Payload: string(b)})
		out, err := c.call(s, b)
		if err != nil {
			return nil, "", fmt.Errorf("payload %s does not fit %s's %s: %w", b, c.function, c.input, err)
		}
		outJSON, err := toJSONValue(out)
		if err != nil {
			return nil, "", err
		}
		// The shape of lambda:invoke's result.
		result = map[string]any{"ExecutedVersion": "$LATEST", "StatusCode": json.Number("200"), "Payload": outJSON}
	case "Parallel":
		var results []any
		for i, br := range m["Branches"].([]any) {
			out, err := s.run(br.(map[string]any), input, ctxObj)
			if err != nil {
				return nil, "", fmt.Errorf("branch %d: %w", i, err)
			}
			results = append(results, out)
		}
		result = results
	case "Map":
		itemsPath, ok := m["ItemsPath"].(string)
		if !ok {
			itemsPath = "$"
		}
		items, err := lookup(input, ctxObj, itemsPath)
		if err != nil {
			return nil, "", fmt.Errorf("ItemsPath: %w", err)
		}
		list, ok := items.([]any)
		if !ok {
			return nil, "", fmt.Errorf("ItemsPath %q is %T, not an array", itemsPath, items)
		}
		results := []any{}
		for i, item := range list {
			c := withMapItem(ctxObj, item, i)
			itemInput := item
			if sel, ok := m["ItemSelector"]; ok {
				if itemInput, err = resolve(sel, input, c); err != nil {
					return nil, "", fmt.Errorf("ItemSelector: %w", err)
				}
			}
			out, err := s.run(m["ItemProcessor"].(map[string]any), itemInput, c)
			if err != nil {
				return nil, "", fmt.Errorf("item %d (%v): %w", i, item, err)
			}
			results = append(results, out)
		}
		result = results
	default:
		return nil, "", fmt.Errorf("state type %v not simulated", m["Type"])
	}
	if sel, ok := m["ResultSelector"]; ok {
		v, err := resolve(sel, result, ctxObj)
		if err != nil {
			return nil, "", fmt.Errorf("ResultSelector: %w", err)
		}
		result = v
	}
	out, err := applyResultPath(input, m, result)
	if err != nil {
		return nil, "", err
	}
	if op, ok := m["OutputPath"].(string); ok {
		if out, err = lookup(out, ctxObj, op); err != nil {
			return nil, "", fmt.Errorf("OutputPath: %w", err)
		}
	}
	if m["End"] == true {
		next = ""
	}
	return out, next, nil
}

// toJSONValue returns v as the generic JSON a state machine sees, keeping
// numbers exact.
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	return out, dec.Decode(&out)
}

func withMapItem(ctxObj any, item any, index int) any {
	c := maps.Clone(ctxObj.(map[string]any))
	c["Map"] = map[string]any{"Item": map[string]any{"Value": item, "Index": json.Number(fmt.Sprint(index))}}
	return c
}

// applyResultPath places result in input: a missing ResultPath replaces
// the input, null discards the result, "$.a.b" sets that field.
func applyResultPath(input any, m map[string]any, result any) (any, error) {
	rp, present := m["ResultPath"]
	switch {
	case !present || rp == "$":
		return result, nil
	case rp == nil:
		return input, nil
	}
	path, _ := rp.(string)
	keys, err := pathKeys(path, "$")
	if err != nil {
		return nil, fmt.Errorf("ResultPath: %w", err)
	}
	return setPath(input, keys, result)
}

func setPath(doc any, keys []string, v any) (any, error) {
	if len(keys) == 0 {
		return v, nil
	}
	var m map[string]any
	switch d := doc.(type) {
	case nil:
		m = map[string]any{}
	case map[string]any:
		m = maps.Clone(d)
	default:
		return nil, fmt.Errorf("cannot set %q in a %T", keys[0], doc)
	}
	child, err := setPath(m[keys[0]], keys[1:], v)
	if err != nil {
		return nil, err
	}
	m[keys[0]] = child
	return m, nil
}

// pathKeys splits a simple JSONPath ("$", "$.a.b") into its keys.
func pathKeys(path, root string) ([]string, error) {
	if strings.ContainsAny(path, "[]*?@") {
		return nil, fmt.Errorf("path %q: only dotted paths are simulated", path)
	}
	if path == root {
		return nil, nil
	}
	rest, ok := strings.CutPrefix(path, root+".")
	if !ok {
		return nil, fmt.Errorf("path %q does not start with %q", path, root)
	}
	return strings.Split(rest, "."), nil
}

// lookup evaluates a path against the state input ($) or the context
// object ($$). A missing key is an error, as it is in Step Functions.
func lookup(input, ctxObj any, path string) (any, error) {
	doc, root := input, "$"
	if strings.HasPrefix(path, "$$") {
		doc, root = ctxObj, "$$"
	}
	keys, err := pathKeys(path, root)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("path %q: %s is %T, not an object", path, strings.Join(append([]string{root}, keys[:i]...), "."), doc)
		}
		if doc, ok = m[k]; !ok {
			return nil, fmt.Errorf("path %q: no key %q in %s (keys %v)", path, k, strings.Join(append([]string{root}, keys[:i]...), "."), slices.Sorted(maps.Keys(m)))
		}
	}
	return doc, nil
}

// intrinsic evaluates the intrinsics the machines use: States.Format with
// a literal and paths, and States.Array of paths. Others are refused.
func intrinsic(expr string, input, ctxObj any) (any, error) {
	name, rest, ok := strings.Cut(expr, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return nil, fmt.Errorf("intrinsic %s: malformed", expr)
	}
	var args []string
	var b strings.Builder
	quoted := false
	for _, c := range strings.TrimSuffix(rest, ")") {
		switch {
		case c == '\'':
			quoted = !quoted
			b.WriteRune(c)
		case c == ',' && !quoted:
			args = append(args, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteRune(c)
		}
	}
	args = append(args, strings.TrimSpace(b.String()))
	values := make([]any, len(args))
	for i, a := range args {
		if lit, ok := strings.CutPrefix(a, "'"); ok {
			values[i] = strings.TrimSuffix(lit, "'")
			continue
		}
		v, err := lookup(input, ctxObj, a)
		if err != nil {
			return nil, fmt.Errorf("intrinsic %s: %w", name, err)
		}
		values[i] = v
	}
	switch name {
	case "States.Array":
		return values, nil
	case "States.Format":
		format, ok := values[0].(string)
		if !ok || strings.Count(format, "{}") != len(values)-1 {
			return nil, fmt.Errorf("intrinsic %s: %d arguments for %q", expr, len(values)-1, values[0])
		}
		for _, v := range values[1:] {
			format = strings.Replace(format, "{}", fmt.Sprint(v), 1)
		}
		return format, nil
	}
	return nil, fmt.Errorf("intrinsic %s is not simulated", expr)
}

// resolve fills a payload template: "key.$" fields become "key" with the
// path's value.
func resolve(tmpl, input, ctxObj any) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			if name, ok := strings.CutSuffix(k, ".$"); ok {
				path, _ := v.(string)
				var val any
				var err error
				if strings.HasPrefix(path, "States.") {
					val, err = intrinsic(path, input, ctxObj)
				} else {
					val, err = lookup(input, ctxObj, path)
				}
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", k, err)
				}
				out[name] = val
				continue
			}
			val, err := resolve(v, input, ctxObj)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", k, err)
			}
			out[k] = val
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			val, err := resolve(v, input, ctxObj)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = val
		}
		return out, nil
	}
	return tmpl, nil
}

// evalCondition evaluates a Choice rule's condition.
func evalCondition(c map[string]any, input, ctxObj any) (bool, error) {
	if subs, ok := c["Or"].([]any); ok {
		for _, sub := range subs {
			if ok, err := evalCondition(sub.(map[string]any), input, ctxObj); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	if subs, ok := c["And"].([]any); ok {
		for _, sub := range subs {
			if ok, err := evalCondition(sub.(map[string]any), input, ctxObj); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	if sub, ok := c["Not"].(map[string]any); ok {
		ok, err := evalCondition(sub, input, ctxObj)
		return !ok, err
	}
	variable, _ := c["Variable"].(string)
	if want, ok := c["IsPresent"].(bool); ok {
		_, err := lookup(input, ctxObj, variable)
		return (err == nil) == want, nil
	}
	v, err := lookup(input, ctxObj, variable)
	if err != nil {
		return false, err
	}
	switch {
	case c["BooleanEquals"] != nil:
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("%s is %T, not a boolean", variable, v)
		}
		return b == c["BooleanEquals"], nil
	case c["StringEquals"] != nil:
		s, ok := v.(string)
		if !ok {
			return false, fmt.Errorf("%s is %T, not a string", variable, v)
		}
		return s == c["StringEquals"], nil
	}
	return false, fmt.Errorf("condition %v is not simulated", c)
}

// simulate runs a rendered definition from a Pipe's array input.
func simulate(def map[string]any) (*flowSim, any, error) {
	s := newFlowSim()
	input := []any{map[string]any{"messageId": "m-1", "body": `{"detail-type":"elections_set_changed"}`}}
	ctxObj := map[string]any{
		"Execution":    map[string]any{"Id": contractExecutionArn, "Name": "contract-1", "Input": input, "StartTime": contractStartTime},
		"StateMachine": map[string]any{"Id": contractStateMachineArn},
	}
	out, err := s.run(def, input, ctxObj)
	return s, out, err
}

// lambdaTaskStates lists every Lambda task's name, at any depth.
func lambdaTaskStates(def map[string]any) []string {
	var names []string
	walk(def["States"].(map[string]any), func(name string, s map[string]any) {
		if s["Type"] == "Task" && s["Resource"] == asl.LambdaInvokeResource {
			names = append(names, name)
		}
	})
	sort.Strings(names)
	return names
}

// Every Lambda task's payload, built from data shaped like the Lambdas' real
// outputs, decodes strictly into the handler's input type, and the run ends
// in Succeeded having called every Lambda task.
func TestLambdaPayloadsMatchInputTypes(t *testing.T) {
	for name, sm := range machines() {
		t.Run(name, func(t *testing.T) {
			def := decode(t, render(t, sm))
			s, _, err := simulate(def)
			if err != nil {
				t.Fatalf("happy path: %v\ncalls so far:\n%s", err, fmtLambdaCalls(s.calls))
			}
			called := map[string]bool{}
			for _, c := range s.calls {
				called[c.State] = true
			}
			for _, st := range lambdaTaskStates(def) {
				if !called[st] && st != flows.StateStopQueries { // the failure path: TestFailurePathPayload

					t.Errorf("Lambda task %q was never reached, so its payload is unchecked", st)
				}
			}
			if s.guardCalls != 1 {
				t.Errorf("guard called %d times, want 1", s.guardCalls)
			}
			for id, polls := range s.queries {
				if polls != 2 {
					t.Errorf("query %s polled %d times, want 2 (RUNNING, then SUCCEEDED)", id, polls)
				}
			}
			t.Logf("%d Lambda calls checked, %d Athena queries", len(s.calls), len(s.queries))
		})
	}
}

// The failure path's Lambda task, from the state the Run's Catch leaves.
func TestFailurePathPayload(t *testing.T) {
	for name, sm := range machines() {
		t.Run(name, func(t *testing.T) {
			def := decode(t, render(t, sm))
			if got := catchNext(findState(def, flows.StateRun)); got != flows.StateStopQueries {
				t.Fatalf("%q catches to %q, want %q", flows.StateRun, got, flows.StateStopQueries)
			}
			s := newFlowSim()
			input := map[string]any{"trigger": []any{}, "error": map[string]any{"Error": "QueryFailedError", "Cause": "boom"}}
			ctxObj := map[string]any{"Execution": map[string]any{"Id": contractExecutionArn, "StartTime": contractStartTime}}
			out, next, err := s.step(flows.StateStopQueries, findState(def, flows.StateStopQueries), input, ctxObj)
			if err != nil {
				t.Fatal(err)
			}
			if next != flows.StateNotifyFailure || catchNext(findState(def, flows.StateStopQueries)) != flows.StateNotifyFailure {
				t.Errorf("%q goes to %q, want %q whatever happens", flows.StateStopQueries, next, flows.StateNotifyFailure)
			}
			if _, err := lookup(out, ctxObj, "$.error.Cause"); err != nil {
				t.Errorf("the error the notification reports is lost: %v", err)
			}
		})
	}
}

func fmtLambdaCalls(calls []lambdaCall) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "  %s → %s %s\n", c.State, c.Function, c.Payload)
	}
	return b.String()
}

// findState returns the named state at any depth.
func findState(def map[string]any, name string) map[string]any {
	var found map[string]any
	walk(def["States"].(map[string]any), func(n string, s map[string]any) {
		if n == name {
			found = s
		}
	})
	return found
}

// The simulation is only worth something if it rejects broken contracts:
// each case breaks one thing in a rendered definition.
func TestContractCheckCatchesMismatches(t *testing.T) {
	payload := func(def map[string]any, state string) map[string]any {
		return get(findState(def, state), "Parameters", "Payload").(map[string]any)
	}
	tests := []struct {
		name    string
		machine string
		breakIt func(def map[string]any)
		want    []string // substrings of the error
	}{
		{"unknown field", "current_elections", func(d map[string]any) {
			payload(d, currentelections.StateOutcodeLetter)["firstLetter"] = "A"
		}, []string{currentelections.StateOutcodeLetter, `unknown field "firstLetter"`}},
		{"wrong type", "current_elections", func(d map[string]any) {
			payload(d, currentelections.StateOutcodeLetter)["bucket"] = 7.0
		}, []string{currentelections.StateOutcodeLetter, "SplitEvent.bucket", "of type string"}},
		{"empty required field", "addressbase", func(d map[string]any) {
			payload(d, addressbase.StateCleanUp)["prefix"] = "/"
		}, []string{addressbase.StateCleanUp, "whole bucket"}},
		{"missing required field", "current_elections", func(d map[string]any) {
			delete(payload(d, currentelections.StatePublish), "dest_prefix")
		}, []string{currentelections.StatePublish, "dest_prefix"}},
		{"split without its list column", "current_elections", func(d map[string]any) {
			delete(payload(d, currentelections.StateOutcodeLetter), "list_column")
		}, []string{currentelections.StateOutcodeLetter, "list_column"}},
		{"split with a malformed list column", "current_elections", func(d map[string]any) {
			payload(d, currentelections.StateOutcodeLetter)["list_column"] = "ballot-ids"
		}, []string{currentelections.StateOutcodeLetter, "list_column", "plain lower-case identifier"}},
		{"delete gets the wrong list", "current_elections", func(d map[string]any) {
			payload(d, currentelections.StatePublish)["letters.$"] = "$.config.letters"
		}, []string{currentelections.StatePublish, "outcodes.Result"}},
		{"output key the guard does not return", "addressbase", func(d map[string]any) {
			rules := findState(d, flows.StateGuardChoice)["Choices"].([]any)
			rules[0].(map[string]any)["Variable"] = "$.guard.Payload.go"
		}, []string{flows.StateGuardChoice, `no key "go"`, "decision"}},
		{"Glue location key misspelt", "addressbase", func(d map[string]any) {
			payload(d, addressbase.StatePartition)["context"] = map[string]any{"location.$": "$.source.Payload.addressbase_cleaned_raw_location"}
		}, []string{addressbase.StatePartition, "context", "addressbase_cleaned_raw_location"}},
		{"status call reads a missing key", "current_elections", func(d map[string]any) {
			payload(d, currentelections.StateJoin+" - status")["queryExecutionId.$"] = "$.query.Payload.QueryExecutionId"
		}, []string{currentelections.StateJoin + " - status", `no key "QueryExecutionId"`}},
		{"letter as a number", "current_elections", func(d map[string]any) {
			payload(d, currentelections.StateOutcodeLetter)["first_letter"] = 1.0
		}, []string{currentelections.StateOutcodeLetter, "first_letter"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm := machines()[tc.machine]
			def := decode(t, render(t, sm))
			tc.breakIt(def)
			_, _, err := simulate(def)
			if err == nil {
				t.Fatal("the broken definition passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// Static check of every read of a Lambda's output ("$.<rp>.Payload.<key>"
// in a payload, Choice or path), including branches the happy path does not
// take: the Lambda's real output type must marshal that key.
func TestFlowReadsKeysTheLambdasReturn(t *testing.T) {
	cs := contracts()
	for name, sm := range machines() {
		t.Run(name, func(t *testing.T) {
			def := decode(t, render(t, sm))
			writers := map[string][]string{} // ResultPath -> Lambda ARNs writing it
			walk(def["States"].(map[string]any), func(_ string, s map[string]any) {
				if rp, ok := s["ResultPath"].(string); ok && s["Resource"] == asl.LambdaInvokeResource {
					fn, _ := get(s, "Parameters", "FunctionName").(string)
					writers[rp] = append(writers[rp], fn)
				}
			})
			reads := 0
			walk(def["States"].(map[string]any), func(state string, s map[string]any) {
				for _, path := range jsonPaths(s) {
					rp, key, ok := strings.Cut(path, ".Payload.")
					if !ok || len(writers[rp]) == 0 {
						continue
					}
					key, _, _ = strings.Cut(key, ".")
					reads++
					for _, fn := range writers[rp] {
						out, err := toJSONValue(cs[fn].full)
						if err != nil {
							t.Fatal(err)
						}
						if _, ok := out.(map[string]any)[key]; !ok {
							t.Errorf("state %q reads %s, but %s's output %T has no JSON key %q", state, path, cs[fn].function, cs[fn].full, key)
						}
					}
				}
			})
			if reads < 4 {
				t.Fatalf("found %d reads of Lambda outputs; the walk is broken", reads)
			}
		})
	}
	// The outcode Map's result is the list publish_outcodes takes: each
	// iteration outputs the split Lambda's Payload, an outcodes.Result.
	for _, m := range []struct{ machine, outcodes, letter, publish string }{
		{"current_elections", currentelections.StateOutcodes, currentelections.StateOutcodeLetter, currentelections.StatePublish},
		{"boundary_reviews", boundaryreviews.StateOutcodes, boundaryreviews.StateOutcodeLetter, boundaryreviews.StatePublish},
	} {
		def := decode(t, render(t, machines()[m.machine]))
		outMap := findState(def, m.outcodes)
		task := findState(def, m.letter)
		if got, want := []any{outMap["ResultPath"], task["OutputPath"], task["End"], get(findState(def, m.publish), "Parameters", "Payload", "letters.$")},
			[]any{"$.letters", "$.Payload", true, "$.letters"}; !cmp.Equal(got, want) {
			t.Errorf("%s: outcode Map ResultPath, item OutputPath, End, delete's letters.$ = %v, want %v", m.machine, got, want)
		}
	}
	var _ []outcodes.Result = outcodes.PublishEvent{}.Letters
}

// jsonPaths lists the paths a state reads: "*.$" values, Choice variables,
// ItemsPath, InputPath and OutputPath.
func jsonPaths(s map[string]any) []string {
	var paths []string
	var visit func(v any)
	visit = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if str, ok := x.(string); ok && (strings.HasSuffix(k, ".$") || k == "Variable") {
					paths = append(paths, str)
				}
				if k != "Branches" && k != "ItemProcessor" {
					visit(x)
				}
			}
		case []any:
			for _, x := range t {
				visit(x)
			}
		}
	}
	for _, k := range []string{"Parameters", "ItemSelector", "ResultSelector", "Choices"} {
		visit(s[k])
	}
	for _, k := range []string{"ItemsPath", "InputPath", "OutputPath"} {
		if p, ok := s[k].(string); ok {
			paths = append(paths, p)
		}
	}
	return paths
}

// taskPolicyProblems checks that every Task retries and that every error a
// Task can raise reaches the failure notification: through its own Catch,
// or through the nearest enclosing Parallel or Map that catches. The SNS
// task is the exception: it ends in Failed.
func taskPolicyProblems(def map[string]any) []string {
	top := def["States"].(map[string]any)
	var problems []string
	// enclosers are the catch lists of the enclosing Parallel/Map states,
	// innermost last.
	var check func(scope map[string]any, enclosers []enclosing)
	check = func(scope map[string]any, enclosers []enclosing) {
		for _, name := range slices.Sorted(maps.Keys(scope)) {
			s := scope[name].(map[string]any)
			if s["Type"] == "Task" {
				if retry, _ := s["Retry"].([]any); len(retry) == 0 {
					problems = append(problems, fmt.Sprintf("Task %q has no Retry", name))
				}
				if name == flows.StateNotifyFailure {
					if catchNext(s) != flows.StateFailed || s["Next"] != flows.StateFailed {
						problems = append(problems, fmt.Sprintf("%q does not end in %q whatever happens", name, flows.StateFailed))
					}
				} else if why := uncaught(scope, name, s, enclosers); why != "" {
					problems = append(problems, fmt.Sprintf("Task %q: %s", name, why))
				}
			}
			inner := append(slices.Clone(enclosers), enclosing{name: name, scope: scope, state: s})
			if bs, ok := s["Branches"].([]any); ok {
				for _, b := range bs {
					check(b.(map[string]any)["States"].(map[string]any), inner)
				}
			}
			if p, ok := s["ItemProcessor"].(map[string]any); ok {
				check(p["States"].(map[string]any), inner)
			}
		}
	}
	check(top, nil)
	return problems
}

// enclosing is a Parallel or Map state and the scope it sits in.
type enclosing struct {
	name  string
	scope map[string]any
	state map[string]any
}

// catchNext returns where a state's catch-all goes, or "".
func catchNext(s map[string]any) string {
	catch, _ := s["Catch"].([]any)
	for _, c := range catch {
		c := c.(map[string]any)
		if slices.Contains(c["ErrorEquals"].([]any), any("States.ALL")) {
			next, _ := c["Next"].(string)
			return next
		}
	}
	return ""
}

// uncaught says why an error from the state can miss the notification, or
// returns "".
func uncaught(scope map[string]any, name string, s map[string]any, enclosers []enclosing) string {
	catch, _ := s["Catch"].([]any)
	for _, c := range catch {
		next, _ := c.(map[string]any)["Next"].(string)
		if !leadsTo(scope, next, flows.StateNotifyFailure, len(enclosers) == 0) {
			return fmt.Sprintf("its Catch goes to %q, which does not lead to %q", next, flows.StateNotifyFailure)
		}
	}
	if catchNext(s) != "" {
		return ""
	}
	// Errors not caught here end the scope and rise to the enclosers; the
	// innermost one that catches decides.
	for i := len(enclosers) - 1; i >= 0; i-- {
		e := enclosers[i]
		next := catchNext(e.state)
		if next == "" {
			continue
		}
		if !leadsTo(e.scope, next, flows.StateNotifyFailure, i == 0) {
			return fmt.Sprintf("its errors are caught by %q, whose Catch goes to %q, which does not lead to %q", e.name, next, flows.StateNotifyFailure)
		}
		return ""
	}
	return "no Catch of its own or on an enclosing Parallel/Map sends its errors to " + strconv.Quote(flows.StateNotifyFailure)
}

// leadsTo reports whether target is reachable from start in scope, following
// Next, Default, Choices and Catch. Only the top-level scope holds target.
func leadsTo(scope map[string]any, start, target string, isTop bool) bool {
	if !isTop {
		return false
	}
	seen := map[string]bool{}
	queue := []string{start}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == target {
			return true
		}
		if seen[n] || n == "" {
			continue
		}
		seen[n] = true
		s, ok := scope[n].(map[string]any)
		if !ok {
			continue
		}
		next, _ := s["Next"].(string)
		def, _ := s["Default"].(string)
		queue = append(queue, next, def)
		for _, list := range []string{"Choices", "Catch"} {
			items, _ := s[list].([]any)
			for _, it := range items {
				n, _ := it.(map[string]any)["Next"].(string)
				queue = append(queue, n)
			}
		}
	}
	return false
}

// Every Task retries, and every failure ends in the notification.
func TestEveryTaskRetriesAndIsCaught(t *testing.T) {
	for name, sm := range machines() {
		t.Run(name, func(t *testing.T) {
			def := decode(t, render(t, sm))
			for _, p := range taskPolicyProblems(def) {
				t.Error(p)
			}
			states := def["States"].(map[string]any)
			for st, want := range map[string]string{flows.StateGuard: flows.StateNotifyFailure, flows.StateRun: flows.StateStopQueries, flows.StateStopQueries: flows.StateNotifyFailure} {
				if got := catchNext(states[st].(map[string]any)); got != want {
					t.Errorf("%q catches States.ALL to %q, want %q", st, got, want)
				}
			}
			tasks := 0
			walk(states, func(string, map[string]any) { tasks++ })
			if tasks < 10 {
				t.Fatalf("walked %d states; the walk is broken", tasks)
			}
		})
	}
}

// The policy rejects each way of leaving a Task's failure unreported.
func TestTaskPolicyCatchesGaps(t *testing.T) {
	stray := func() map[string]any {
		return map[string]any{"Type": "Task", "Resource": asl.LambdaInvokeResource, "End": true,
			"Parameters": map[string]any{"FunctionName": lambdas[layer.Guard], "Payload": map[string]any{}},
			"Retry":      []any{map[string]any{"ErrorEquals": []any{"States.TaskFailed"}}}}
	}
	tests := []struct {
		name    string
		breakIt func(def map[string]any)
		want    string
	}{
		{"uncaught top-level task", func(d map[string]any) {
			d["States"].(map[string]any)["Stray"] = stray()
		}, `Task "Stray": no Catch`},
		{"task without retry", func(d map[string]any) {
			delete(findState(d, addressbase.StateCleanUp), "Retry")
		}, `Task "Delete older runs" has no Retry`},
		{"guard without catch", func(d map[string]any) {
			delete(findState(d, flows.StateGuard), "Catch")
		}, `Task "Check singleton": no Catch`},
		{"Run swallows errors", func(d map[string]any) {
			findState(d, flows.StateRun)["Catch"].([]any)[0].(map[string]any)["Next"] = flows.StateSucceeded
		}, `caught by "Run", whose Catch goes to "Succeeded"`},
		{"nested Parallel swallows errors", func(d map[string]any) {
			gates := findState(d, addressbase.StateGates)
			gates["Catch"] = []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "Next": addressbase.StateSwitch}}
		}, `caught by "Quality gates"`},
		{"own catch goes elsewhere", func(d map[string]any) {
			s := findState(d, addressbase.StateSetSource)
			s["Catch"] = []any{map[string]any{"ErrorEquals": []any{"States.TaskFailed"}, "Next": addressbase.StateCleanUp}}
		}, `Task "Get source location": its Catch goes to "Delete older runs"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			def := decode(t, render(t, machines()["addressbase"]))
			if p := taskPolicyProblems(def); len(p) > 0 {
				t.Fatalf("unbroken definition has problems: %v", p)
			}
			tc.breakIt(def)
			problems := taskPolicyProblems(def)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q do not include %q", problems, tc.want)
			}
		})
	}
}

// stepOrder follows Next from a scope's StartAt, stepping over each Athena
// poll loop ("X" → "X - wait" → "X - status" → "X - done?") to the state its
// SUCCEEDED rule goes to. It stops at End or at a Choice.
func stepOrder(scope map[string]any) ([]string, error) {
	states := scope["States"].(map[string]any)
	var order []string
	name, _ := scope["StartAt"].(string)
	for name != "" {
		if len(order) > len(states) {
			return order, errors.New("the Next chain loops")
		}
		s, ok := states[name].(map[string]any)
		if !ok {
			return order, fmt.Errorf("no state %q", name)
		}
		order = append(order, name)
		if s["End"] == true || s["Type"] == "Choice" {
			return order, nil // a Choice has no single next step
		}
		next, _ := s["Next"].(string)
		if next == name+" - wait" {
			var err error
			if next, err = pollLoopExit(states, name); err != nil {
				return order, err
			}
		}
		if st, ok := states[next].(map[string]any); ok && st["Type"] == "Succeed" && strings.HasPrefix(next, name) {
			return order, nil // a loop ending its scope
		}
		name = next
	}
	return order, errors.New("a state has neither Next nor End")
}

// pollLoopExit checks the loop's shape and returns where SUCCEEDED goes.
func pollLoopExit(states map[string]any, name string) (string, error) {
	wait, status, done := name+" - wait", name+" - status", name+" - done?"
	if get(states, wait, "Type") != "Wait" || get(states, wait, "Next") != status ||
		get(states, status, "Type") != "Task" || get(states, status, "Next") != done || get(states, done, "Type") != "Choice" {
		return "", fmt.Errorf("%q's poll loop is not %q → %q → %q", name, wait, status, done)
	}
	rules, _ := get(states, done, "Choices").([]any)
	for _, r := range rules {
		r := r.(map[string]any)
		if r["StringEquals"] == "SUCCEEDED" {
			next, _ := r["Next"].(string)
			return next, nil
		}
	}
	return "", fmt.Errorf("%q has no SUCCEEDED rule", done)
}

func TestLayerStepOrder(t *testing.T) {
	tests := []struct {
		machine string
		want    []string
	}{
		{"addressbase", []string{addressbase.StateSetSource, addressbase.StatePointStaging, addressbase.StatePartition, addressbase.StateGates, addressbase.StateSwitch, addressbase.StateCleanUp}},
		{"current_elections", []string{currentelections.StateSetLetters, currentelections.StatePointStaging, currentelections.StateExport, currentelections.StateJoin,
			currentelections.StateGates, currentelections.StateOutcodes, currentelections.StatePlausibility, currentelections.StatePublish, currentelections.StateSwitch, currentelections.StateCleanUp}},
		{"current_elections_abc_conc", []string{currentelections.StateSetLetters, currentelections.StatePointStaging, currentelections.StateExport, currentelections.StateJoin,
			currentelections.StateGates, currentelections.StateOutcodes, currentelections.StatePlausibility, currentelections.StatePublish, currentelections.StateSwitch, currentelections.StateCleanUp}},
		{"boundary_reviews", boundaryReviewsSteps},
		{"boundary_reviews_abc_conc", boundaryReviewsSteps},
	}
	for _, tc := range tests {
		t.Run(tc.machine, func(t *testing.T) {
			def := decode(t, render(t, machines()[tc.machine]))
			top, err := stepOrder(def)
			if err != nil {
				t.Fatalf("top level: %v (so far %v)", err, top)
			}
			wantTop := []string{flows.StateStart, flows.StateGuard, flows.StateGuardChoice}
			if diff := cmp.Diff(wantTop, top); diff != "" {
				t.Errorf("top-level order up to the guard's choice (-want +got):\n%s", diff)
			}
			if next := get(def, "States", flows.StateGuardChoice, "Choices").([]any)[0].(map[string]any)["Next"]; next != flows.StateRun {
				t.Errorf("the guard's proceed rule goes to %v, want %q", next, flows.StateRun)
			}
			if next := get(def, "States", flows.StateRun, "Next"); next != flows.StateSucceeded {
				t.Errorf("%q goes to %v, want %q", flows.StateRun, next, flows.StateSucceeded)
			}
			branches := get(def, "States", flows.StateRun, "Branches").([]any)
			if len(branches) != 1 {
				t.Fatalf("%q has %d branches, want 1", flows.StateRun, len(branches))
			}
			got, err := stepOrder(branches[0].(map[string]any))
			if err != nil {
				t.Fatalf("%v (so far %v)", err, got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("steps inside %q (-want +got):\n%s", flows.StateRun, diff)
			}
		})
	}
}

// boundaryReviewsSteps are MakeBoundaryReviewsParquet's top-level steps inside Run.
var boundaryReviewsSteps = []string{
	boundaryreviews.StateSetLetters, boundaryreviews.StatePointChangesStaging, boundaryreviews.StatePointJoinedStaging, boundaryreviews.StateExport,
	boundaryreviews.StateJoinReviews, boundaryreviews.StateJoinLetters, boundaryreviews.StateGates, boundaryreviews.StateOutcodes, boundaryreviews.StatePublish,
	boundaryreviews.StateSwitchJoined, boundaryreviews.StateCleanUpJoined, boundaryreviews.StateSwitchChanges, boundaryreviews.StateCleanUpChanges,
}

// stepOrder refuses a poll loop that is not wait → status → done?.
func TestStepOrderChecksPollLoops(t *testing.T) {
	def := decode(t, render(t, machines()["addressbase"]))
	run := get(def, "States", flows.StateRun, "Branches").([]any)[0].(map[string]any)
	run["States"].(map[string]any)[addressbase.StatePartition+" - status"].(map[string]any)["Next"] = addressbase.StateGates
	got, err := stepOrder(run)
	if err == nil || !strings.Contains(err.Error(), strconv.Quote(addressbase.StatePartition)+"'s poll loop") {
		t.Errorf("stepOrder = %v, %v; want an error about %q's poll loop", got, err, addressbase.StatePartition)
	}
}

// The payloads each Lambda receives on the happy path, in call order, are
// kept as golden files so a change to what a Lambda is sent shows in review.
func TestHappyPathPayloadsMatchGolden(t *testing.T) {
	for _, name := range []string{"addressbase", "current_elections_abc_conc", "boundary_reviews_abc_conc"} {
		t.Run(name, func(t *testing.T) {
			s, _, err := simulate(decode(t, render(t, machines()[name])))
			if err != nil {
				t.Fatal(err)
			}
			type goldenCall struct {
				State    string          `json:"state"`
				Function string          `json:"function"`
				Payload  json.RawMessage `json:"payload"`
			}
			calls := make([]goldenCall, len(s.calls))
			for i, c := range s.calls {
				calls[i] = goldenCall{State: c.State, Function: c.Function, Payload: json.RawMessage(c.Payload)}
			}
			got, err := json.MarshalIndent(calls, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "payloads_"+name+".json"), append(got, '\n'))
		})
	}
}
