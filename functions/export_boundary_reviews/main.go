// Command export_boundary_reviews is the Lambda that exports Every
// Election's boundary reviews, with old and new division geometries as
// WKT, to s3://$BUCKET/$KEY for the BoundaryReviews layer.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/DemocracyClub/dc-data-baker/internal/boundaryexport"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
)

func main() {
	logger, awsCfg := lambdamain.Setup()
	cfg, err := boundaryexport.ConfigFromEnv(os.Getenv)
	if err != nil {
		lambdamain.Exit(logger, "read config", err)
	}
	h := boundaryexport.New(cfg, s3.NewFromConfig(awsCfg), ssm.NewFromConfig(awsCfg), logger)
	lambda.StartWithOptions(h.Handle, lambda.WithDisallowUnknownFields(true))
}
