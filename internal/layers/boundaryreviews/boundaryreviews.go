// Package boundaryreviews is the BoundaryReviews layer: every address with
// the boundary reviews that affect it and how (docs/data-contract.md,
// "Boundary reviews"), published as one parquet file per outcode.
// Spec declares it for the cloud; Bake is its local engine (databaker bake
// --boundary-reviews).
package boundaryreviews

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
	"github.com/DemocracyClub/dc-data-baker/internal/validate"
)

// StateMachineName is the layer's state machine, before layer.Names adds
// the environment.
const StateMachineName = "MakeBoundaryReviewsParquet"

// The layer's named queries, as its state machine starts them.
const (
	QueryChanges             = "boundary-review-address-changes"
	QueryJoinLetter          = "uprn-to-boundary-reviews-first-letter"
	QueryGateOneSource       = "boundary-reviews-gate-one-source"
	QueryGateUPRNs           = "boundary-reviews-gate-uprns"
	QueryGateRawUPRNs        = "boundary-reviews-gate-raw-uprns"
	QueryGateConflicts       = "boundary-reviews-gate-conflicting-duplicates"
	BoundaryChangeSetChanged = "boundary_change_set_changed"
)

// The layer's tables and folders.
const (
	ReviewsName = "current_boundary_reviews"
	// ReviewsFile is the export's object under the reviews table's prefix.
	ReviewsFile = "current_boundary_reviews.csv"
	ChangesName = "boundary_review_address_changes"
	JoinedName  = "current_boundary_reviews_joined_to_address_base"
	// ListColumn is the joined table's list<string> column, kept under the
	// same name in the per-outcode files.
	ListColumn     = "boundary_reviews"
	OutputFolder   = "current_boundary_reviews_parquet"
	OutputLocation = "boundaryReviewsOutputLocation"
)

// Reviews is the export of EveryElection's boundary reviews, one row per
// geometry piece, with a header row (reviewcsv.Header).
//
// Every environment, production included, has its own folder: the project
// writes this file itself (EveryElection publishes none), so no stack can
// overwrite another's, and none needs a configurable prefix.
func Reviews(b tables.Buckets) tables.Table {
	cols := []tables.Column{}
	for _, c := range []string{
		"boundary_review_id", "slug", "status", "latest_event", "consultation_url",
		"legislation_title", "effective_date", "organisation_name",
		"organisation_official_name", "organisation_gss",
	} {
		cols = append(cols, tables.String(c))
	}
	cols = append(cols,
		tables.Column{Name: "divisionset_generation", Type: "string", Comment: "old, new or organisation"},
		tables.String("divisionset_id"), tables.String("divisionset_pmtiles_url"),
		tables.String("division_type"), tables.String("division_slug"),
		tables.String("division_name"), tables.String("division_official_identifier"),
		tables.Column{Name: "geometry", Type: "string", Comment: "WKT (EPSG:4326), no SRID"},
	)
	return tables.Table{
		Name:        ReviewsName,
		Description: "Current boundary reviews with their old and new division (or organisation) geometries as WKT, from EveryElection",
		Bucket:      b.EE,
		Prefix:      "boundary-reviews-{environment}/",
		Format:      tables.CSV,
		Columns:     cols,
		SkipHeader:  true,
	}
}

// Changes is the join per review, division type and address: the
// address's old and new division and the change between them, or the
// review alone (division columns NULL) inside an organisation's area.
func Changes(b tables.Buckets) tables.Table {
	cols := []tables.Column{
		tables.String("uprn"), {Name: "longitude", Type: "double"}, {Name: "latitude", Type: "double"},
		{Name: "boundary_review_id", Type: "bigint"},
	}
	for _, c := range []string{
		"slug", "status", "consultation_url", "legislation_title", "effective_date",
		"organisation_name", "organisation_official_name", "organisation_gss", "division_type",
		"old_division_slug", "old_division_name", "old_division_official_identifier", "old_divisionset_pmtiles_url",
		"new_division_slug", "new_division_name", "new_division_official_identifier", "new_divisionset_pmtiles_url",
	} {
		cols = append(cols, tables.String(c))
	}
	cols = append(cols, tables.Column{Name: "change_scenario", Type: "string", Comment: "NO_CHANGE, NAME_CHANGED, BOUNDARY_CHANGED or BOTH_CHANGED; NULL for an organisation-only review"})
	return tables.Table{
		Name:          ChangesName,
		Description:   "Every address inside a boundary review's divisions or area: one row per review, division type and address",
		Bucket:        b.AddressBase,
		Prefix:        "addressbase/{environment}/" + ChangesName + "/",
		Format:        tables.Parquet,
		Columns:       cols,
		PartitionKeys: tables.FirstLetter,
		Query:         QueryChanges,
		RunScoped:     true,
	}
}

// Joined is every address with its boundary reviews as JSON strings,
// written by each run under its own prefix.
func Joined(b tables.Buckets) tables.Table {
	return layer.JoinedTable(b, JoinedName,
		"Every address with its boundary reviews, one compact JSON string per review",
		ListColumn, "sorted by boundary_review_id, [] when none", QueryJoinLetter)
}

// Output is where the per-outcode parquet files go: not a Glue table, but
// located like one.
func Output(b tables.Buckets) tables.Table { return layer.OutcodeFolder(b, OutputFolder) }

// Spec declares the layer for a stack.
func Spec(s layer.Settings) (layer.Spec, error) {
	b := s.Buckets
	reviews, changes, joined, output, staging := Reviews(b), Changes(b), Joined(b), Output(b), layer.OutcodeStaging(b, OutputFolder)
	changesTwin, joinedTwin := changes.Staging(), joined.Staging()
	addresses, raw := addressbase.Partitioned(b), addressbase.Raw(b)
	prefix := map[string]string{}
	runs := map[string]string{} // a run-scoped table's runs/ folder, as s3://
	for _, t := range []tables.Table{raw, reviews, addresses, changes, joined, output, staging} {
		p, err := t.KeyPrefix(s.Vars)
		if err != nil {
			return layer.Spec{}, fmt.Errorf("boundary reviews layer: %w", err)
		}
		prefix[t.Name], runs[t.Name] = p, "s3://"+t.Bucket+"/"+p+tables.RunsFolder
	}
	if s.Schedule == "" {
		return layer.Spec{}, fmt.Errorf("boundary reviews layer: a nightly schedule is required")
	}
	db, ab, ee := s.Names.Database, b.AddressBase, b.EE
	reviewsKey := prefix[reviews.Name] + ReviewsFile
	export, exportGrants := layer.EEExport(layer.ExportBoundaryReviews, "export_boundary_reviews",
		"Exports EveryElection's current boundary reviews with their division geometries to the reviews CSV", ee, reviewsKey, s.EEDatabase)
	// Which reviews besides the contract's rule: stack config, never code.
	export.Env["MAP_ONLY"] = strconv.FormatBool(s.Selection.ReviewsMapOnly)
	export.Env["COMPLETED_LOOKBACK_DAYS"] = strconv.Itoa(s.Selection.ReviewsLookbackDays)
	gate := func(name, template string, values map[string]string) layer.NamedQuery {
		values["database"] = db
		return layer.NamedQuery{Name: name, Template: "gates/" + template, Values: values}
	}
	return layer.Spec{
		Name:         "boundary-reviews",
		Type:         "BoundaryReviews",
		Output:       "boundaryReviews",
		StateMachine: s.Names.StateMachine(StateMachineName),
		Vars:         s.Vars,
		Tables:       []tables.Table{reviews, changes, changesTwin, joined, joinedTwin},
		Queries: []layer.NamedQuery{
			{Name: QueryChanges, Template: "boundaryreviews/boundary-review-address-changes", Values: validate.With(map[string]string{
				"database": db, "reviews_table": reviews.Name, "addressbase_table": addresses.Name, "runs_location": runs[changes.Name],
			})},
			// The aggregation reads this run's changes through their
			// staging twin, which the run points at its prefix first.
			{Name: QueryJoinLetter, Template: "boundaryreviews/uprn-to-boundary-reviews-first-letter", Values: map[string]string{
				"database": db, "changes_table": changesTwin.Name, "addressbase_table": addresses.Name, "runs_location": runs[joined.Name],
			}},
			// The gates read the joined staging twin: what this run wrote.
			gate(QueryGateOneSource, "gate-one-source", map[string]string{"table": joinedTwin.Name}),
			gate(QueryGateUPRNs, "gate-uprns", map[string]string{"source_table": addresses.Name, "target_table": joinedTwin.Name}),
			gate(QueryGateRawUPRNs, "gate-uprns", map[string]string{"source_table": raw.Name, "target_table": joinedTwin.Name}),
			gate(QueryGateConflicts, "gate-conflicting-duplicates", map[string]string{"table": joinedTwin.Name, "list_column": ListColumn}),
		},
		Functions: append([]layer.Function{export}, layer.OutcodeFunctions()...),
		Calls:     []layer.Role{layer.Guard, layer.TableLocation, layer.EmptyPrefix, layer.Query, layer.ExportBoundaryReviews, layer.OutcodeSplit, layer.Publish},
		// This layer reads addressbase_partitioned, which AddressBase
		// switches to a new run and whose older runs it deletes: their runs
		// must not overlap.
		Conflicts: []string{s.Names.StateMachine(addressbase.StateMachineName)},
		Grants: slices.Concat(exportGrants, []layer.Grant{
			{
				Role: layer.Query, Sid: "ReadLayerTables", Actions: layer.GlueRead,
				Resources: []layer.Resource{
					layer.Catalog, layer.Database, layer.Table(raw.Name), layer.Table(reviews.Name), layer.Table(addresses.Name),
					layer.Table(changes.Name), layer.Table(changesTwin.Name), layer.Table(joined.Name), layer.Table(joinedTwin.Name),
				},
			},
			layer.SwitchGrant("SwitchChanges", changes),
			layer.SwitchGrant("SwitchJoined", joined),
			layer.List(layer.Query, "ListAddressBase", ab, prefix[raw.Name], prefix[addresses.Name], prefix[changes.Name], prefix[joined.Name]),
			layer.List(layer.Query, "ListReviews", ee, prefix[reviews.Name]),
			layer.BucketLocation(layer.Query, "BucketLocations", ab, ee),
			{
				Role: layer.Query, Sid: "ReadInputs", Actions: []string{"s3:GetObject"},
				Resources: []layer.Resource{
					layer.Objects(ee, prefix[reviews.Name]), layer.Objects(ab, prefix[raw.Name]), layer.Objects(ab, prefix[addresses.Name]),
					layer.Objects(ab, prefix[changes.Name]), layer.Objects(ab, prefix[joined.Name]),
				},
				WildcardReason: layer.ObjectsUnderPrefix,
			},
			{
				Role: layer.Query, Sid: "WriteLayerTables", Actions: []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
				Resources: []layer.Resource{layer.Objects(ab, prefix[changes.Name]), layer.Objects(ab, prefix[joined.Name])}, WildcardReason: layer.ObjectsUnderPrefix,
			},
			layer.List(layer.EmptyPrefix, "ListAddressBaseBucket", ab, prefix[changes.Name], prefix[joined.Name]),
			{
				Role: layer.EmptyPrefix, Sid: "DeleteOlderRuns", Actions: []string{"s3:DeleteObject"},
				Resources: []layer.Resource{layer.Objects(ab, prefix[changes.Name]), layer.Objects(ab, prefix[joined.Name])}, WildcardReason: layer.ObjectsUnderPrefix,
			},
		}, layer.OutcodeGrants(ab, prefix[joined.Name], prefix[staging.Name], prefix[output.Name])),
		Flow: func(rt layer.Runtime) asl.StateMachine {
			return Flow(FlowParams{
				Frame: flows.FrameFor(rt), Database: db, ChangesTable: changes.Name, JoinedTable: joined.Name,
				Bucket: ab, ChangesPrefix: prefix[changes.Name], JoinedPrefix: prefix[joined.Name], StagingPrefix: prefix[staging.Name], OutcodePrefix: prefix[output.Name],
			})
		},
		Triggers: &layer.Triggers{
			Schedule:     s.Schedule,
			Events:       []string{BoundaryChangeSetChanged, currentelections.ElectionsSetChanged},
			DelaySeconds: s.TriggerDelaySeconds,
			Message:      `{"rebuild":"boundary-reviews"}`,
		},
		Locations: []layer.Location{{Name: OutputLocation, Bucket: ab, Prefix: prefix[output.Name]}},
	}, nil
}
