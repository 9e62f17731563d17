// Command delete_stale_outcodes is the Lambda that, after every letter was
// split, deletes the <OUTCODE>.parquet files of outcodes no letter produced.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("load AWS config", "error", err)
		os.Exit(1)
	}
	h := outcodes.DeleteStaleHandler{S3: s3.NewFromConfig(cfg), Logger: logger}
	lambda.Start(h.Handle)
}
