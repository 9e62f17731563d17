// Package ballotexport exports Every Election's approved current ballots,
// with their geographies as WKT, to the CSV that the CurrentElections
// layer reads (s3://<bucket>/ballots-with-wkt/current_elections.csv).
//
// It is a Go port of EE's export Lambda and export_ballots_as_wkt_csv
// management command (DemocracyClub/EveryElection).
package ballotexport

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Defaults, as in EE's export Lambda.
const (
	DefaultKey          = "ballots-with-wkt/current_elections.csv"
	DefaultLookbackDays = 30
	DefaultPort         = 5432
	// DefaultSSLMode matches psycopg's default, which EE's Lambda used.
	DefaultSSLMode = "prefer"
	// MaxLookbackDays bounds lookback_days so that a typo cannot export
	// every ballot EE has ever held.
	MaxLookbackDays = 3660
)

// Config is the export's deployment configuration, read from env.
type Config struct {
	Bucket       string // BUCKET (required)
	Key          string // KEY, default DefaultKey
	LookbackDays int    // LOOKBACK_DAYS, default DefaultLookbackDays

	// Names (not values) of the SSM parameters holding the database
	// connection details. The password parameter is read WithDecryption.
	HostParam     string // DB_HOST_PARAM (required)
	UserParam     string // DB_USER_PARAM (required)
	NameParam     string // DB_NAME_PARAM (required)
	PasswordParam string // DB_PASSWORD_PARAM (required)

	Port    int    // DB_PORT, default DefaultPort
	SSLMode string // DB_SSLMODE, default DefaultSSLMode
}

// ConfigFromEnv reads Config with getenv (os.Getenv in production) and
// reports every missing or invalid variable at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Bucket:        strings.TrimSpace(getenv("BUCKET")),
		Key:           strings.TrimSpace(getenv("KEY")),
		HostParam:     strings.TrimSpace(getenv("DB_HOST_PARAM")),
		UserParam:     strings.TrimSpace(getenv("DB_USER_PARAM")),
		NameParam:     strings.TrimSpace(getenv("DB_NAME_PARAM")),
		PasswordParam: strings.TrimSpace(getenv("DB_PASSWORD_PARAM")),
		SSLMode:       strings.TrimSpace(getenv("DB_SSLMODE")),
		LookbackDays:  DefaultLookbackDays,
		Port:          DefaultPort,
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
		c.Key = DefaultKey
	}
	if strings.HasPrefix(c.Key, "/") || strings.HasSuffix(c.Key, "/") {
		errs = append(errs, fmt.Errorf("env KEY %q must be an object key, without a leading or trailing /", c.Key))
	}
	if c.SSLMode == "" {
		c.SSLMode = DefaultSSLMode
	}
	switch c.SSLMode {
	case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		errs = append(errs, fmt.Errorf("env DB_SSLMODE %q is not a libpq sslmode", c.SSLMode))
	}
	if v := strings.TrimSpace(getenv("LOOKBACK_DAYS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxLookbackDays {
			errs = append(errs, fmt.Errorf("env LOOKBACK_DAYS %q must be a whole number of days from 0 to %d", v, MaxLookbackDays))
		} else {
			c.LookbackDays = n
		}
	}
	if v := strings.TrimSpace(getenv("DB_PORT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("env DB_PORT %q must be a TCP port", v))
		} else {
			c.Port = n
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("export_current_ballots config: %w", err)
	}
	return c, nil
}
