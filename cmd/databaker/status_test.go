package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
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
	old := stackClients
	stackClients = func(context.Context, string) (status.Runner, status.SFNAPI, *s3.Client, error) {
		return runner, sfn.NewFromConfig(sfnSrv.Config()), s3c, nil
	}
	t.Cleanup(func() { stackClients = old })
}

func TestStatusCommand(t *testing.T) {
	outputs := `{"currentElectionsStateMachineArn": "` + statusSMArn + `",
		"currentElectionsOutputLocation": "s3://pollingstations.private.data/addressbase/development/current_elections_parquet/"}`
	noObjects := strings.Replace(outputs, "/development/", "/staging/", 1)
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
			"databaker status: stack \"staging\" does not exist in the Pulumi backend you are logged in to: 'pulumi stack ls' lists the stacks ('pulumi whoami -v' shows the backend)\n" +
				"  cause: read outputs of stack staging (pulumi stack output --json --stack staging): exit status 255: error: no stack named 'staging' found\n"},
		{"warnings exit 0", []string{"status", "--stack", "development"}, stackOutputs{out: noObjects}, 0, "no objects under", ""},
		{"strict warnings exit 1", []string{"status", "--stack", "development", "--strict"}, stackOutputs{out: noObjects}, 1, "no objects under",
			"databaker status: 1 warning(s), and --strict makes warnings fail\n"},
		{"strict no warnings", []string{"status", "--stack", "development", "--strict"}, stackOutputs{out: outputs}, 0, "currentElections  run-1      RUNNING", ""},
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

// fakePulumi puts a pulumi script on a PATH of its own (nothing else is on
// it), or no pulumi at all when script is "".
func fakePulumi(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	if script != "" {
		if err := os.WriteFile(filepath.Join(dir, "pulumi"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
}

// noAWSCredentials leaves the SDK's default chain with nothing to find,
// quickly: no environment keys, no config files, and IMDS switched off.
func noAWSCredentials(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestStatusHints runs status with the real runner and AWS configuration:
// each first-time failure is one sentence naming the next step, exit 1.
func TestStatusHints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pulumi string // script body; "" means no pulumi on PATH
		creds  bool
		want   string
	}{
		{"no pulumi", "", true,
			"databaker status: the Pulumi CLI (pulumi) is not installed or not on PATH: install it from https://www.pulumi.com/docs/iac/download-install/, run 'pulumi login', and run this again\n"},
		{"no such stack", "echo \"error: no stack named 'staging' found\" >&2; exit 255", true,
			"databaker status: stack \"staging\" does not exist in the Pulumi backend you are logged in to: 'pulumi stack ls' lists the stacks"},
		{"no credentials", "echo '{}'", false,
			"databaker status: no AWS credentials found: set AWS_PROFILE to a profile for the stack's account (after 'aws sso login' if it uses SSO) and run this again\n  cause: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fakePulumi(t, tc.pulumi)
			noAWSCredentials(t)
			if tc.creds {
				t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
				t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRETFAKE")
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"status", "--stack", "staging", "--pulumi-dir", t.TempDir()}, &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.HasPrefix(stderr.String(), tc.want) {
				t.Errorf("stderr does not start with %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}
