package asl_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/tools/nodetool"
)

// everyState uses each state type and most fields once.
func everyState() asl.StateMachine {
	task := asl.LambdaTask("arn:aws:lambda:eu-west-2:123456789012:function:work", map[string]any{
		"letter.$": "$.letter",
		"fixed":    "x",
	})
	task.ResultPath = "$.work"
	task.Next = "Decide"
	task.Catch = []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: "Broken", ResultPath: "$.error"}}
	return asl.StateMachine{
		Comment:        "every state type",
		StartAt:        "Setup",
		TimeoutSeconds: 300,
		States: map[string]asl.State{
			"Setup": asl.Pass{Result: map[string]any{"letters": []string{"A", "B"}}, ResultPath: "$.config", Next: "Work"},
			"Work":  task,
			"Decide": asl.Choice{
				Choices: []asl.ChoiceRule{
					{Condition: asl.StringEquals("$.work.Payload.status", "SUCCEEDED"), Next: "Fan"},
					{Condition: asl.Or(asl.StringEquals("$.work.Payload.status", "QUEUED"), asl.Not(asl.IsPresent("$.work.Payload.status", true))), Next: "Pause"},
				},
				Default: "Broken",
			},
			"Pause": asl.Wait{Seconds: 5, Next: "Work"},
			"Fan": asl.Map{
				ItemsPath:      "$.config.letters",
				ItemSelector:   map[string]any{"letter.$": "$$.Map.Item.Value"},
				MaxConcurrency: 2,
				ItemProcessor: asl.ItemProcessor{
					StartAt: "Each",
					States:  map[string]asl.State{"Each": asl.Pass{End: true}},
				},
				ResultPath: asl.DiscardResult,
				Next:       "Both",
			},
			"Both": asl.Parallel{
				Branches: []asl.Branch{
					{StartAt: "Left", States: map[string]asl.State{"Left": asl.Pass{End: true}}},
					{StartAt: "Right", States: map[string]asl.State{"Right": asl.Pass{End: true}}},
				},
				ResultPath: asl.DiscardResult,
				Next:       "Done",
			},
			"Done":   asl.Succeed{},
			"Broken": asl.Fail{Error: "Broken", CausePath: "$.error.Cause"},
		},
	}
}

func TestRenderMatchesGolden(t *testing.T) {
	got, err := everyState().Render()
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "every_state.json"), got)
}

func TestRenderIsDeterministic(t *testing.T) {
	first, err := everyState().Render()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		again, err := everyState().Render()
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(first) {
			t.Fatalf("render %d differs from the first", i)
		}
	}
}

func TestRenderShapes(t *testing.T) {
	got, err := everyState().Render()
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]map[string]any
	}
	if err := json.Unmarshal(got, &def); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		state, field string
		want         any
	}{
		{"Work", "Resource", "arn:aws:states:::lambda:invoke"},
		{"Work", "ResultSelector", map[string]any{"Payload.$": "$.Payload"}},
		{"Work", "Parameters", map[string]any{
			"FunctionName": "arn:aws:lambda:eu-west-2:123456789012:function:work",
			"Payload":      map[string]any{"letter.$": "$.letter", "fixed": "x"},
		}},
		{"Work", "Retry", []any{map[string]any{
			"ErrorEquals":     []any{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"},
			"IntervalSeconds": 2.0, "MaxAttempts": 6.0, "BackoffRate": 2.0, "MaxDelaySeconds": 60.0, "JitterStrategy": "FULL",
		}}},
		{"Fan", "ResultPath", nil},
		{"Fan", "ItemProcessor", map[string]any{
			"ProcessorConfig": map[string]any{"Mode": "INLINE"},
			"StartAt":         "Each",
			"States":          map[string]any{"Each": map[string]any{"Type": "Pass", "End": true}},
		}},
		{"Decide", "Choices", []any{
			map[string]any{"Variable": "$.work.Payload.status", "StringEquals": "SUCCEEDED", "Next": "Fan"},
			map[string]any{"Or": []any{
				map[string]any{"Variable": "$.work.Payload.status", "StringEquals": "QUEUED"},
				map[string]any{"Not": map[string]any{"Variable": "$.work.Payload.status", "IsPresent": true}},
			}, "Next": "Pause"},
		}},
		{"Pause", "Seconds", 5.0},
	}
	for _, tc := range tests {
		t.Run(tc.state+"."+tc.field, func(t *testing.T) {
			st, ok := def.States[tc.state]
			if !ok {
				t.Fatalf("no state %q", tc.state)
			}
			got, ok := st[tc.field]
			if !ok {
				t.Fatalf("state %q has no field %q: %v", tc.state, tc.field, st)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckRejectsBrokenStructure(t *testing.T) {
	tests := []struct {
		name string
		sm   asl.StateMachine
		want string
	}{
		{"no StartAt", asl.StateMachine{States: map[string]asl.State{"A": asl.Succeed{}}}, "StartAt is empty"},
		{"unknown StartAt", asl.StateMachine{StartAt: "B", States: map[string]asl.State{"A": asl.Succeed{}}}, `StartAt "B" is not a state`},
		{"dangling Next", asl.StateMachine{StartAt: "A", States: map[string]asl.State{"A": asl.Pass{Next: "Nowhere"}}}, `state "A" goes to "Nowhere"`},
		{"no Next nor End", asl.StateMachine{StartAt: "A", States: map[string]asl.State{"A": asl.Pass{}}}, `state "A" has no Next and does not end`},
		{"catch out of scope", asl.StateMachine{StartAt: "P", States: map[string]asl.State{
			"P": asl.Parallel{End: true, Branches: []asl.Branch{{StartAt: "T", States: map[string]asl.State{
				"T": asl.Task{Resource: "arn:aws:states:::lambda:invoke", End: true, Catch: []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: "F"}}},
			}}}},
			"F": asl.Fail{},
		}}, `state "T" goes to "F"`},
		{"duplicate nested name", asl.StateMachine{StartAt: "P", States: map[string]asl.State{
			"P": asl.Parallel{Next: "X", Branches: []asl.Branch{{StartAt: "X", States: map[string]asl.State{"X": asl.Succeed{}}}}},
			"X": asl.Succeed{},
		}}, `state name "X" is used in`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.sm.Render()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Render error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateWithRealValidator(t *testing.T) {
	nodetool.Require(t)
	good, err := everyState().Render()
	if err != nil {
		t.Fatal(err)
	}
	// Bypasses Check on purpose: the external validator must catch it too.
	bad := []byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Missing"}}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	start := time.Now()
	if err := nodetool.ValidateASL(ctx, map[string][]byte{"every_state": good}); err != nil {
		t.Fatalf("valid definition rejected: %v", err)
	}
	t.Logf("asl-validator on one definition took %v", time.Since(start))

	err = nodetool.ValidateASL(ctx, map[string][]byte{"every_state": good, "dangling": bad})
	if err == nil {
		t.Fatal("definition with a dangling Next was accepted")
	}
	for _, want := range []string{"dangling", "Missing", "1 of 2 definitions valid"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
