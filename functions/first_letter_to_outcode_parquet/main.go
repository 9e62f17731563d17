// Command first_letter_to_outcode_parquet is the Lambda that splits one
// first_letter partition of current_ballots_joined_to_address_base into
// one <OUTCODE>.parquet file per outcode.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

func main() {
	logger, cfg := lambdamain.Setup()
	outcodes.SetMemoryLimitFromLambda(logger)
	h := outcodes.SplitHandler{S3: s3.NewFromConfig(cfg), Logger: logger}
	lambda.Start(h.Handle)
}
