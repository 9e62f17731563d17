// Command empty_s3_bucket_by_prefix is the Lambda that deletes every object
// under an S3 prefix (never a whole bucket).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
	"github.com/DemocracyClub/dc-data-baker/internal/s3prefix"
)

func main() {
	logger, cfg := lambdamain.Setup()
	h := s3prefix.New(s3.NewFromConfig(cfg), logger)
	lambda.Start(h.Handle)
}
