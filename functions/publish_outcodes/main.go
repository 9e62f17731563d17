// Command publish_outcodes is the Lambda that, after every letter was
// split into the staging prefix, copies the changed <OUTCODE>.parquet files
// to the live prefix and deletes the files of outcodes no letter produced.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

func main() {
	logger, cfg := lambdamain.Setup()
	h := outcodes.PublishHandler{S3: s3.NewFromConfig(cfg), Logger: logger}
	lambda.Start(h.Handle)
}
