package currentelections_test

import (
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layer/layertest"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

var settings = layer.Settings{
	Names:    layer.NamesFor("production"),
	Vars:     tables.Vars{Environment: "production", Release: "current", BallotsPrefix: "ballots-with-wkt/"},
	Buckets:  tables.Buckets{AddressBase: "pollingstations.private.data", EE: "ee.data-cache.production"},
	Schedule: "cron(0 3 * * ? *)",
}

// The machine the stack deploys, walked with the stated latencies, fits
// the 120 s budget.
func TestCriticalPathFitsTheBudget(t *testing.T) {
	spec, err := currentelections.Spec(settings)
	if err != nil {
		t.Fatal(err)
	}
	sm := spec.Flow(layer.Runtime{Lambdas: layertest.Lambdas, FailureTopicArn: "arn:aws:sns:eu-west-2:123456789012:failures"})
	est, err := flows.EstimateRun(sm, currentelections.DesignLatencies(layertest.Lambdas, 26))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("critical path of %s:\n%s", spec.StateMachine, est)
	if est.Total > currentelections.Budget {
		t.Errorf("estimated run %v exceeds the budget %v:\n%s", est.Total, currentelections.Budget, est)
	}
	// The path goes through the join, the slowest gate and the outcodes.
	for _, want := range []string{currentelections.StateJoin, currentelections.StateGateRawUPRNs, currentelections.StateOutcodeLetter, currentelections.StatePublish} {
		if !strings.Contains(est.String(), want) {
			t.Errorf("critical path lacks %q:\n%s", want, est)
		}
	}
}

// The model bites: the outcode Lambdas four at a time, as before, take
// seven rounds and break the budget.
func TestBoundedOutcodesBreakTheBudget(t *testing.T) {
	sm := currentelections.Flow(currentelections.FlowParams{
		Frame:    flows.Frame{Lambdas: layertest.Lambdas, FailureTopicArn: "arn:aws:sns:eu-west-2:123456789012:failures"},
		Database: "dc_data_baker", Bucket: "b", JoinedPrefix: "j/", OutcodePrefix: "o/", OutcodeMaxConcurrency: 4,
	})
	est, err := flows.EstimateRun(sm, currentelections.DesignLatencies(layertest.Lambdas, 26))
	if err != nil {
		t.Fatal(err)
	}
	if est.Total <= currentelections.Budget {
		t.Errorf("estimate %v with 4 outcode Lambdas at a time is within %v; want it over:\n%s", est.Total, currentelections.Budget, est)
	}
}
