// Command export_current_ballots is the Lambda that exports Every
// Election's approved current ballots, with geographies as WKT, to
// s3://$BUCKET/ballots-with-wkt/current_elections.csv.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := ballotexport.ConfigFromEnv(os.Getenv)
	if err != nil {
		logger.Error("read config", "error", err.Error())
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("load AWS config", "error", err.Error())
		os.Exit(1)
	}
	h := ballotexport.New(cfg, s3.NewFromConfig(awsCfg), ssm.NewFromConfig(awsCfg), logger)
	lambda.Start(h.Handle)
}
