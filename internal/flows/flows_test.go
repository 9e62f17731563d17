package flows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layer/layertest"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

const (
	topicArn = "arn:aws:sns:eu-west-2:123456789012:dc-data-baker-failures"
)

var lambdas = layertest.Lambdas

// The layers' state machines. The others read what AddressBase writes, so
// each conflicts with it (the test AddressBase lists only one of them).
const (
	abMachine = "arn:aws:states:eu-west-2:123456789012:stateMachine:MakeAddressBasePartitioned"
	ceMachine = "arn:aws:states:eu-west-2:123456789012:stateMachine:MakeCurrentElectionsParquet"
	brMachine = "arn:aws:states:eu-west-2:123456789012:stateMachine:MakeBoundaryReviewsParquet"
)

func addressBaseParams() addressbase.FlowParams {
	return addressbase.FlowParams{
		Frame:        flows.Frame{Lambdas: lambdas, FailureTopicArn: topicArn, Guard: flows.Guard{ConflictingStateMachineArns: []string{ceMachine}}},
		Database:     "dc_data_baker",
		TargetBucket: "pollingstations.private.data",
		TargetPrefix: "addressbase/development/addressbase_partitioned/",
	}
}

func currentElectionsParams() currentelections.FlowParams {
	return currentelections.FlowParams{
		Frame:         flows.Frame{Lambdas: lambdas, FailureTopicArn: topicArn, Guard: flows.Guard{ConflictingStateMachineArns: []string{abMachine}}},
		Database:      "dc_data_baker",
		Bucket:        "pollingstations.private.data",
		JoinedPrefix:  "addressbase/development/current_ballots_joined_to_address_base/",
		StagingPrefix: "addressbase/development/staging/current_elections_parquet/",
		OutcodePrefix: "addressbase/development/current_elections_parquet/",
	}
}

func boundaryReviewsParams() boundaryreviews.FlowParams {
	return boundaryreviews.FlowParams{
		Frame:         flows.Frame{Lambdas: lambdas, FailureTopicArn: topicArn, Guard: flows.Guard{ConflictingStateMachineArns: []string{abMachine}}},
		Database:      "dc_data_baker",
		Bucket:        "pollingstations.private.data",
		ChangesPrefix: "addressbase/development/boundary_review_address_changes/",
		JoinedPrefix:  "addressbase/development/current_boundary_reviews_joined_to_address_base/",
		StagingPrefix: "addressbase/development/staging/current_boundary_reviews_parquet/",
		OutcodePrefix: "addressbase/development/current_boundary_reviews_parquet/",
	}
}

// machines are every definition the tests check, by golden file name.
func machines() map[string]asl.StateMachine {
	small := currentElectionsParams()
	small.Letters = []string{"A", "B", "C"}
	small.OutcodeMaxConcurrency = 2
	smallBR := boundaryReviewsParams()
	smallBR.Letters = []string{"A", "B", "C"}
	smallBR.MaxConcurrency = 2
	smallBR.OutcodeMaxConcurrency = 2
	return map[string]asl.StateMachine{
		"addressbase":                addressbase.Flow(addressBaseParams()),
		"current_elections":          currentelections.Flow(currentElectionsParams()),
		"current_elections_abc_conc": currentelections.Flow(small),
		"boundary_reviews":           boundaryreviews.Flow(boundaryReviewsParams()),
		"boundary_reviews_abc_conc":  boundaryreviews.Flow(smallBR),
	}
}

func render(t *testing.T, sm asl.StateMachine) []byte {
	t.Helper()
	b, err := sm.Render()
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return b
}

func TestDefinitionsMatchGolden(t *testing.T) {
	for name, sm := range machines() {
		t.Run(name, func(t *testing.T) {
			golden.Check(t, filepath.Join("testdata", name+".json"), render(t, sm))
		})
	}
}

func TestDefinitionsPassASLValidator(t *testing.T) {
	t.Parallel()
	nodetool.Require(t)
	defs := map[string][]byte{}
	for name, sm := range machines() {
		defs[name] = render(t, sm)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if err := nodetool.ValidateASL(ctx, defs); err != nil {
		t.Fatal(err)
	}
	t.Logf("asl-validator checked %d definitions in %v", len(defs), time.Since(start))
}

// walk visits every state at any depth.
func walk(states map[string]any, fn func(name string, s map[string]any)) {
	for name, v := range states {
		s := v.(map[string]any)
		fn(name, s)
		if bs, ok := s["Branches"].([]any); ok {
			for _, b := range bs {
				walk(b.(map[string]any)["States"].(map[string]any), fn)
			}
		}
		if p, ok := s["ItemProcessor"].(map[string]any); ok {
			walk(p["States"].(map[string]any), fn)
		}
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Policies that hold for every definition, checked on the rendered JSON.
func TestDefinitionPolicies(t *testing.T) {
	wantRetry := []any{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}
	for name, sm := range machines() {
		t.Run(name, func(t *testing.T) {
			def := decode(t, render(t, sm))
			if def["StartAt"] != flows.StateStart {
				t.Errorf("StartAt = %v, want the input wrapper", def["StartAt"])
			}
			if next := def["States"].(map[string]any)[flows.StateStart].(map[string]any)["Next"]; next != flows.StateGuard {
				t.Errorf("%s goes to %v, want the singleton guard", flows.StateStart, next)
			}
			if def["TimeoutSeconds"] == nil {
				t.Error("no TimeoutSeconds: a stuck run would never end")
			}
			lambdaTasks := 0
			walk(def["States"].(map[string]any), func(state string, s map[string]any) {
				if s["Type"] == "Wait" || s["Type"] == "Choice" || s["Type"] == "Pass" || s["Type"] == "Succeed" || s["Type"] == "Fail" {
					return
				}
				if s["Type"] == "Map" {
					if c, _ := s["MaxConcurrency"].(float64); c < 1 {
						t.Errorf("Map %q has unbounded concurrency", state)
					}
					return
				}
				if s["Type"] != "Task" || s["Resource"] != asl.LambdaInvokeResource {
					return
				}
				lambdaTasks++
				retry, _ := s["Retry"].([]any)
				if len(retry) == 0 {
					t.Errorf("Lambda task %q does not retry", state)
					return
				}
				r := retry[0].(map[string]any)
				if diff := cmp.Diff(wantRetry, r["ErrorEquals"]); diff != "" {
					t.Errorf("Lambda task %q retries (-want +got):\n%s", state, diff)
				}
				if r["BackoffRate"].(float64) <= 1 || r["JitterStrategy"] != "FULL" {
					t.Errorf("Lambda task %q retries without backoff and jitter: %v", state, r)
				}
			})
			if lambdaTasks == 0 {
				t.Error("no Lambda tasks found")
			}
			states := def["States"].(map[string]any)
			notify := states[flows.StateNotifyFailure].(map[string]any)
			if notify["Resource"] != asl.SNSPublishResource || notify["Parameters"].(map[string]any)["TopicArn"] != topicArn {
				t.Errorf("failure notification = %v, want SNS publish to %s", notify, topicArn)
			}
			for st, want := range map[string]string{flows.StateGuard: flows.StateNotifyFailure, flows.StateRun: flows.StateStopQueries, flows.StateStopQueries: flows.StateNotifyFailure} {
				catch, _ := states[st].(map[string]any)["Catch"].([]any)
				if len(catch) == 0 || catch[0].(map[string]any)["Next"] != want {
					t.Errorf("state %q does not send failures to %q: %v", st, want, catch)
				}
			}
		})
	}
}

func TestCurrentElectionsParameters(t *testing.T) {
	p := currentElectionsParams()
	p.Letters = []string{"B", "M"}
	def := decode(t, render(t, currentelections.Flow(p)))
	got := map[string]any{}
	walk(def["States"].(map[string]any), func(name string, s map[string]any) {
		switch name {
		case currentelections.StateSetLetters:
			got["letters"] = s["Result"].(map[string]any)["letters"]
		case currentelections.StateOutcodes:
			got["outcode concurrency"] = s["MaxConcurrency"]
		}
	})
	want := map[string]any{
		"letters":             []any{"B", "M"},
		"outcode concurrency": 2.0, // every letter at once
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if n := len(flows.DefaultLetters()); n != 26 {
		t.Errorf("DefaultLetters has %d letters, want 26", n)
	}
}

func TestAthenaQueryLoop(t *testing.T) {
	q := flows.AthenaQuery{
		Name: "Q", Lambda: lambdas[layer.Query], ResultPath: "$.q", PollSeconds: 7, Next: "After",
		Request: map[string]any{"QueryString": "MSCK REPAIR TABLE t"},
	}
	states := q.States()
	states["After"] = asl.Succeed{}
	def := decode(t, render(t, asl.StateMachine{StartAt: "Q", States: states}))
	st := def["States"].(map[string]any)
	got := map[string]any{
		"start payload":  st["Q"].(map[string]any)["Parameters"].(map[string]any)["Payload"],
		"wait":           st["Q - wait"].(map[string]any)["Seconds"],
		"status payload": st["Q - status"].(map[string]any)["Parameters"].(map[string]any)["Payload"],
		"choice default": st["Q - done?"].(map[string]any)["Default"],
	}
	want := map[string]any{
		"start payload":  map[string]any{"QueryString": "MSCK REPAIR TABLE t", "blocking": false, "executionArn.$": "$$.Execution.Id"},
		"wait":           7.0,
		"status payload": map[string]any{"queryExecutionId.$": "$.q.Payload.queryExecutionId"},
		"choice default": "Q - unexpected status",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := q.Request["blocking"]; ok {
		t.Error("States modified the caller's Request map")
	}
}

// Sanity check on the helper used by the execution tests.
func TestSubsequence(t *testing.T) {
	if !isSubsequence([]string{"a", "c"}, []string{"a", "b", "c"}) || isSubsequence([]string{"c", "a"}, []string{"a", "b", "c"}) {
		t.Fatal("isSubsequence is wrong")
	}
}

func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func fmtCalls(r report) string {
	s := ""
	for _, c := range r.Calls {
		s += fmt.Sprintf("  %s (%s) %v\n", c.State, c.Role, c.Payload)
	}
	return s
}

// Every call to the query Lambda, start or status, outlasts Athena's
// quotas with a long retry, so one busy moment does not fail a run; every
// start outlasts a deploy that replaces its named query.
func TestAthenaCallsRetryThrottling(t *testing.T) {
	for name, sm := range machines() {
		t.Run(name, func(t *testing.T) {
			calls := 0
			walk(decode(t, render(t, sm))["States"].(map[string]any), func(state string, s map[string]any) {
				payload, _ := get(s, "Parameters", "Payload").(map[string]any)
				_, start := payload["QueryName"]
				_, literal := payload["QueryString"]
				_, status := payload["queryExecutionId.$"]
				if !start && !literal && !status {
					return
				}
				calls++
				retried := map[string]bool{}
				for _, r := range s["Retry"].([]any) {
					for _, e := range r.(map[string]any)["ErrorEquals"].([]any) {
						retried[e.(string)] = true
					}
				}
				if !retried[flows.AthenaThrottled] {
					t.Errorf("%s calls the query Lambda without retrying %s", state, flows.AthenaThrottled)
				}
				if start && !retried[flows.NamedQueryUnavailable] {
					t.Errorf("%s starts a named query without retrying %s", state, flows.NamedQueryUnavailable)
				}
			})
			if calls < 4 {
				t.Fatalf("found %d query Lambda calls; the walk is broken", calls)
			}
		})
	}
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
