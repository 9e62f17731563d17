package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport/eetest"
	"github.com/DemocracyClub/dc-data-baker/internal/boundaryexport"
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/golden"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdatest"
	"github.com/DemocracyClub/dc-data-baker/internal/pgtest"
	"github.com/DemocracyClub/dc-data-baker/internal/s3test"
)

func TestMain(m *testing.M) { os.Exit(pgtest.RunMain(m)) }

// TestInvoke sends each testdata/<name>.json through the Lambda JSON
// boundary, with the options main uses, and compares the reply with
// <name>.want.json, or the error with the text in <name>.err. A success
// must publish the package's golden CSV.
func TestInvoke(t *testing.T) {
	for _, p := range lambdatest.Payloads(t) {
		t.Run(lambdatest.Name(p), func(t *testing.T) {
			db := eetest.NewDB(t)
			const bucket = "ee.data-cache.test"
			s3c := eetest.NewS3(t, bucket)
			cfg, err := boundaryexport.ConfigFromEnv(db.Env(bucket))
			if err != nil {
				t.Fatal(err)
			}
			h := boundaryexport.New(cfg, s3c, eetest.NewSSM(t, db.SSMParams()).Client,
				slog.New(slog.NewJSONHandler(io.Discard, nil)),
				eeexport.WithClock(func() time.Time { return eetest.Now }),
				eeexport.WithTempDir(t.TempDir()))

			got, err := lambda.NewHandlerWithOptions(h.Handle, lambda.WithDisallowUnknownFields(true)).
				Invoke(context.Background(), lambdatest.Read(t, p))

			if lambdatest.Check(t, p, got, err) && !golden.Updating() {
				golden.Check(t, "../../internal/boundaryexport/testdata/current_boundary_reviews.csv",
					[]byte(s3test.Get(t, s3c, bucket, boundaryexport.DefaultKey)))
			}
		})
	}
}
