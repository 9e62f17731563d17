package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
	"github.com/DemocracyClub/dc-data-baker/internal/status"
)

type stackOutputs struct {
	out   string
	err   error
	stack string
}

func (s *stackOutputs) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	s.stack = args[len(args)-1]
	return []byte(s.out), s.err
}

const statusSMArn = "arn:aws:states:eu-west-2:123456789012:stateMachine:dc-data-baker-current-elections"

// fakeStatusClients points status at a fake runner, a Step Functions fake
// with one running execution, and an S3 fake with one fresh object.
func fakeStatusClients(t *testing.T, runner *stackOutputs) {
	t.Helper()
	sfnSrv := awsfake.New(awsfake.JSON10, awsfake.Routes{
		"AWSStepFunctions.ListExecutions": func([]byte) (any, error) {
			return map[string]any{"executions": []map[string]any{{
				"executionArn": statusSMArn + ":run-1", "stateMachineArn": statusSMArn,
				"name": "run-1", "status": "RUNNING", "startDate": 1.7e9,
			}}}, nil
		},
	})
	t.Cleanup(sfnSrv.Close)
	backend := s3mem.New()
	if err := backend.CreateBucket("pollingstations.private.data"); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.PutObject("pollingstations.private.data", "addressbase/development/current_elections_parquet/ME14.parquet", map[string]string{}, strings.NewReader("PAR1"), 4, nil); err != nil {
		t.Fatal(err)
	}
	s3Srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3Srv.Close)
	s3c := s3.New(s3.Options{Region: "eu-west-2", BaseEndpoint: aws.String(s3Srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "SECRETFAKE", "")})
	old := statusClients
	statusClients = func(context.Context, string) (status.Runner, status.SFNAPI, status.S3API, error) {
		return runner, sfn.NewFromConfig(sfnSrv.Config()), s3c, nil
	}
	t.Cleanup(func() { statusClients = old })
}

func TestStatusCommand(t *testing.T) {
	outputs := `{"currentElectionsStateMachineArn": "` + statusSMArn + `",
		"currentElectionsOutputLocation": "s3://pollingstations.private.data/addressbase/development/current_elections_parquet/"}`
	for _, tc := range []struct {
		name       string
		args       []string
		runner     stackOutputs
		code       int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"status", "--help"}, stackOutputs{}, 0, "", "databaker status --stack <env>"},
		{"no stack", []string{"status"}, stackOutputs{}, 2, "", "--stack is required"},
		{"bad executions", []string{"status", "--stack", "development", "--executions", "0"}, stackOutputs{}, 2, "", "--executions must be between 1 and 1000, got 0"},
		{"bad max-age", []string{"status", "--stack", "development", "--max-age", "-1h"}, stackOutputs{}, 2, "", "--max-age must be positive, got -1h0m0s"},
		{"pulumi fails", []string{"status", "--stack", "staging"}, stackOutputs{err: errors.New("exit status 255: error: no stack named 'staging' found")}, 1, "",
			"databaker status: read outputs of stack staging (pulumi stack output --json --stack staging): exit status 255: error: no stack named 'staging' found\n"},
		{"malformed outputs", []string{"status", "--stack", "production"}, stackOutputs{out: `{"currentElectionsOutputLocation": "current_elections_parquet/"}`}, 1, "",
			`databaker status: stack production: output currentElectionsOutputLocation: "current_elections_parquet/" is not an S3 location (s3://bucket/prefix/)`},
		{"table", []string{"status", "--stack", "development"}, stackOutputs{out: outputs}, 0, "currentElections  run-1      RUNNING", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner := tc.runner
			fakeStatusClients(t, &runner)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

func TestStatusCommandJSON(t *testing.T) {
	runner := &stackOutputs{out: `{"currentElectionsStateMachineArn": "` + statusSMArn + `",
		"currentElectionsOutputLocation": "s3://pollingstations.private.data/addressbase/development/current_elections_parquet/"}`}
	fakeStatusClients(t, runner)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"status", "--stack", "development", "--json", "--max-age", "1h"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	if runner.stack != "development" {
		t.Errorf("pulumi asked for stack %q, want development", runner.stack)
	}
	var r status.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout.String())
	}
	if r.Stack != "development" || r.MaxAge != "1h0m0s" || len(r.Layers) != 1 || len(r.Layers[0].Executions) != 1 ||
		!r.Layers[0].Executions[0].Running() || len(r.Outputs) != 1 || r.Outputs[0].Objects != 1 || r.Outputs[0].Stale {
		t.Errorf("unexpected report:\n%s", stdout.String())
	}
}
