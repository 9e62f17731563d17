package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/DemocracyClub/dc-data-baker/internal/runcheck"
	rt "github.com/DemocracyClub/dc-data-baker/internal/runcheck/runchecktest"
	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

// fakeRunClients points databaker run at a fake pulumi with the stack's
// outputs, a scripted Step Functions execution, and a clock that advances
// by each sleep.
func fakeRunClients(t *testing.T, runner *stackOutputs, f *rt.Fake) {
	t.Helper()
	t.Cleanup(f.Close)
	oldClients, oldSleep, oldNow := runClients, runSleep, runNow
	clock := rt.Epoch
	runClients = func(context.Context, string) (status.Runner, runcheck.SFNAPI, error) {
		return runner, sfn.NewFromConfig(f.Config()), nil
	}
	runSleep = func(_ context.Context, d time.Duration) error { clock = clock.Add(d); return nil }
	runNow = func() time.Time { return clock }
	t.Cleanup(func() { runClients, runSleep, runNow = oldClients, oldSleep, oldNow })
}

func TestRunCommand(t *testing.T) {
	outputs := `{"currentElectionsStateMachineArn": "` + statusSMArn + `", "addressbaseStateMachineArn": "` + statusSMArn + `-ab"}`
	at := func(s int, typ, state string) rt.Event {
		return rt.Event{Type: typ, State: state, At: time.Duration(s) * time.Second}
	}
	started := []rt.Event{at(0, "ExecutionStarted", ""), at(0, "TaskStateEntered", "Check singleton")}
	succeeds := []rt.Event{at(3, "TaskStateExited", "Check singleton"), at(3, "ExecutionSucceeded", "")}
	fails := []rt.Event{{Type: "TaskFailed", Error: "QueryFailed", Cause: "gate failed", At: 4 * time.Second},
		at(5, "FailStateEntered", "Failed"), {Type: "ExecutionFailed", Error: "QueryFailed", Cause: "gate failed", At: 5 * time.Second}}
	for _, tc := range []struct {
		name       string
		args       []string
		steps      [][]rt.Event
		code       int
		wantStdout string
		wantStderr string
		stopped    bool
	}{
		{"help", []string{"run", "--help"}, nil, 0, "", "databaker run <layer> --stack <env>", false},
		{"no layer", []string{"run", "--stack", "development"}, nil, 2, "", "want one layer", false},
		{"no stack", []string{"run", "currentElections"}, nil, 2, "", "--stack is required", false},
		{"unknown layer", []string{"run", "ballots", "--stack", "development"}, nil, 2, "", `stack development has no layer "ballots"; its layers are addressbase, currentElections`, false},
		{"start only", []string{"run", "current-elections", "--stack", "development"}, [][]rt.Event{started}, 0, "started arn:aws:states:eu-west-2:123456789012:execution:dc-data-baker-current-elections:run-1\n", "", false},
		{"wait succeeds", []string{"run", "currentElections", "--stack", "development", "--wait"}, [][]rt.Event{started, succeeds}, 0,
			"    0.0s  entered  Check singleton\n    3.0s  exited   Check singleton\ncurrentElections SUCCEEDED in 3.0s (budget 2m0s)\n", "", false},
		{"wait fails", []string{"run", "currentElections", "--stack", "development", "--wait"}, [][]rt.Event{started, fails}, 1,
			"entered  Failed", `databaker run: stack development, layer currentElections: execution ` + statusSMArn + `-x FAILED in state "Check singleton": QueryFailed: gate failed`, false},
		{"wait times out", []string{"run", "currentElections", "--stack", "development", "--wait", "--timeout", "10s"}, [][]rt.Event{started}, 1,
			"entered  Check singleton", `did not finish within 10s (stopped); still in ["Check singleton"]`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := rt.New(statusSMArn, 2, tc.steps...)
			fakeRunClients(t, &stackOutputs{out: outputs}, f)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			wantErr := strings.ReplaceAll(tc.wantStderr, statusSMArn+"-x", f.ExecutionArn())
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), wantErr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), wantErr)
			}
			if got := f.Calls("StopExecution") > 0; got != tc.stopped {
				t.Errorf("stopped %v, want %v", got, tc.stopped)
			}
		})
	}
}
