// Package lambdamain is what every Lambda main starts with.
package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Setup returns a JSON logger and the AWS config from the Lambda's
// environment. If the config cannot be loaded it logs why and exits, which
// the Lambda runtime reports as an init error.
func Setup() (*slog.Logger, aws.Config) {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		logger.Error("load AWS config", "error", err.Error())
		os.Exit(1)
	}
	return logger, cfg
}

// Exit logs a start-up error and exits.
func Exit(logger *slog.Logger, msg string, err error) {
	logger.Error(msg, "error", err.Error())
	os.Exit(1)
}
