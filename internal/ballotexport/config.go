// Package ballotexport exports Every Election's approved current ballots,
// with their geographies as WKT, to the CSV that the CurrentElections
// layer reads (s3://<bucket>/ballots-with-wkt/current_elections.csv).
//
// It is a Go port of EE's export Lambda and export_ballots_as_wkt_csv
// management command (DemocracyClub/EveryElection).
package ballotexport

import (
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// Defaults, as in EE's export Lambda.
const (
	DefaultKey          = "ballots-with-wkt/current_elections.csv"
	DefaultLookbackDays = 30
	// MaxLookbackDays bounds lookback_days so that a typo cannot export
	// every ballot EE has ever held; the stack config has the same bound.
	MaxLookbackDays = layer.MaxLookbackDays
)

// Config is the export's deployment configuration, read from env: where
// it publishes and how it reaches the database (eeexport.Config), and the
// look-back window.
type Config struct {
	eeexport.Config
	LookbackDays int // LOOKBACK_DAYS, default DefaultLookbackDays
}

// ConfigFromEnv reads Config with getenv (os.Getenv in production) and
// reports every missing or invalid variable at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	ee, errs := eeexport.ConfigFromEnv(getenv, DefaultKey)
	c := Config{Config: ee, LookbackDays: DefaultLookbackDays}
	if err := eeexport.IntFromEnv(getenv, "LOOKBACK_DAYS", 0, MaxLookbackDays,
		"a whole number of days from 0 to 3660", &c.LookbackDays); err != nil {
		errs = append(errs, err)
	}
	if err := eeexport.Join("export_current_ballots", errs); err != nil {
		return Config{}, err
	}
	return c, nil
}
