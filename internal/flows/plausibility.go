package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
)

// PlausibilityGate is the one state a layer inserts before its outcode
// publish (OutcodeStates): plausibility_gate checks the files the split
// would write against the last published manifest and fails the run when
// the change is implausible, unless the execution's input was
// {"accept_change": true}. areasPath is the JSONPath of the export's
// {bucket, key} of the areas CSV (the ballots), "" when there is none.
// Zero thresholds take manifest.DefaultThresholds.
func (f Frame) PlausibilityGate(o Outcodes, areasPath string, th manifest.Thresholds, next string) asl.Task {
	payload := map[string]any{
		"bucket":        o.Bucket,
		"source_prefix": o.JoinedPrefix,
		"dest_prefix":   o.OutcodePrefix,
		"list_column":   o.ListColumn,
		"letters.$":     "$.config.letters",
		// The execution's input, kept by the frame's first state.
		"trigger.$":  "$.trigger",
		"thresholds": th.OrDefault(),
	}
	if areasPath != "" {
		// Only the object's location: the export's other fields (rows) are
		// not the gate's.
		payload["areas"] = map[string]any{"bucket.$": areasPath + ".bucket", "key.$": areasPath + ".key"}
	}
	t := LambdaStep(f.Lambdas[layer.Plausibility], payload, "$.plausibility", next)
	t.Comment = "Refuse an implausible change (no address inside any area; the share of UPRNs with items or of changed outcodes moving more than a threshold from the last manifest) unless the execution's input has accept_change: true; write the run's manifest."
	return t
}
