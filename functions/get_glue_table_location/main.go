// Command get_glue_table_location is the Lambda that returns a Glue table's
// S3 location as {"<table>_location": "s3://..."}.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/glue"

	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("load AWS config", "error", err)
		os.Exit(1)
	}
	h := gluetable.New(glue.NewFromConfig(cfg), logger)
	lambda.Start(h.Handle)
}
