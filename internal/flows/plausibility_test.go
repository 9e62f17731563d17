package flows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
)

// TestPlausibilityGate executes CurrentElections' flow in
// aws-local-stepfunctions: the gate runs once, after every quality gate and
// before any outcode file is written; a refusal fails the run, notified,
// with nothing published; {"accept_change": true} as the execution's input
// reaches the gate and the run publishes.
func TestPlausibilityGate(t *testing.T) {
	t.Parallel()
	p := currentElectionsParams()
	p.Letters = []string{"A", "B"}
	sm := currentelections.Flow(p)

	t.Run("plausible", func(t *testing.T) {
		t.Parallel()
		r := execute(t, sm, scenario{})
		mustSucceed(t, r)
		gate := callsOf(r, "plausibility")
		if len(gate) != 1 {
			t.Fatalf("plausibility gate called %d times, want 1", len(gate))
		}
		called := callStates(r)
		at := slices.Index(called, currentelections.StatePlausibility)
		for _, before := range []string{currentelections.StateGateOneSource + " - status", currentelections.StateGateConflicts + " - status"} {
			if last := lastIndex(called, before); last < 0 || last > at {
				t.Errorf("%q (last call %d) must finish before the plausibility gate (call %d)", before, last, at)
			}
		}
		if first := slices.Index(called, currentelections.StateOutcodeLetter); first < at {
			t.Errorf("an outcode file was written (call %d) before the plausibility gate (call %d)", first, at)
		}
		pl := gate[0].Payload
		if pl["dest_prefix"] != p.OutcodePrefix || pl["source_prefix"] != p.JoinedPrefix || pl["list_column"] != currentelections.ListColumn {
			t.Errorf("gate payload = %v", pl)
		}
		if areas, _ := pl["areas"].(map[string]any); areas["bucket"] != "ee-bucket" || areas["key"] != "current_elections.csv" {
			t.Errorf("gate's areas = %v, want the export's CSV", pl["areas"])
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		r := execute(t, sm, scenario{Implausible: true})
		if r.Status != "FAILED" || r.Error != "Refused" || !strings.Contains(r.Cause, "plausibility gate refused") {
			t.Fatalf("execution %s: %s: %s, want FAILED with the gate's refusal", r.Status, r.Error, r.Cause)
		}
		if len(r.SNS) != 1 || !strings.Contains(r.SNS[0].Message, "plausibility gate refused") {
			t.Errorf("SNS = %+v, want one message with the refusal", r.SNS)
		}
		if n := len(callsOf(r, "outcodeSplit")) + len(callsOf(r, "deleteStale")); n != 0 {
			t.Errorf("%d publishing calls after a refusal, want none", n)
		}
		if !slices.Contains(r.Entered, flows.StateNotifyFailure) {
			t.Errorf("entered %q, want the failure notification", r.Entered)
		}
	})

	t.Run("accepted", func(t *testing.T) {
		t.Parallel()
		r := execute(t, sm, scenario{Implausible: true, Input: map[string]any{"accept_change": true}})
		mustSucceed(t, r)
		gate := callsOf(r, "plausibility")
		if len(gate) != 1 {
			t.Fatalf("plausibility gate called %d times, want 1", len(gate))
		}
		if trig, _ := gate[0].Payload["trigger"].(map[string]any); trig["accept_change"] != true {
			t.Errorf("gate's trigger = %v, want the execution input", gate[0].Payload["trigger"])
		}
		if n := len(callsOf(r, "outcodeSplit")); n != len(p.Letters) {
			t.Errorf("%d outcode splits, want %d", n, len(p.Letters))
		}
	})
}
