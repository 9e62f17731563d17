// Command export_current_ballots is the Lambda that exports Every
// Election's approved current ballots, with geographies as WKT, to
// s3://$BUCKET/ballots-with-wkt/current_elections.csv.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
)

func main() {
	logger, awsCfg := lambdamain.Setup()
	cfg, err := ballotexport.ConfigFromEnv(os.Getenv)
	if err != nil {
		lambdamain.Exit(logger, "read config", err)
	}
	h := ballotexport.New(cfg, s3.NewFromConfig(awsCfg), ssm.NewFromConfig(awsCfg), logger)
	lambda.Start(h.Handle)
}
