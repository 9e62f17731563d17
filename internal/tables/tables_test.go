package tables_test

import (
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

func TestLocation(t *testing.T) {
	vars := tables.Vars{Environment: "production", Release: "current", BallotsPrefix: "ballots-with-wkt/"}
	for _, tc := range []struct {
		table tables.Table
		want  string
	}{
		{tables.Table{Name: "raw", Bucket: "ab", Prefix: "addressbase/{release}/addressbase_cleaned/"}, "s3://ab/addressbase/current/addressbase_cleaned/"},
		{tables.Table{Name: "env", Bucket: "ab", Prefix: "addressbase/{environment}/x/"}, "s3://ab/addressbase/production/x/"},
		{tables.Table{Name: "ballots", Bucket: "ee", Prefix: "{ballots_prefix}/"}, "s3://ee/ballots-with-wkt/"},
	} {
		got, err := tc.table.Location(vars)
		if err != nil || got != tc.want {
			t.Errorf("%s: Location = %q, %v; want %q", tc.table.Name, got, err, tc.want)
		}
	}
}

func TestLocationRefusesMissingValues(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table tables.Table
		vars  tables.Vars
		want  string
	}{
		{"no environment", tables.Table{Name: "t", Bucket: "b", Prefix: "x/{environment}/"}, tables.Vars{Release: "current"}, "{environment}, which has no value"},
		{"no release", tables.Table{Name: "t", Bucket: "b", Prefix: "x/{release}/"}, tables.Vars{Environment: "development"}, "{release}, which has no value"},
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

func TestRunScoped(t *testing.T) {
	tb := tables.Table{Name: "addressbase_partitioned", Query: "partition", PartitionKeys: tables.FirstLetter, RunScoped: true}
	if got := tables.RunPrefix("s3://b/addressbase/production/addressbase_partitioned/", "exec-1"); got != "s3://b/addressbase/production/addressbase_partitioned/runs/exec-1/" {
		t.Errorf("RunPrefix = %q", got)
	}
	s := tb.Staging()
	if s.Name != "addressbase_partitioned_staging" || s.Query != "" || s.StagingOf != tb.Name || !s.RunScoped {
		t.Errorf("Staging() = %+v", s)
	}
	p := tb.Projection()
	if p["projection.enabled"] != "true" || p["projection.first_letter.type"] != "enum" ||
		p["projection.first_letter.values"] != "A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q,R,S,T,U,V,W,X,Y,Z" || len(p) != 3 {
		t.Errorf("Projection() = %v", p)
	}
	if p := (tables.Table{Name: "x"}).Projection(); p != nil {
		t.Errorf("a table that is not run-scoped has projection %v", p)
	}
}
