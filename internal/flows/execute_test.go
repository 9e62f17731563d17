package flows_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer/layertest"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

// scenario drives the JS fakes in tools/run-sfn.mjs.
type scenario struct {
	// Input is the execution input; nil means {"source":"test"}.
	Input any `json:"-"`
	// GuardDecisions are the guard's answers in call order; the last
	// repeats. Empty means proceed.
	GuardDecisions []string       `json:"guardDecisions,omitempty"`
	FailQuery      string         `json:"failQuery,omitempty"`
	RunningPolls   int            `json:"runningPolls,omitempty"`
	Throttle       map[string]int `json:"throttle,omitempty"`
	// Implausible makes the plausibility gate refuse unless the execution's
	// input has accept_change: true.
	Implausible bool `json:"implausible,omitempty"`
}

type call = nodetool.SFNCall

// report is what the local state machine runner prints.
type report = nodetool.SFNReport

const (
	executionID = "arn:aws:states:eu-west-2:123456789012:execution:Layer:" + execName
	execName    = "run-1"
)

var roles = layertest.Roles

// execute runs sm with aws-local-stepfunctions under Node 22.
func execute(t *testing.T, sm asl.StateMachine, sc scenario) report {
	t.Helper()
	var input any = map[string]any{"source": "test"}
	if sc.Input != nil {
		input = sc.Input
	}
	var r report
	nodetool.RunScript(t, "run-sfn.mjs", map[string]any{
		"definition": json.RawMessage(render(t, sm)),
		"input":      input,
		"context": map[string]any{
			"StateMachine": map[string]any{"Id": "arn:aws:states:eu-west-2:123456789012:stateMachine:Layer"},
			"Execution":    map[string]any{"Id": executionID, "Name": execName},
		},
		"roles":    roles,
		"scenario": sc,
	}, &r)
	return r
}

func callsOf(r report, role string) []call {
	var out []call
	for _, c := range r.Calls {
		if c.Role == role {
			out = append(out, c)
		}
	}
	return out
}

func mustSucceed(t *testing.T, r report) {
	t.Helper()
	if r.Status != "SUCCEEDED" {
		t.Fatalf("execution %s: %s: %s\ncalls:\n%s", r.Status, r.Error, r.Cause, fmtCalls(r))
	}
	if len(r.SNS) != 0 {
		t.Errorf("a successful run notified the failure topic: %+v", r.SNS)
	}
}

func TestAddressBaseHappyPath(t *testing.T) {
	t.Parallel()
	r := execute(t, addressbase.Flow(addressBaseParams()), scenario{RunningPolls: 1})
	mustSucceed(t, r)
	top := []string{flows.StateStart, flows.StateGuard, flows.StateGuardChoice, flows.StateRun, flows.StateSucceeded}
	if diff := cmp.Diff(top, r.Entered); diff != "" {
		t.Errorf("top-level states (-want +got):\n%s", diff)
	}
	steps := []string{
		flows.StateGuard, addressbase.StateSetSource, addressbase.StatePointStaging,
		addressbase.StatePartition, addressbase.StatePartition + " - status", addressbase.StatePartition + " - status",
		addressbase.StateSwitch, addressbase.StateCleanUp,
	}
	if got := callStates(r); !isSubsequence(steps, got) {
		t.Errorf("steps out of order:\nwant in order %q\ncalled %q", steps, got)
	}
	// The gates run after the partition query and before the switch.
	partitionDone := lastIndex(callStates(r), addressbase.StatePartition+" - status")
	switched := slices.Index(callStates(r), addressbase.StateSwitch)
	for _, g := range []string{addressbase.StateGateOneSource, addressbase.StateGateUPRNs} {
		if i := slices.Index(callStates(r), g); i < partitionDone || i > switched {
			t.Errorf("gate %q started at call %d, not between the partition's end (call %d) and the switch (call %d)", g, i, partitionDone, switched)
		}
	}

	var started []string
	for _, c := range callsOf(r, "query") {
		if _, poll := c.Payload["queryExecutionId"]; poll {
			continue
		}
		started = append(started, c.Payload["QueryName"].(string))
	}
	sort.Strings(started[1:]) // the gates run in parallel
	want := []string{"partition-addressbase-cleaned", "addressbase-gate-one-source", "addressbase-gate-uprns"}
	if diff := cmp.Diff(want, started); diff != "" {
		t.Errorf("queries started (-want +got):\n%s", diff)
	}
	// The staging twin, the query and the switch all name this execution's
	// prefix.
	home := "s3://" + addressBaseParams().TargetBucket + "/" + addressBaseParams().TargetPrefix
	run := home + "runs/" + execName + "/"
	partition := callsOf(r, "query")[0].Payload
	wantCtx := map[string]any{"addressbase_cleaned_raw_location": "s3://source-bucket/addressbase_cleaned_raw/", "run": execName}
	if diff := cmp.Diff(wantCtx, partition["context"]); diff != "" {
		t.Errorf("partition query context (-want +got):\n%s", diff)
	}
	var pointed []string
	for _, c := range callsOf(r, "tableLocation") {
		if loc, ok := c.Payload["location"].(string); ok {
			pointed = append(pointed, c.Payload["table"].(string)+" "+loc)
		}
	}
	if diff := cmp.Diff([]string{"addressbase_partitioned_staging " + run, "addressbase_partitioned " + run}, pointed); diff != "" {
		t.Errorf("tables pointed at the run (-want +got):\n%s", diff)
	}
	empty := callsOf(r, "emptyPrefix")
	wantKeep := []any{run, "s3://source-bucket/addressbase_partitioned/"}
	if len(empty) != 1 || empty[0].Payload["prefix"] != addressBaseParams().TargetPrefix || !cmp.Equal(wantKeep, empty[0].Payload["keep"]) {
		t.Errorf("emptyPrefix calls = %+v, want one for the target prefix keeping %q", empty, wantKeep)
	}
	// With one RUNNING answer per query, each of the 3 queries polls twice.
	if n := len(callsOf(r, "query")); n != 3*3 {
		t.Errorf("query Lambda called %d times, want 9 (3 starts + 6 polls)", n)
	}
}

func TestCurrentElectionsHappyPath(t *testing.T) {
	t.Parallel()
	p := currentElectionsParams()
	p.Letters = []string{"A", "B", "C", "D", "E"}
	r := execute(t, currentelections.Flow(p), scenario{})
	// The join finishes before the gates; every gate finishes before the
	// first outcode file is written; the joined table is switched to the
	// run after the publish.
	assertRanInOrder(t, r, []string{
		flows.StateGuard, currentelections.StatePointStaging, currentelections.StateExport, currentelections.StateJoin,
		currentelections.StateOutcodeLetter, currentelections.StatePublish, currentelections.StateSwitch, currentelections.StateCleanUp,
	}, []stepPair{
		{currentelections.StateJoin + " - status", currentelections.StateGateOneSource},
		{currentelections.StateGateOneSource + " - status", currentelections.StateOutcodeLetter},
		{currentelections.StateGateUPRNs + " - status", currentelections.StateOutcodeLetter},
		{currentelections.StateOutcodeLetter, currentelections.StatePublish},
		{currentelections.StatePublish, currentelections.StateSwitch},
	})

	// One join query for every letter, so no letter in its payload: only
	// the run's name.
	var joins []string
	for _, c := range callsOf(r, "query") {
		if c.Payload["QueryName"] == currentelections.QueryJoin {
			if diff := cmp.Diff(map[string]any{"run": execName}, c.Payload["context"]); diff != "" {
				t.Errorf("join context (-want +got):\n%s", diff)
			}
			joins = append(joins, c.State)
		}
	}
	if len(joins) != 1 {
		t.Errorf("join query started %d times (%q), want once", len(joins), joins)
	}
	assertSplitThenPublished(t, r, outcodeRun{
		bucket: p.Bucket, joined: p.JoinedPrefix + "runs/" + execName + "/", staging: p.StagingPrefix, dest: p.OutcodePrefix,
		listColumn: currentelections.ListColumn, letters: p.Letters,
		stats: "addressbase/development/staging/current_elections_manifest/letters/",
	})
}

func TestBoundaryReviewsHappyPath(t *testing.T) {
	t.Parallel()
	p := boundaryReviewsParams()
	p.Letters = []string{"A", "B", "C", "D", "E"}
	p.MaxConcurrency = 2
	// One RUNNING answer per query, so the Map's queries overlap.
	r := execute(t, boundaryreviews.Flow(p), scenario{RunningPolls: 1})
	// The join of all reviews finishes before any letter is aggregated,
	// every letter before the gates, every gate before the first outcode
	// file is written, and both tables are switched to the run only after
	// the publish.
	order := []stepPair{
		{boundaryreviews.StatePointJoinedStaging, boundaryreviews.StateJoinReviews},
		{boundaryreviews.StateExport, boundaryreviews.StateJoinReviews},
		{boundaryreviews.StateJoinReviews + " - status", boundaryreviews.StateJoinLetter},
		{boundaryreviews.StateOutcodeLetter, boundaryreviews.StatePublish},
		{boundaryreviews.StatePublish, boundaryreviews.StateSwitchJoined},
		{boundaryreviews.StatePublish, boundaryreviews.StateSwitchChanges},
	}
	for _, g := range []string{boundaryreviews.StateGateOneSource, boundaryreviews.StateGateUPRNs, boundaryreviews.StateGateRawUPRNs, boundaryreviews.StateGateConflicts} {
		order = append(order, stepPair{boundaryreviews.StateJoinLetter + " - status", g}, stepPair{g + " - status", boundaryreviews.StateOutcodeLetter})
	}
	assertRanInOrder(t, r, []string{
		flows.StateGuard, boundaryreviews.StatePointChangesStaging, boundaryreviews.StatePointJoinedStaging, boundaryreviews.StateExport,
		boundaryreviews.StateJoinReviews, boundaryreviews.StateJoinLetter, boundaryreviews.StateOutcodeLetter, boundaryreviews.StatePublish,
		boundaryreviews.StateSwitchJoined, boundaryreviews.StateCleanUpJoined, boundaryreviews.StateSwitchChanges, boundaryreviews.StateCleanUpChanges,
	}, order)
	if ex := callsOf(r, "exportBoundaryReviews"); len(ex) != 1 || len(ex[0].Payload) != 0 {
		t.Errorf("export calls = %+v, want one with an empty payload", ex)
	}
	// Each twin is pointed at the run's prefix first, each table once at
	// the end; the clean-ups keep the run and the previous location.
	changesRun := "s3://" + p.Bucket + "/" + p.ChangesPrefix + "runs/" + execName + "/"
	joinedRun := "s3://" + p.Bucket + "/" + p.JoinedPrefix + "runs/" + execName + "/"
	var pointed []string
	for _, c := range callsOf(r, "tableLocation") {
		pointed = append(pointed, c.Payload["table"].(string)+" "+c.Payload["location"].(string))
	}
	wantPointed := []string{
		boundaryreviews.ChangesName + "_staging " + changesRun, boundaryreviews.JoinedName + "_staging " + joinedRun,
		boundaryreviews.JoinedName + " " + joinedRun, boundaryreviews.ChangesName + " " + changesRun,
	}
	if diff := cmp.Diff(wantPointed, pointed); diff != "" {
		t.Errorf("tables pointed at the run (-want +got):\n%s", diff)
	}
	var cleaned []string
	for _, c := range callsOf(r, "emptyPrefix") {
		cleaned = append(cleaned, fmt.Sprint(c.Payload["prefix"], " keep ", c.Payload["keep"]))
	}
	wantCleaned := []string{
		fmt.Sprint(p.JoinedPrefix, " keep ", []any{joinedRun, "s3://source-bucket/" + boundaryreviews.JoinedName + "/"}),
		fmt.Sprint(p.ChangesPrefix, " keep ", []any{changesRun, "s3://source-bucket/" + boundaryreviews.ChangesName + "/"}),
	}
	if diff := cmp.Diff(wantCleaned, cleaned); diff != "" {
		t.Errorf("clean-ups (-want +got):\n%s", diff)
	}

	// Every query start in order; the fake numbers them q-1, q-2, ... so
	// the status calls can be matched to the letter they poll.
	var started, letters []string
	polls := map[string]int{} // aggregation query ID -> status calls so far
	inFlight, maxInFlight := 0, 0
	for _, c := range callsOf(r, "query") {
		if id, poll := c.Payload["queryExecutionId"].(string); poll {
			if _, ok := polls[id]; ok {
				// With one RUNNING answer, the second status call ends it.
				if polls[id]++; polls[id] == 2 {
					inFlight--
				}
			}
			continue
		}
		started = append(started, queryOf(c))
		if c.Payload["QueryName"] != boundaryreviews.QueryJoinLetter {
			continue
		}
		ctx, _ := c.Payload["context"].(map[string]any)
		letter, _ := ctx["first_letter"].(string)
		if len(ctx) != 2 || letter == "" || ctx[flows.RunPlaceholder] != execName {
			t.Errorf("aggregation context = %v, want first_letter and the run's name", ctx)
		}
		letters = append(letters, letter)
		polls[fmt.Sprintf("q-%d", len(started))] = 0
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
	}
	sort.Strings(letters)
	if diff := cmp.Diff(p.Letters, letters); diff != "" {
		t.Errorf("letters aggregated (-want +got):\n%s", diff)
	}
	if maxInFlight > p.MaxConcurrency || maxInFlight < 1 {
		t.Errorf("%d aggregation queries ran at once, want 1..%d", maxInFlight, p.MaxConcurrency)
	}
	t.Logf("at most %d of %d aggregation queries at once", maxInFlight, len(letters))
	n := len(p.Letters)
	sort.Strings(started[1+n:]) // the gates run in parallel
	want := slices.Concat(
		[]string{boundaryreviews.QueryChanges},
		slices.Repeat([]string{boundaryreviews.QueryJoinLetter}, n),
		[]string{boundaryreviews.QueryGateConflicts, boundaryreviews.QueryGateOneSource, boundaryreviews.QueryGateRawUPRNs, boundaryreviews.QueryGateUPRNs},
	)
	if diff := cmp.Diff(want, started); diff != "" {
		t.Errorf("queries started (-want +got):\n%s", diff)
	}

	join := callsOf(r, "query")[0].Payload
	if join["QueryName"] != boundaryreviews.QueryChanges || !cmp.Equal(map[string]any{flows.RunPlaceholder: execName}, join["context"]) {
		t.Errorf("first query %v, want the changes join with only the run's name", join)
	}

	assertSplitThenPublished(t, r, outcodeRun{
		bucket: p.Bucket, joined: p.JoinedPrefix + "runs/" + execName + "/", staging: p.StagingPrefix, dest: p.OutcodePrefix,
		listColumn: "boundary_reviews", letters: p.Letters,
	})
}

// stepPair says the last call of state before comes before the first call
// of state after.
type stepPair struct{ before, after string }

// assertRanInOrder checks a successful run's top-level states, that steps
// were called in this order, and that each pair's first state had finished
// (its last call) before the second started (its first call).
func assertRanInOrder(t *testing.T, r report, steps []string, finishedBefore []stepPair) {
	t.Helper()
	mustSucceed(t, r)
	top := []string{flows.StateStart, flows.StateGuard, flows.StateGuardChoice, flows.StateRun, flows.StateSucceeded}
	if diff := cmp.Diff(top, r.Entered); diff != "" {
		t.Errorf("top-level states (-want +got):\n%s", diff)
	}
	called := callStates(r)
	if !isSubsequence(steps, called) {
		t.Errorf("steps out of order:\nwant in order %q\ncalled %q", steps, called)
	}
	for _, o := range finishedBefore {
		last, first := lastIndex(called, o.before), slices.Index(called, o.after)
		if last < 0 || first < 0 || last > first {
			t.Errorf("%q (last call %d) must finish before %q (first call %d)", o.before, last, o.after, first)
		}
	}
}

// queryOf is the named query or the SQL a start call runs.
func queryOf(c call) string {
	if n, ok := c.Payload["QueryName"].(string); ok {
		return n
	}
	s, _ := c.Payload["QueryString"].(string)
	return s
}

// outcodeRun is what a layer's outcode steps are rendered with.
type outcodeRun struct {
	bucket, joined, staging, dest, listColumn string
	letters                                   []string
	// stats is where a gated layer's splits write their stats, "" when
	// the layer has no plausibility gate.
	stats string
}

// assertSplitThenPublished checks that every letter was split once, from
// the joined prefix into the staging prefix with the layer's list column,
// and that the one publish call got every letter's split result, in letter
// order, and the layer's prefixes.
func assertSplitThenPublished(t *testing.T, r report, o outcodeRun) {
	t.Helper()
	var split []string
	for _, c := range callsOf(r, "outcodeSplit") {
		split = append(split, c.Payload["first_letter"].(string))
		want := map[string]any{"bucket": o.bucket, "source_prefix": o.joined, "dest_prefix": o.staging, "first_letter": c.Payload["first_letter"], "list_column": o.listColumn}
		if o.stats != "" {
			want["stats_prefix"] = o.stats
		}
		if diff := cmp.Diff(want, c.Payload); diff != "" {
			t.Errorf("outcode payload (-want +got):\n%s", diff)
		}
	}
	sort.Strings(split)
	if diff := cmp.Diff(o.letters, split); diff != "" {
		t.Errorf("outcode Lambda letters (-want +got):\n%s", diff)
	}
	published := callsOf(r, "publish")
	if len(published) != 1 {
		t.Fatalf("publish called %d times, want 1", len(published))
	}
	results, _ := published[0].Payload["letters"].([]any)
	var got []string
	for _, l := range results {
		res := l.(map[string]any)
		got = append(got, res["first_letter"].(string))
		if _, ok := res["outcodes"].([]any); !ok {
			t.Errorf("publish letter result has no outcodes list: %v", res)
		}
	}
	if diff := cmp.Diff(o.letters, got); diff != "" {
		t.Errorf("publish got letter results (-want +got):\n%s", diff)
	}
	if published[0].Payload["dest_prefix"] != o.dest || published[0].Payload["staging_prefix"] != o.staging || published[0].Payload["bucket"] != o.bucket {
		t.Errorf("publish payload = %v", published[0].Payload)
	}
	// A gated layer's publish copies the gate's staged manifest live.
	if _, ok := published[0].Payload["manifest"]; ok != (o.stats != "") {
		t.Errorf("publish payload = %v: a manifest to copy %v, want %v", published[0].Payload, ok, o.stats != "")
	}
}

func TestAlreadyRunningStopsQuietly(t *testing.T) {
	t.Parallel()
	for name, sm := range map[string]asl.StateMachine{
		"addressbase":       addressbase.Flow(addressBaseParams()),
		"current elections": currentelections.Flow(currentElectionsParams()),
		"boundary reviews":  boundaryreviews.Flow(boundaryReviewsParams()),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := execute(t, sm, scenario{GuardDecisions: []string{sfnguard.Stop}})
			mustSucceed(t, r)
			want := []string{flows.StateStart, flows.StateGuard, flows.StateGuardChoice, flows.StateAlreadyRunning}
			if diff := cmp.Diff(want, r.Entered); diff != "" {
				t.Errorf("states entered (-want +got):\n%s", diff)
			}
			if len(r.Calls) != 1 || r.Calls[0].Role != "guard" {
				t.Errorf("calls = %+v, want only the guard", r.Calls)
			}
			got := r.Calls[0].Payload
			// The runner sets $$.Execution.StartTime to when it started.
			if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(got["currentExecutionStartTime"])); err != nil {
				t.Errorf("guard payload's currentExecutionStartTime: %v", err)
			}
			delete(got, "currentExecutionStartTime")
			wantGuard := map[string]any{
				"stateMachineArn":             "arn:aws:states:eu-west-2:123456789012:stateMachine:Layer",
				"currentExecutionArn":         executionID,
				"conflictingStateMachineArns": []any{otherMachine[name]},
				"maxWaitSeconds":              float64(flows.DefaultTimeoutSeconds / 2),
			}
			if diff := cmp.Diff(wantGuard, got); diff != "" {
				t.Errorf("guard payload (-want +got):\n%s", diff)
			}
		})
	}
}

// otherMachine is the machine each test machine conflicts with.
var otherMachine = map[string]string{"addressbase": ceMachine, "current elections": abMachine, "boundary reviews": abMachine}

// While the guard says wait, the run pauses and asks again; it starts its
// steps only when the guard says proceed.
func TestGuardWaitsThenProceeds(t *testing.T) {
	t.Parallel()
	r := execute(t, addressbase.Flow(addressBaseParams()), scenario{GuardDecisions: []string{sfnguard.Wait, sfnguard.Wait, sfnguard.Proceed}})
	mustSucceed(t, r)
	asks := []string{flows.StateGuard, flows.StateGuardChoice}
	want := slices.Concat([]string{flows.StateStart}, asks, []string{flows.StateGuardWait}, asks, []string{flows.StateGuardWait}, asks, []string{flows.StateRun, flows.StateSucceeded})
	if diff := cmp.Diff(want, r.Entered); diff != "" {
		t.Errorf("top-level states (-want +got):\n%s", diff)
	}
	if got := callStates(r); !slices.Equal(got[:4], []string{flows.StateGuard, flows.StateGuard, flows.StateGuard, addressbase.StateSetSource}) {
		t.Errorf("calls start %q, want three guard calls before the first step", got[:min(4, len(got))])
	}
}

func TestFailedGateNotifiesAndFails(t *testing.T) {
	t.Parallel()
	br := boundaryreviews.Flow(boundaryReviewsParams())
	brSwitches := []string{boundaryreviews.StateSwitchJoined, boundaryreviews.StateCleanUpJoined, boundaryreviews.StateSwitchChanges, boundaryreviews.StateCleanUpChanges}
	tests := []struct {
		name      string
		sm        asl.StateMachine
		failQuery string
		// never are later steps that must not be called at all.
		never []string
	}{
		// A failed run never switches a run-scoped table nor deletes a run.
		{"addressbase uprn gate", addressbase.Flow(addressBaseParams()), "addressbase-gate-uprns", []string{addressbase.StateSwitch, addressbase.StateCleanUp}},
		{"current elections one-source gate", currentelections.Flow(currentElectionsParams()), "current-elections-gate-one-source", []string{currentelections.StateSwitch, currentelections.StateCleanUp}},
		{"current elections join", currentelections.Flow(currentElectionsParams()), currentelections.QueryJoin, []string{currentelections.StateGateOneSource, currentelections.StateSwitch}},
		{"boundary reviews raw UPRN gate", br, boundaryreviews.QueryGateRawUPRNs, brSwitches},
		{"boundary reviews conflicts gate", br, boundaryreviews.QueryGateConflicts, brSwitches},
		{"boundary reviews changes join", br, boundaryreviews.QueryChanges, append([]string{boundaryreviews.StateJoinLetter, boundaryreviews.StateGateOneSource}, brSwitches...)},
		{"boundary reviews letter aggregation", br, boundaryreviews.QueryJoinLetter, append([]string{boundaryreviews.StateGateOneSource}, brSwitches...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := execute(t, tc.sm, scenario{FailQuery: tc.failQuery})
			if r.Status != "FAILED" {
				t.Fatalf("status = %s, want FAILED", r.Status)
			}
			if r.Error != "QueryFailed" || !strings.Contains(r.Cause, tc.failQuery) {
				t.Errorf("execution error = %s: %s, want the query's failure", r.Error, r.Cause)
			}
			if len(r.SNS) != 1 {
				t.Fatalf("SNS messages = %+v, want exactly one", r.SNS)
			}
			msg := r.SNS[0]
			if msg.TopicArn != topicArn {
				t.Errorf("published to %q, want %q", msg.TopicArn, topicArn)
			}
			for _, want := range []string{executionID, "QueryFailed", tc.failQuery, "FAILED"} {
				if !strings.Contains(msg.Message, want) {
					t.Errorf("message %q does not mention %q", msg.Message, want)
				}
			}
			top := []string{flows.StateStart, flows.StateGuard, flows.StateGuardChoice, flows.StateRun, flows.StateStopQueries, flows.StateNotifyFailure, flows.StateFailed}
			if diff := cmp.Diff(top, r.Entered); diff != "" {
				t.Errorf("top-level states (-want +got):\n%s", diff)
			}
			stops := stopCalls(r)
			if len(stops) != 1 || stops[0].State != flows.StateStopQueries || stops[0].Payload["executionArn"] != executionID {
				t.Errorf("stop calls = %+v, want one from %q for %s", stops, flows.StateStopQueries, executionID)
			}
			if n := len(callsOf(r, "outcodeSplit")) + len(callsOf(r, "publish")); n != 0 {
				t.Errorf("%d publishing calls after a failed query, want none", n)
			}
			for _, st := range tc.never {
				if slices.Contains(callStates(r), st) {
					t.Errorf("%q was called after %s failed", st, tc.failQuery)
				}
			}
		})
	}
}

func TestThrottledLambdaIsRetried(t *testing.T) {
	t.Parallel()
	p := currentElectionsParams()
	p.Letters = []string{"A", "B"}
	r := execute(t, currentelections.Flow(p), scenario{Throttle: map[string]int{"outcodeSplit": 2, "guard": 1}})
	mustSucceed(t, r)
	retried := map[string]int{}
	for _, x := range r.Retries {
		retried[x.State]++
	}
	if diff := cmp.Diff(map[string]int{flows.StateGuard: 1}, retried); diff != "" {
		t.Errorf("top-level retries by state (-want +got):\n%s", diff)
	}
	// Nested retries are seen through the calls: 2 throttled, then one good
	// call per letter, and the run still succeeded.
	var errs []string
	for _, c := range callsOf(r, "outcodeSplit") {
		errs = append(errs, c.Error)
	}
	want := []string{"Lambda.TooManyRequestsException", "Lambda.TooManyRequestsException", "", ""}
	if diff := cmp.Diff(want, errs); diff != "" {
		t.Errorf("outcode Lambda call errors (-want +got):\n%s", diff)
	}
}

func TestRetriesRunOutThenNotify(t *testing.T) {
	t.Parallel()
	r := execute(t, addressbase.Flow(addressBaseParams()), scenario{Throttle: map[string]int{"tableLocation": 100}})
	if r.Status != "FAILED" || r.Error != "Lambda.TooManyRequestsException" {
		t.Fatalf("status = %s %s, want FAILED with the throttling error", r.Status, r.Error)
	}
	if n := len(callsOf(r, "tableLocation")); n != 1+asl.LambdaRetry().MaxAttempts {
		t.Errorf("tableLocation called %d times, want %d", n, 1+asl.LambdaRetry().MaxAttempts)
	}
	if len(r.SNS) != 1 {
		t.Errorf("SNS messages = %d, want 1", len(r.SNS))
	}
	if n := len(callsOf(r, "query")) - len(stopCalls(r)); n != 0 {
		t.Errorf("query Lambda called %d times after the source location could not be read", n)
	}
	if n := len(stopCalls(r)); n != 1 {
		t.Errorf("%d calls to stop the run's queries, want 1", n)
	}
}

// stopCalls are the query Lambda's calls in stop mode.
func stopCalls(r report) []call {
	var out []call
	for _, c := range callsOf(r, "query") {
		if c.Payload["stop"] == true {
			out = append(out, c)
		}
	}
	return out
}

func callStates(r report) []string {
	out := make([]string, len(r.Calls))
	for i, c := range r.Calls {
		out[i] = c.State
	}
	return out
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// A Pipe delivers an array of SQS messages; the run must still work.
func TestPipeArrayInputRuns(t *testing.T) {
	t.Parallel()
	input := []any{map[string]any{"messageId": "1", "body": `{"rebuild":"current-elections"}`}}
	r := execute(t, currentelections.Flow(currentElectionsParams()), scenario{Input: input})
	mustSucceed(t, r)
}
