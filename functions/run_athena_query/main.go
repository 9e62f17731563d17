// Command run_athena_query is the Lambda that starts an Athena query (named or
// literal SQL), optionally waits for it, or reports an earlier query's status.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
)

func main() {
	logger, cfg := lambdamain.Setup()
	h := athenaquery.New(athena.NewFromConfig(cfg), athenaquery.ConfigFromEnv(os.Getenv), logger)
	lambda.Start(h.Handle)
}
