package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

// Plausibility is a layer's plausibility gate state (Outcodes.Plausibility).
type Plausibility struct {
	// State names it.
	State string
	// AreasPath is the JSONPath of the export's {bucket, key} of the areas
	// CSV (the ballots), "" when there is none.
	AreasPath string
	// Thresholds are the gate's; zero fields take
	// manifest.DefaultThresholds.
	Thresholds manifest.Thresholds
}

// plausibilityGate is the state between the split Map and the publish:
// plausibility_gate reads the stats of the staged files the Map's letters
// wrote,
// compares them with the last published manifest and fails the run when
// the change is implausible, unless the execution's input was
// {"accept_change": true}; it stages the run's manifest for the publish.
func (f Frame) plausibilityGate(o Outcodes, g Plausibility) asl.Task {
	payload := map[string]any{
		"bucket":         o.Bucket,
		"staging_prefix": o.StagingPrefix,
		"dest_prefix":    o.OutcodePrefix,
		"stats_prefix":   manifest.StatsPrefix(o.StagingPrefix),
		"list_column":    o.ListColumn,
		"letters.$":      "$.letters",
		// The execution's input, kept by the frame's first state.
		"trigger.$":  "$.trigger",
		"thresholds": g.Thresholds.OrDefault(),
	}
	if g.AreasPath != "" {
		// Only the object's location: the export's other fields (rows) are
		// not the gate's.
		payload["areas"] = map[string]any{"bucket.$": g.AreasPath + ".bucket", "key.$": g.AreasPath + ".key"}
	}
	t := LambdaStep(f.Lambdas[layer.Plausibility], payload, "$.plausibility", o.Publish)
	t.Comment = "Refuse an implausible change (no address inside any area; the share of UPRNs with items or of changed outcodes moving more than a threshold from the last manifest) unless the execution's input has accept_change: true; stage the run's manifest for the publish."
	return t
}
