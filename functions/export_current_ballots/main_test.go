package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// TestInvoke sends each testdata/<name>.json through the Lambda JSON
// boundary and compares the reply with <name>.want.json, or the error with
// the text in <name>.err.
func TestInvoke(t *testing.T) {
	payloads, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, p := range payloads {
		if strings.HasSuffix(p, ".want.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		t.Run(name, func(t *testing.T) {
			payload := mustRead(t, p)
			db := eetest.NewDB(t)
			const bucket = "ee.data-cache.test"
			s3c := eetest.NewS3(t, bucket)
			cfg, err := ballotexport.ConfigFromEnv(db.Env(bucket))
			if err != nil {
				t.Fatal(err)
			}
			h := ballotexport.New(cfg, s3c, eetest.NewSSM(t, db.SSMParams()).Client,
				slog.New(slog.NewJSONHandler(io.Discard, nil)),
				ballotexport.WithClock(func() time.Time { return eetest.Now }))

			got, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)

			wantPath := strings.TrimSuffix(p, ".json") + ".want.json"
			if _, statErr := os.Stat(wantPath); statErr == nil {
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				var gotV, wantV any
				if err := json.Unmarshal(got, &gotV); err != nil {
					t.Fatalf("reply %s is not JSON: %v", got, err)
				}
				if err := json.Unmarshal(mustRead(t, wantPath), &wantV); err != nil {
					t.Fatalf("%s: %v", wantPath, err)
				}
				if diff := cmp.Diff(wantV, gotV); diff != "" {
					t.Errorf("reply (-want +got):\n%s", diff)
				}
				obj, err := s3c.HeadObject(context.Background(), &s3.HeadObjectInput{
					Bucket: aws.String(bucket), Key: aws.String(ballotexport.DefaultKey)})
				if err != nil || aws.ToInt64(obj.ContentLength) == 0 {
					t.Errorf("published object: %v, length %d; want a non-empty CSV", err, aws.ToInt64(obj.ContentLength))
				}
				return
			}
			wantErr := strings.TrimSpace(string(mustRead(t, strings.TrimSuffix(p, ".json")+".err")))
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Fatalf("Invoke = %s, %v; want an error containing %q", got, err, wantErr)
			}
		})
	}
	if n == 0 {
		t.Fatal("no testdata/*.json payloads")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
