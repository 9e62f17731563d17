// Command delete_stale_outcodes is the Lambda that, after every letter was
// split, deletes the <OUTCODE>.parquet files of outcodes no letter produced.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

func main() {
	logger, cfg := lambdamain.Setup()
	h := outcodes.DeleteStaleHandler{S3: s3.NewFromConfig(cfg), Logger: logger}
	lambda.Start(h.Handle)
}
