package boundaryexport

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// Defaults.
const (
	DefaultKey = "boundary-reviews/current_boundary_reviews.csv"
	// MaxLookbackDays bounds COMPLETED_LOOKBACK_DAYS, as the stack config
	// does.
	MaxLookbackDays = layer.MaxLookbackDays
)

// Config is the export's deployment configuration, read from env: where
// it publishes and how it reaches the database (eeexport.Config), and
// which reviews it selects besides the contract's rule.
type Config struct {
	eeexport.Config
	// MapOnly keeps only reviews with public_visibility = 'MAP'
	// (MAP_ONLY, a Go boolean such as true or false; default false).
	MapOnly bool
	// CompletedLookbackDays also keeps COMPLETED reviews that took effect
	// up to this many days ago (COMPLETED_LOOKBACK_DAYS, default 0: only
	// those taking effect today or later).
	CompletedLookbackDays int
}

// ConfigFromEnv reads Config with getenv (os.Getenv in production) and
// reports every missing or invalid variable at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	ee, errs := eeexport.ConfigFromEnv(getenv, DefaultKey)
	c := Config{Config: ee}
	if v := strings.TrimSpace(getenv("MAP_ONLY")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("env MAP_ONLY %q must be true or false", v))
		}
		c.MapOnly = b
	}
	if err := eeexport.IntFromEnv(getenv, "COMPLETED_LOOKBACK_DAYS", 0, MaxLookbackDays,
		"a whole number of days from 0 to 3660", &c.CompletedLookbackDays); err != nil {
		errs = append(errs, err)
	}
	if err := eeexport.Join("export_boundary_reviews", errs); err != nil {
		return Config{}, err
	}
	return c, nil
}
