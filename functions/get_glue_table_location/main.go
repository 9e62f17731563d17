// Command get_glue_table_location is the Lambda that returns a Glue table's
// S3 location as {"<table>_location": "s3://..."}.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
	"github.com/DemocracyClub/dc-data-baker/internal/lambdamain"
)

func main() {
	logger, cfg := lambdamain.Setup()
	h := gluetable.New(glue.NewFromConfig(cfg), logger)
	lambda.Start(h.Handle)
}
