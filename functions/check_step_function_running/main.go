// Command check_step_function_running is the Lambda that keeps a layer's state
// machine to one working run and one waiting follow-up (internal/sfnguard).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
	"github.com/DemocracyClub/dc-data-baker/internal/sfnguard"
)

func main() {
	logger, cfg := lambdamain.Setup()
	h := sfnguard.New(sfn.NewFromConfig(cfg), logger)
	lambda.Start(h.Handle)
}
