package flows

import (
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/gluetable"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// RunScoped is a table that each run writes under its own prefix,
// <Prefix>runs/<execution name>/, gates through its staging twin, and
// switches to only when the gates have passed (tables.Table.RunScoped).
type RunScoped struct {
	Database, Table string
	// Bucket and Prefix are the table's home: the run prefixes are below.
	Bucket, Prefix string
}

// RunLocation is the intrinsic that gives this run's s3:// prefix.
func (r RunScoped) RunLocation() string {
	// States.Format escapes ' { } and \ in its literal; none of them is
	// valid in a bucket name or in the prefixes the tables declare.
	return "States.Format('" + tables.RunPrefix("s3://"+r.Bucket+"/"+r.Prefix, "{}") + "', $$.Execution.Name)"
}

// RunKeyPrefix is the intrinsic that gives this run's key prefix in Bucket.
func (r RunScoped) RunKeyPrefix() string {
	return "States.Format('" + tables.RunPrefix(r.Prefix, "{}") + "', $$.Execution.Name)"
}

// RunName is the path of the execution's name, which a query that writes
// the table takes as its {run} placeholder.
const RunName = "$$.Execution.Name"

// RunPlaceholder is that placeholder's name in the SQL templates.
const RunPlaceholder = "run"

// PointStaging points the table's staging twin at this run's prefix, so the
// gates read what the run writes.
func (f Frame) PointStaging(r RunScoped, next string) asl.Task {
	t := LambdaStep(f.Lambdas[layer.TableLocation], map[string]any{
		"database": r.Database, "table": tables.Table{Name: r.Table}.Staging().Name, "location.$": r.RunLocation(),
	}, "$.staging", next)
	t.Comment = "Point " + r.Table + "'s staging twin at this run's prefix, for the gates."
	return t
}

// SwitchStates point the table at this run's prefix in one Glue write, so
// readers see the old run or the new one, never a mix; then delete the run
// prefixes (and anything else under the table's home) other than this run's
// and the one the table pointed at before, which is kept for a rollback.
func (f Frame) SwitchStates(r RunScoped, switchState, cleanState, next string) map[string]asl.State {
	sw := LambdaStep(f.Lambdas[layer.TableLocation], map[string]any{
		"database": r.Database, "table": r.Table, "location.$": r.RunLocation(),
	}, "$.switched", cleanState)
	sw.Comment = "The gates passed: point " + r.Table + " at this run's prefix."
	out := "$.switched.Payload." + r.Table
	clean := LambdaStep(f.Lambdas[layer.EmptyPrefix], map[string]any{
		"bucket": r.Bucket, "prefix": r.Prefix,
		"keep.$": "States.Array(" + out + "_location, " + out + gluetable.PreviousSuffix + ")",
	}, "$.cleaned", next)
	clean.Comment = "Delete " + r.Table + "'s older runs, keeping this one and the previous one (for a rollback)."
	return map[string]asl.State{switchState: sw, cleanState: clean}
}
