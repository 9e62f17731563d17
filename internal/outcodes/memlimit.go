package outcodes

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
)

// SetMemoryLimitFromLambda sets the Go soft memory limit to 85% of the
// Lambda's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB), so the garbage
// collector works harder instead of letting the heap double past the
// function's limit. An explicit GOMEMLIMIT wins; outside Lambda it does
// nothing.
func SetMemoryLimitFromLambda(log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	mb, err := strconv.ParseInt(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || mb <= 0 {
		return
	}
	limit := MemoryLimit(mb)
	debug.SetMemoryLimit(limit)
	log.Info("go memory limit set", "lambda_mb", mb, "limit_bytes", limit)
}

// MemoryLimit is the Go soft memory limit, in bytes, that
// SetMemoryLimitFromLambda sets for a Lambda of mb MB: 85% of it.
func MemoryLimit(mb int64) int64 { return mb << 20 * 85 / 100 }
