package tables_test

import (
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

func TestLocation(t *testing.T) {
	b := tables.Buckets{AddressBase: "pollingstations.private.data", EE: "ee.data-cache.production"}
	vars := tables.Vars{Environment: "production", Release: "current", BallotsPrefix: "ballots-with-wkt/"}
	for _, tc := range []struct {
		table tables.Table
		want  string
	}{
		{tables.AddressBaseCleanedRaw(b), "s3://pollingstations.private.data/addressbase/current/addressbase_cleaned/"},
		{tables.AddressBasePartitioned(b), "s3://pollingstations.private.data/addressbase/production/addressbase_partitioned/"},
		{tables.CurrentBallots(b), "s3://ee.data-cache.production/ballots-with-wkt/"},
		{tables.CurrentBallotsJoined(b), "s3://pollingstations.private.data/addressbase/production/current_ballots_joined_to_address_base/"},
	} {
		got, err := tc.table.Location(vars)
		if err != nil || got != tc.want {
			t.Errorf("%s: Location = %q, %v; want %q", tc.table.Name, got, err, tc.want)
		}
	}
}

func TestLocationRefusesMissingValues(t *testing.T) {
	b := tables.Buckets{AddressBase: "a-bucket", EE: "e-bucket"}
	for _, tc := range []struct {
		name  string
		table tables.Table
		vars  tables.Vars
		want  string
	}{
		{"no environment", tables.AddressBasePartitioned(b), tables.Vars{Release: "current"}, "{environment}, which has no value"},
		{"no release", tables.AddressBaseCleanedRaw(b), tables.Vars{Environment: "development"}, "{release}, which has no value"},
		{"unknown variable", tables.Table{Name: "t", Bucket: "b", Prefix: "x/{colour}/"}, tables.Vars{Environment: "development"}, "{colour}"},
		{"no trailing slash", tables.Table{Name: "t", Bucket: "b", Prefix: "x/{environment}"}, tables.Vars{Environment: "development"}, "end in /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.table.Location(tc.vars)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
