// Command plausibility_gate is the Lambda that, before a layer's outcode
// files are published, compares them with the last published run's
// manifest, refuses an implausible change unless the execution's input
// accepts it, and writes the new manifest.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
	"github.com/DemocracyClub/dc-data-baker/internal/plausibility"
)

func main() {
	logger, cfg := lambdamain.Setup()
	outcodes.SetMemoryLimitFromLambda(logger)
	h := plausibility.Handler{S3: s3.NewFromConfig(cfg), Logger: logger}
	lambda.Start(h.Handle)
}
