package main

import (
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"

	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// TestInvoke sends each testdata/<name>.json through the Lambda JSON
// boundary and compares the reply with <name>.want.json, or the error with
// the text in <name>.err.
func TestInvoke(t *testing.T) {
	for _, p := range lambdatest.Payloads(t) {
		t.Run(lambdatest.Name(p), func(t *testing.T) {
			db := eetest.NewDB(t)
			const bucket = "ee.data-cache.test"
			s3c := eetest.NewS3(t, bucket)
			cfg, err := ballotexport.ConfigFromEnv(db.Env(bucket))
			if err != nil {
				t.Fatal(err)
			}
			h := ballotexport.New(cfg, s3c, eetest.NewSSM(t, db.SSMParams()).Client,
				slog.New(slog.NewJSONHandler(io.Discard, nil)),
				eeexport.WithClock(func() time.Time { return eetest.Now }))

			got, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), lambdatest.Read(t, p))

			if lambdatest.Check(t, p, got, err) {
				obj, err := s3c.HeadObject(context.Background(), &s3.HeadObjectInput{
					Bucket: aws.String(bucket), Key: aws.String(ballotexport.DefaultKey)})
				if err != nil || aws.ToInt64(obj.ContentLength) == 0 {
					t.Errorf("published object: %v, length %d; want a non-empty CSV", err, aws.ToInt64(obj.ContentLength))
				}
			}
		})
	}
}
