package main

import (
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"

	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

const (
	bucket  = "pollingstations-test"
	prefix  = "addressbase/development/current_elections_parquet/"
	staging = "addressbase/development/staging/current_elections_parquet/"
)

// staged are the split's files before each invocation, by key: every
// outcode the same as live except ME14.
var staged = map[string]string{
	staging + "M1.parquet": prefix + "M1.parquet", staging + "ME1.parquet": prefix + "ME1.parquet",
	staging + "ME14.parquet": "ME14 rebuilt", staging + "S1.parquet": prefix + "S1.parquet", staging + "ZZ9.parquet": prefix + "ZZ9.parquet",
}

// existing is the bucket before each invocation.
var existing = []string{
	prefix + "M1.parquet", prefix + "ME1.parquet", prefix + "ME14.parquet", prefix + "S1.parquet", prefix + "ZZ9.parquet",
	prefix + "README.txt",
	"addressbase/development/current_ballots_joined_to_address_base/first_letter=M/part-0",
}

// TestInvoke sends each testdata/<name>.json through the Lambda JSON
// boundary and compares the reply with <name>.want.json, or the error with
// the text in <name>.err. Every live object not named in the reply must
// remain, and every copied one must hold the staged bytes.
func TestInvoke(t *testing.T) {
	for _, p := range lambdatest.Payloads(t) {
		t.Run(lambdatest.Name(p), func(t *testing.T) {
			ctx := context.Background()
			client, _ := s3test.NewS3(t, bucket)
			st := blob.NewS3(client, bucket)
			for _, k := range existing {
				if _, err := st.Put(ctx, k, []byte(k)); err != nil {
					t.Fatal(err)
				}
			}
			for k, body := range staged {
				if _, err := st.Put(ctx, k, []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			h := outcodes.PublishHandler{S3: client, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}

			got, err := lambda.NewHandler(h.Handle).Invoke(ctx, lambdatest.Read(t, p))

			var deleted []string
			if lambdatest.Check(t, p, got, err) {
				if !strings.Contains(string(got), `"deleted":[`) {
					t.Errorf("reply %s: deleted must be a list, never null", got)
				}
				var g outcodes.PublishOutput
				if err := json.Unmarshal(got, &g); err != nil {
					t.Fatal(err)
				}
				deleted = g.Deleted
				for _, k := range g.Copied {
					if got, want := s3test.Get(t, client, bucket, k), staged[staging+strings.TrimPrefix(k, prefix)]; got != want {
						t.Errorf("copied %s holds %q, want the staged %q", k, got, want)
					}
				}
			}
			objs, err := st.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var remaining []string
			for _, o := range objs {
				if !strings.HasPrefix(o.Key, staging) {
					remaining = append(remaining, o.Key)
				}
			}
			var want []string
			for _, k := range existing {
				if !slices.Contains(deleted, k) {
					want = append(want, k)
				}
			}
			if diff := cmp.Diff(slices.Sorted(slices.Values(want)), remaining); diff != "" {
				t.Errorf("remaining objects (-want +got):\n%s", diff)
			}
		})
	}
}
