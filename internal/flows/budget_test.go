package flows_test

import (
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layer/layertest"
)

// The walk's rules on a small machine built from the same pieces as the
// layers': sequential states add, a Parallel takes its slowest branch, a
// Map its rounds, a poll loop its polls, a Choice its slowest exit that
// ends; Catch and Fail are not walked.
func TestEstimateRunRules(t *testing.T) {
	l := layertest.Lambdas
	f := flows.Frame{Lambdas: l, PollSeconds: 5}
	slow := f.Query("slow", map[string]any{"QueryName": "slow"}, "$.q", "")
	fast := f.Query("fast", map[string]any{"QueryName": "fast"}, "$.q", "")
	split := asl.LambdaTask(l[layer.OutcodeSplit], nil)
	split.End = true
	first := flows.LambdaStep(l[layer.ExportBallots], nil, "$.x", "both")
	first.Catch = []asl.Catcher{{ErrorEquals: []string{"States.ALL"}, Next: "failed"}}
	sm := asl.StateMachine{StartAt: "first", States: map[string]asl.State{
		"first":  first,
		"both":   asl.Parallel{Branches: []asl.Branch{slow.Branch(), fast.Branch()}, Next: "map"},
		"map":    asl.Map{ItemsPath: "$.items", MaxConcurrency: 4, ItemProcessor: asl.ItemProcessor{StartAt: "split", States: map[string]asl.State{"split": split}}, Next: "done"},
		"done":   asl.Succeed{},
		"failed": asl.Wait{Seconds: 1000, End: true},
	}}
	lat := flows.Latencies{
		Lambdas: l, LambdaDefault: time.Second, ColdStart: 10 * time.Second,
		Lambda: map[layer.Role]time.Duration{layer.OutcodeSplit: 7 * time.Second, layer.ExportBallots: 2 * time.Second},
		Query:  map[string]time.Duration{"slow": 12 * time.Second, "fast": time.Second},
		Items:  map[string]int{"$.items": 10},
	}
	got, err := flows.EstimateRun(sm, lat)
	if err != nil {
		t.Fatal(err)
	}
	// first: 2 + 10 cold. Parallel: the slow branch: start 1 + 10 cold,
	// 3 polls of 5 s and 2 extra status calls of 1 s, the last status call
	// 1 s. Map: ceil(10/4) = 3 rounds of (7 + 10 cold).
	want := 12*time.Second + (11+15+2+1)*time.Second + 3*17*time.Second
	if got.Total != want {
		t.Errorf("EstimateRun = %v, want %v:\n%s", got.Total, want, got)
	}

	delete(lat.Items, "$.items")
	if _, err := flows.EstimateRun(sm, lat); err == nil {
		t.Error("EstimateRun without the Map's item count: no error")
	}
}
