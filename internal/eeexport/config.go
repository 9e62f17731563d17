// Package eeexport is what every export from EveryElection's database to
// S3 shares: the deployment configuration read from env, the database
// connection details read from SSM parameters at run time, the pgx
// connection, and the atomic publish of the exported file through a
// hidden temporary key. The exports themselves (ballotexport,
// boundaryexport) only write their CSV to an io.Writer.
package eeexport

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Defaults shared by the exports.
const (
	DefaultPort = 5432
	// DefaultSSLMode matches psycopg's default, which EE's Lambda used.
	DefaultSSLMode = "prefer"
)

// Config is where an export publishes and how it reaches the database.
type Config struct {
	Bucket string // BUCKET (required)
	Key    string // KEY, default given by the export
	// HistoryBucket and HistoryPrefix (HISTORY_BUCKET, HISTORY_PREFIX: both
	// or neither) are where a dated copy of each exported file is kept.
	HistoryBucket, HistoryPrefix string
	DB
}

// DB says how to reach EveryElection's database.
type DB struct {
	// Names (not values) of the SSM parameters holding the database
	// connection details. The password parameter is read WithDecryption.
	HostParam     string // DB_HOST_PARAM (required)
	UserParam     string // DB_USER_PARAM (required)
	NameParam     string // DB_NAME_PARAM (required)
	PasswordParam string // DB_PASSWORD_PARAM (required)

	Port    int    // DB_PORT, default DefaultPort
	SSLMode string // DB_SSLMODE, default DefaultSSLMode
}

// ConfigFromEnv reads Config with getenv (os.Getenv in production), using
// defaultKey when KEY is unset. It returns every missing or invalid
// variable, so that an export can add its own and report them all at once.
func ConfigFromEnv(getenv func(string) string, defaultKey string) (Config, []error) {
	c := Config{
		Bucket:        env(getenv, "BUCKET"),
		Key:           env(getenv, "KEY"),
		HistoryBucket: env(getenv, "HISTORY_BUCKET"),
		HistoryPrefix: env(getenv, "HISTORY_PREFIX"),
		DB: DB{
			HostParam:     env(getenv, "DB_HOST_PARAM"),
			UserParam:     env(getenv, "DB_USER_PARAM"),
			NameParam:     env(getenv, "DB_NAME_PARAM"),
			PasswordParam: env(getenv, "DB_PASSWORD_PARAM"),
			SSLMode:       env(getenv, "DB_SSLMODE"),
			Port:          DefaultPort,
		},
	}
	var errs []error
	for _, req := range []struct{ name, val string }{
		{"BUCKET", c.Bucket},
		{"DB_HOST_PARAM", c.HostParam},
		{"DB_USER_PARAM", c.UserParam},
		{"DB_NAME_PARAM", c.NameParam},
		{"DB_PASSWORD_PARAM", c.PasswordParam},
	} {
		if req.val == "" {
			errs = append(errs, fmt.Errorf("env %s is required", req.name))
		}
	}
	if c.Key == "" {
		c.Key = defaultKey
	}
	if strings.HasPrefix(c.Key, "/") || strings.HasSuffix(c.Key, "/") {
		errs = append(errs, fmt.Errorf("env KEY %q must be an object key, without a leading or trailing /", c.Key))
	}
	if (c.HistoryBucket == "") != (c.HistoryPrefix == "") {
		errs = append(errs, fmt.Errorf("env HISTORY_BUCKET %q and HISTORY_PREFIX %q must be set together", c.HistoryBucket, c.HistoryPrefix))
	} else if c.HistoryPrefix != "" && (strings.HasPrefix(c.HistoryPrefix, "/") || !strings.HasSuffix(c.HistoryPrefix, "/")) {
		errs = append(errs, fmt.Errorf("env HISTORY_PREFIX %q must be a folder: no leading /, ending in /", c.HistoryPrefix))
	}
	if c.SSLMode == "" {
		c.SSLMode = DefaultSSLMode
	}
	switch c.SSLMode {
	case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		errs = append(errs, fmt.Errorf("env DB_SSLMODE %q is not a libpq sslmode", c.SSLMode))
	}
	if err := IntFromEnv(getenv, "DB_PORT", 1, 65535, "a TCP port", &c.Port); err != nil {
		errs = append(errs, err)
	}
	return c, errs
}

// IntFromEnv sets *dst from the variable name when it is set, checking
// that it is a whole number from lo to hi (what, e.g. "a TCP port", says
// so in the error). An unset variable leaves *dst, the default, alone.
func IntFromEnv(getenv func(string) string, name string, lo, hi int, what string, dst *int) error {
	v := env(getenv, name)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("env %s %q must be %s", name, v, what)
	}
	*dst = n
	return nil
}

// Join wraps the errors of an export's config under its function name.
func Join(function string, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s config: %w", function, err)
	}
	return nil
}

func env(getenv func(string) string, name string) string { return strings.TrimSpace(getenv(name)) }
