package sfnguard_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
)

const (
	smArn      = "arn:aws:states:eu-west-2:123456789012:stateMachine:CurrentElections-development"
	otherSM    = "arn:aws:states:eu-west-2:123456789012:stateMachine:AddressBase-development"
	execPrefix = "arn:aws:states:eu-west-2:123456789012:execution:CurrentElections-development:"
	currentArn = execPrefix + "nightly-20261126"
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
		prefix = strings.Replace(execPrefix, "CurrentElections", "AddressBase", 1)
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
	b, err := os.ReadFile(filepath.Join("..", "..", "functions", "check_step_function_running", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// finished returns n executions that are not running, to fill pages.
func finished(n int) []execution {
	out := make([]execution, n)
	for i := range out {
		out[i] = exec(smArn, fmt.Sprintf("old-%d", i), "SUCCEEDED", 1.7e9)
	}
	return out
}

func TestInvokeJSON(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		execs     []execution
		wantOut   string
		wantErr   string
		pageSize  int
		wantPages int
	}{
		{
			name:      "only the current execution",
			payload:   "current_execution.json",
			execs:     append(finished(3), exec(smArn, "nightly-20261126", "RUNNING", 1.7645e9)),
			wantOut:   `{"proceed":true,"message":"no other execution of ` + smArn + ` is running"}`,
			wantPages: 1,
		},
		{
			name:     "another running on page 2",
			payload:  "current_execution.json",
			pageSize: 1,
			execs: []execution{
				exec(smArn, "nightly-20261126", "RUNNING", 1.7645e9),
				exec(smArn, "a", "SUCCEEDED", 1.7e9),
				exec(otherSM, "abc", "RUNNING", 1.7e9),
				exec(smArn, "elections-set-changed-42", "RUNNING", 1764100000),
			},
			wantOut:   `{"proceed":false,"message":"` + smArn + ` is already running in 1 other execution(s): ` + execPrefix + `elections-set-changed-42 (started 2025-11-25T19:46:40Z)"}`,
			wantPages: 2,
		},
		{
			name:    "many running executions over three pages, current absent",
			payload: "current_execution.json",
			execs: []execution{
				exec(smArn, "r1", "RUNNING", 1764100000), exec(smArn, "r2", "RUNNING", 1764100000),
				exec(smArn, "r3", "RUNNING", 1764100000), exec(smArn, "r4", "RUNNING", 1764100000),
				exec(smArn, "r5", "RUNNING", 1764100000),
			},
			wantOut: `{"proceed":false,"message":"` + smArn + ` is already running in 5 other execution(s): ` +
				execPrefix + `r1 (started 2025-11-25T19:46:40Z), ` + execPrefix + `r2 (started 2025-11-25T19:46:40Z), ` +
				execPrefix + `r3 (started 2025-11-25T19:46:40Z), ` + execPrefix + `r4 (started 2025-11-25T19:46:40Z), ` +
				execPrefix + `r5 (started 2025-11-25T19:46:40Z)"}`,
			wantPages: 3,
		},
		{
			name:      "no executions at all",
			payload:   "current_execution.json",
			wantOut:   `{"proceed":true,"message":"no other execution of ` + smArn + ` is running"}`,
			wantPages: 1,
		},
		{
			name:    "missing current execution",
			payload: "missing_current_execution.json",
			wantErr: "input: stateMachineArn and currentExecutionArn are both required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pageSize := 2
			if tt.pageSize != 0 {
				pageSize = tt.pageSize
			}
			srv := newFakeSFN(t, pageSize, tt.execs)
			h := sfnguard.New(sfn.NewFromConfig(srv.Config()), nil)
			out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload(t, tt.payload))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantOut, string(out)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			calls := srv.Calls("AWSStepFunctions.ListExecutions")
			if len(calls) != tt.wantPages {
				t.Errorf("ListExecutions called %d times, want %d", len(calls), tt.wantPages)
			}
			for i, c := range calls {
				body := string(c.Body)
				if !strings.Contains(body, `"statusFilter":"RUNNING"`) || !strings.Contains(body, `"stateMachineArn":"`+smArn+`"`) {
					t.Errorf("call %d lacks the state machine or RUNNING filter: %s", i+1, body)
				}
				if hasToken := strings.Contains(body, `"nextToken":`); hasToken != (i > 0) {
					t.Errorf("call %d: nextToken sent = %v, want %v: %s", i+1, hasToken, i > 0, body)
				}
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
