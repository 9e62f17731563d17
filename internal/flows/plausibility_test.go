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
// every letter's split into the staging prefix, and before the publish; a
// refusal fails the run, notified, with nothing published;
// {"accept_change": true} as the execution's input reaches the gate and the
// run publishes, copying the gate's staged manifest live.
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
		if last := lastIndex(called, currentelections.StateOutcodeLetter); last < 0 || last > at {
			t.Errorf("a letter was split (call %d) after the plausibility gate (call %d)", last, at)
		}
		if pub := slices.Index(called, currentelections.StatePublish); pub < at {
			t.Errorf("the files were published (call %d) before the plausibility gate (call %d)", pub, at)
		}
		pl := gate[0].Payload
		if pl["dest_prefix"] != p.OutcodePrefix || pl["staging_prefix"] != p.StagingPrefix || pl["list_column"] != currentelections.ListColumn {
			t.Errorf("gate payload = %v", pl)
		}
		if letters, _ := pl["letters"].([]any); len(letters) != len(p.Letters) {
			t.Errorf("gate's letters = %v, want the Map's %d results", pl["letters"], len(p.Letters))
		}
		publish := callsOf(r, "publish")
		if len(publish) != 1 {
			t.Fatalf("publish called %d times, want 1", len(publish))
		}
		if m, _ := publish[0].Payload["manifest"].(map[string]any); m["from"] != "addressbase/development/staging/current_elections_manifest/manifest.json" ||
			m["to"] != "addressbase/development/current_elections_manifest/manifest.json" {
			t.Errorf("publish's manifest = %v, want the staged one copied beside the live folder", publish[0].Payload["manifest"])
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
		if n := len(callsOf(r, "publish")); n != 0 {
			t.Errorf("%d publish calls after a refusal, want none", n)
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
		if n := len(callsOf(r, "publish")); n != 1 {
			t.Errorf("%d publish calls, want 1", n)
		}
	})
}
