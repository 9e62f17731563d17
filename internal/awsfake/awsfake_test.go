package awsfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/awsfake"
)

func TestRoutesRealClient(t *testing.T) {
	srv := awsfake.New(awsfake.JSON11, awsfake.Routes{
		"AWSGlue.GetDatabase": func(body []byte) (any, error) {
			in, err := awsfake.Decode[struct{ Name string }](body)
			if err != nil {
				return nil, err
			}
			if in.Name != "dc_data_baker" {
				return nil, &awsfake.APIError{Code: "EntityNotFoundException", Message: "Database " + in.Name + " not found."}
			}
			return map[string]any{"Database": map[string]any{"Name": in.Name, "CreateTime": 1.7645e9}}, nil
		},
	})
	t.Cleanup(srv.Close)
	client := glue.NewFromConfig(srv.Config())

	out, err := client.GetDatabase(context.Background(), &glue.GetDatabaseInput{Name: aws.String("dc_data_baker")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Database.Name); got != "dc_data_baker" {
		t.Errorf("Name = %q", got)
	}
	if out.Database.CreateTime == nil || out.Database.CreateTime.Unix() != 1764500000 {
		t.Errorf("CreateTime = %v, want epoch 1764500000", out.Database.CreateTime)
	}

	_, err = client.GetDatabase(context.Background(), &glue.GetDatabaseInput{Name: aws.String("nope")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "EntityNotFoundException" || apiErr.ErrorMessage() != "Database nope not found." {
		t.Errorf("error = %v, want EntityNotFoundException", err)
	}

	// A route the fake lacks is an error, not a silent empty answer.
	_, err = client.GetTables(context.Background(), &glue.GetTablesInput{DatabaseName: aws.String("dc_data_baker")})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
		t.Errorf("unrouted error = %v, want UnknownOperationException", err)
	}

	var targets []string
	for _, c := range srv.Calls("") {
		targets = append(targets, c.Target)
	}
	want := []string{"AWSGlue.GetDatabase", "AWSGlue.GetDatabase", "AWSGlue.GetTables"}
	if diff := cmp.Diff(want, targets); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if n := len(srv.Calls("AWSGlue.GetTables")); n != 1 {
		t.Errorf("Calls(GetTables) = %d, want 1", n)
	}
}

func TestRejectsUnsignedAndNonJSON(t *testing.T) {
	srv := awsfake.New(awsfake.JSON10, awsfake.Routes{"X.Y": func([]byte) (any, error) { return map[string]string{}, nil }})
	t.Cleanup(srv.Close)
	tests := []struct {
		name        string
		contentType string
		auth        string
		wantStatus  int
		wantType    string
	}{
		{name: "unsigned", contentType: awsfake.JSON10, wantStatus: http.StatusForbidden, wantType: "MissingAuthenticationTokenException"},
		{name: "not JSON protocol", contentType: "text/plain", auth: "AWS4-HMAC-SHA256 Credential=x", wantStatus: http.StatusBadRequest, wantType: "SerializationException"},
		{name: "ok", contentType: awsfake.JSON10, auth: "AWS4-HMAC-SHA256 Credential=x", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Set("X-Amz-Target", "X.Y")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("X-Amzn-Errortype") != tt.wantType {
				t.Errorf("status %d type %q, want %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), tt.wantStatus, tt.wantType)
			}
			if ct := resp.Header.Get("Content-Type"); ct != awsfake.JSON10 {
				t.Errorf("Content-Type = %q, want %q", ct, awsfake.JSON10)
			}
		})
	}
}

// A dropped connection is retried by Config's retryer, as the SDK's standard
// one would; Calls still lists the operation once, so tests that count
// calls count what the code under test did, not what the loopback did.
func TestCallsCountsOperationsNotAttempts(t *testing.T) {
	attempts := 0
	srv := awsfake.New(awsfake.JSON11, awsfake.Routes{
		"AWSGlue.GetDatabase": func([]byte) (any, error) {
			attempts++
			if attempts == 1 {
				panic(http.ErrAbortHandler) // the server drops the connection without answering
			}
			return map[string]any{"Database": map[string]any{"Name": "dc_data_baker"}}, nil
		},
	})
	t.Cleanup(srv.Close)
	client := glue.NewFromConfig(srv.Config())
	for range 2 {
		if _, err := client.GetDatabase(context.Background(), &glue.GetDatabaseInput{Name: aws.String("dc_data_baker")}); err != nil {
			t.Fatal(err)
		}
	}
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3 (the first dropped and retried)", attempts)
	}
	if n := len(srv.Calls("AWSGlue.GetDatabase")); n != 2 {
		t.Errorf("Calls(GetDatabase) = %d, want 2 operations", n)
	}
}
