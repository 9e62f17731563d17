package sfnguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
)

const (
	smArn      = "arn:aws:states:eu-west-2:123456789012:stateMachine:CurrentElections-development"
	otherSM    = "arn:aws:states:eu-west-2:123456789012:stateMachine:AddressBase-development"
	execPrefix = "arn:aws:states:eu-west-2:123456789012:execution:CurrentElections-development:"
	abPrefix   = "arn:aws:states:eu-west-2:123456789012:execution:AddressBase-development:"
	currentArn = execPrefix + "nightly-20261126"
	// started is the payloads' currentExecutionStartTime,
	// 2025-11-25T19:46:40.5Z, in ListExecutions' epoch seconds.
	started = 1764100000.5
)

type execution struct {
	ExecutionArn    string  `json:"executionArn"`
	StateMachineArn string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Status          string  `json:"status"`
	StartDate       float64 `json:"startDate"`
}

func exec(sm, name, status string, start float64) execution {
	prefix := execPrefix
	if sm == otherSM {
		prefix = abPrefix
	}
	return execution{ExecutionArn: prefix + name, StateMachineArn: sm, Name: name, Status: status, StartDate: start}
}

// newFakeSFN serves ListExecutions over the JSON 1.0 protocol, pageSize
// items per page, filtering like the real API.
func newFakeSFN(t *testing.T, pageSize int, execs []execution) *awsfake.Server {
	t.Helper()
	srv := awsfake.New(awsfake.JSON10, awsfake.Routes{
		"AWSStepFunctions.ListExecutions": func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct {
				StateMachineArn string `json:"stateMachineArn"`
				StatusFilter    string `json:"statusFilter"`
				NextToken       string `json:"nextToken"`
			}](body)
			if err != nil {
				return nil, err
			}
			var match []execution
			for _, e := range execs {
				if e.StateMachineArn == in.StateMachineArn && (in.StatusFilter == "" || e.Status == in.StatusFilter) {
					match = append(match, e)
				}
			}
			start := 0
			if in.NextToken != "" {
				if start, err = strconv.Atoi(in.NextToken); err != nil {
					return nil, &awsfake.APIError{Code: "InvalidToken", Message: "bad nextToken"}
				}
			}
			end := min(start+pageSize, len(match))
			out := map[string]any{"executions": append([]execution{}, match[start:end]...)}
			if end < len(match) {
				out["nextToken"] = strconv.Itoa(end)
			}
			return out, nil
		},
	})
	t.Cleanup(srv.Close)
	return srv
}

func payload(t *testing.T, name string) []byte {
	t.Helper()
	return lambdatest.Payload(t, "check_step_function_running", name)
}

// finished returns n executions that are not running, to fill pages.
func finished(n int) []execution {
	out := make([]execution, n)
	for i := range out {
		out[i] = exec(smArn, fmt.Sprintf("old-%d", i), "SUCCEEDED", 1.7e9)
	}
	return out
}

// newHandler's clock reads started + 60s.
func newHandler(srv *awsfake.Server) *sfnguard.Handler {
	h := sfnguard.New(sfn.NewFromConfig(srv.Config()), nil)
	h.Now = func() time.Time { return time.UnixMilli(int64(started*1000) + 60_000) }
	return h
}

func invoke(t *testing.T, srv *awsfake.Server, body []byte) (sfnguard.Output, error) {
	t.Helper()
	out, err := lambda.NewHandler(newHandler(srv).Handle).Invoke(context.Background(), body)
	if err != nil {
		return sfnguard.Output{}, err
	}
	var o sfnguard.Output
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return o, nil
}

func TestInvokeJSON(t *testing.T) {
	current := exec(smArn, "nightly-20261126", "RUNNING", started)
	tests := []struct {
		name     string
		payload  string
		execs    []execution
		pageSize int
		want     sfnguard.Output
		wantErr  string
		// wantLists is how many ListExecutions calls each machine gets.
		wantLists map[string]int
	}{
		{
			name:      "only the current execution",
			payload:   "current_execution.json",
			execs:     append(finished(3), current),
			want:      sfnguard.Output{Decision: sfnguard.Proceed, Message: currentArn + " (started 2025-11-25T19:46:40.5Z) is the oldest running execution of " + smArn + " and its conflicting state machines"},
			wantLists: map[string]int{smArn: 1, otherSM: 1},
		},
		{
			name:     "one older run of the same machine on page 2: it follows up, so it waits",
			payload:  "current_execution.json",
			pageSize: 1,
			execs: []execution{
				current, exec(smArn, "a", "SUCCEEDED", 1.7e9),
				exec(otherSM, "abc", "RUNNING", 1.7e9),
				exec(smArn, "elections-set-changed-42", "RUNNING", started-100),
			},
			want: sfnguard.Output{Decision: sfnguard.Wait, Message: currentArn + " (started 2025-11-25T19:46:40.5Z) waits for the older execution of its own state machine " +
				execPrefix + "elections-set-changed-42 (started 2025-11-25T19:45:00.5Z)"},
			// Waiting for its own machine needs no look at the conflicting one.
			wantLists: map[string]int{smArn: 2},
		},
		{
			name:     "two older runs of the same machine on page 2: a follow-up is waiting, so it stops",
			payload:  "current_execution.json",
			pageSize: 1,
			execs: []execution{
				exec(smArn, "follow-up", "RUNNING", started-50), current, exec(smArn, "a", "SUCCEEDED", 1.7e9),
				exec(otherSM, "abc", "RUNNING", 1.7e9),
				exec(smArn, "elections-set-changed-42", "RUNNING", started-100),
			},
			want: sfnguard.Output{Decision: sfnguard.Stop, Message: smArn + " is already running in " +
				execPrefix + "elections-set-changed-42 (started 2025-11-25T19:45:00.5Z), and " +
				execPrefix + "follow-up (started 2025-11-25T19:45:50.5Z) will run after it; " + currentArn + " (started 2025-11-25T19:46:40.5Z) stops"},
			// Stopping needs no look at the conflicting machine.
			wantLists: map[string]int{smArn: 3},
		},
		{
			name:      "a younger one of the same machine does not stop it",
			payload:   "current_execution.json",
			execs:     []execution{exec(smArn, "later", "RUNNING", started+0.001), current},
			want:      sfnguard.Output{Decision: sfnguard.Proceed, Message: currentArn + " (started 2025-11-25T19:46:40.5Z) is the oldest running execution of " + smArn + " and its conflicting state machines"},
			wantLists: map[string]int{smArn: 1, otherSM: 1},
		},
		{
			name:    "an older conflicting run makes it wait",
			payload: "current_execution.json",
			execs: []execution{
				current, exec(smArn, "later", "RUNNING", started+5),
				exec(otherSM, "rebuild", "RUNNING", started-30), exec(otherSM, "newer", "RUNNING", started+1),
			},
			want: sfnguard.Output{Decision: sfnguard.Wait, Message: currentArn + " (started 2025-11-25T19:46:40.5Z) waits for older conflicting execution(s) " +
				abPrefix + "rebuild (started 2025-11-25T19:46:10.5Z)"},
			wantLists: map[string]int{smArn: 1, otherSM: 1},
		},
		{
			name:    "an older run of its own machine is waited for first",
			payload: "current_execution.json",
			execs: []execution{
				current, exec(smArn, "first", "RUNNING", started-10), exec(otherSM, "rebuild", "RUNNING", started-30),
			},
			want: sfnguard.Output{Decision: sfnguard.Wait, Message: currentArn + " (started 2025-11-25T19:46:40.5Z) waits for the older execution of its own state machine " +
				execPrefix + "first (started 2025-11-25T19:46:30.5Z)"},
			wantLists: map[string]int{smArn: 1},
		},
		{
			name:    "not listed yet: the payload's start time orders it",
			payload: "current_execution.json",
			execs:   []execution{exec(smArn, "just-before", "RUNNING", started-0.001)},
			want: sfnguard.Output{Decision: sfnguard.Wait, Message: currentArn + " (started 2025-11-25T19:46:40.5Z) waits for the older execution of its own state machine " +
				execPrefix + "just-before (started 2025-11-25T19:46:40.499Z)"},
			wantLists: map[string]int{smArn: 1},
		},
		{
			name:    "waited too long",
			payload: "current_execution.json",
			execs:   []execution{exec(smArn, "nightly-20261126", "RUNNING", started-1800), exec(otherSM, "slow", "RUNNING", started-3000)},
			wantErr: currentArn + " gave up after waiting 31m0s for older execution(s) to end: " + abPrefix + "slow (started 2025-11-25T18:56:40.5Z)",
		},
		{
			name:    "waited too long for its own machine's run",
			payload: "current_execution.json",
			execs:   []execution{exec(smArn, "nightly-20261126", "RUNNING", started-1800), exec(smArn, "slow", "RUNNING", started-3000)},
			wantErr: currentArn + " gave up after waiting 31m0s for older execution(s) to end: " + execPrefix + "slow (started 2025-11-25T18:56:40.5Z)",
		},
		{
			name:    "not listed and no start time",
			payload: "no_start_time.json",
			wantErr: currentArn + " is not listed as running and the input has no currentExecutionStartTime, so it cannot be ordered",
		},
		{
			name:    "conflicting with itself",
			payload: "conflicts_with_itself.json",
			execs:   []execution{current},
			wantErr: `input: conflictingStateMachineArns holds "` + smArn + `", want other state machines' ARNs`,
		},
		{
			name:    "missing current execution",
			payload: "missing_current_execution.json",
			wantErr: "input: stateMachineArn and currentExecutionArn are both required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pageSize := tt.pageSize
			if pageSize == 0 {
				pageSize = 2
			}
			srv := newFakeSFN(t, pageSize, tt.execs)
			got, err := invoke(t, srv, payload(t, tt.payload))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			lists := map[string]int{}
			for i, c := range srv.Calls("AWSStepFunctions.ListExecutions") {
				in, err := awsfake.Decode[struct{ StateMachineArn, StatusFilter, NextToken string }](c.Body)
				if err != nil {
					t.Fatal(err)
				}
				if in.StatusFilter != "RUNNING" {
					t.Errorf("call %d lists %q executions, want RUNNING", i+1, in.StatusFilter)
				}
				lists[in.StateMachineArn]++
			}
			if diff := cmp.Diff(tt.wantLists, lists); diff != "" {
				t.Errorf("ListExecutions calls per state machine (-want +got):\n%s", diff)
			}
		})
	}
}

// Executions started together each see the others; in (start time, ARN)
// order the first proceeds, the second waits to follow up and any later
// one stops.
func TestExecutionsStartedTogether(t *testing.T) {
	tests := []struct {
		name    string
		a, b, c float64 // start dates of run-a, run-b and run-c
		want    map[string]string
	}{
		{"same start time: the ARN decides", started, started, started,
			map[string]string{"run-a": sfnguard.Proceed, "run-b": sfnguard.Wait, "run-c": sfnguard.Stop}},
		{"one millisecond apart: the start time decides", started + 0.001, started, started,
			map[string]string{"run-b": sfnguard.Proceed, "run-c": sfnguard.Wait, "run-a": sfnguard.Stop}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs := []execution{exec(smArn, "run-a", "RUNNING", tt.a), exec(smArn, "run-b", "RUNNING", tt.b), exec(smArn, "run-c", "RUNNING", tt.c)}
			srv := newFakeSFN(t, 100, runs)
			got := map[string]string{}
			for _, r := range runs {
				body, err := json.Marshal(sfnguard.Input{StateMachineArn: smArn, CurrentExecutionArn: r.ExecutionArn, ConflictingStateMachineArns: []string{otherSM}})
				if err != nil {
					t.Fatal(err)
				}
				out, err := invoke(t, srv, body)
				if err != nil {
					t.Fatal(err)
				}
				got[r.Name] = out.Decision
				// Whoever waits or stops names every run it defers to.
				for _, o := range runs {
					if tt.want[o.Name] == sfnguard.Proceed && out.Decision != sfnguard.Proceed && !strings.Contains(out.Message, o.ExecutionArn) {
						t.Errorf("%s's message %q does not name the running %s", r.Name, out.Message, o.Name)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListError(t *testing.T) {
	srv := awsfake.New(awsfake.JSON10, awsfake.Routes{
		"AWSStepFunctions.ListExecutions": func([]byte) (any, error) {
			return nil, &awsfake.APIError{Code: "StateMachineDoesNotExist", Message: "State Machine Does Not Exist"}
		},
	})
	t.Cleanup(srv.Close)
	h := sfnguard.New(sfn.NewFromConfig(srv.Config()), nil)
	_, err := h.Handle(context.Background(), sfnguard.Input{StateMachineArn: smArn, CurrentExecutionArn: currentArn})
	if err == nil || !strings.HasPrefix(err.Error(), "list running executions of "+smArn+": ") || !strings.Contains(err.Error(), "StateMachineDoesNotExist") {
		t.Fatalf("error = %v", err)
	}
}

// The wait timeout reaches the state machine as its own error type.
func TestWaitTimeoutErrorType(t *testing.T) {
	srv := newFakeSFN(t, 10, []execution{exec(smArn, "nightly-20261126", "RUNNING", started-7200), exec(otherSM, "slow", "RUNNING", started-9000)})
	_, err := newHandler(srv).Handle(context.Background(), sfnguard.Input{
		StateMachineArn: smArn, CurrentExecutionArn: currentArn, ConflictingStateMachineArns: []string{otherSM}, MaxWaitSeconds: 3600,
	})
	var wt *sfnguard.WaitTimeoutError
	if !errors.As(err, &wt) {
		t.Fatalf("error = %v (%T), want a *WaitTimeoutError", err, err)
	}
}
