// Command run_athena_query is the Lambda that starts an Athena query (named or
// literal SQL), optionally waits for it, or reports an earlier query's status.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/DemocracyClub/dc-data-baker/internal/athenaquery"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("load AWS config", "error", err)
		os.Exit(1)
	}
	h := athenaquery.New(athena.NewFromConfig(cfg), athenaquery.ConfigFromEnv(os.Getenv), logger)
	lambda.Start(h.Handle)
}
