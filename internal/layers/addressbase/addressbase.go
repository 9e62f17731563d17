// Package addressbase is the AddressBase layer: the AddressBase cleaned CSV
// as a parquet table partitioned by the first letter of the postcode, with
// quality gates against the source.
package addressbase

import (
	"github.com/DemocracyClub/dc-data-baker/internal/validate"

	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// StateMachineName is the layer's state machine, before layer.Names adds
// the environment.
const StateMachineName = "MakeAddressBasePartitioned"

// The state machines of the layers that read addressbase_partitioned,
// named here rather than imported: those layers import this one.
const (
	currentElectionsMachine = "MakeCurrentElectionsParquet"
	boundaryReviewsMachine  = "MakeBoundaryReviewsParquet"
)

// The layer's named queries, as its state machine starts them.
const (
	QueryPartition     = "partition-addressbase-cleaned"
	QueryGateOneSource = "addressbase-gate-one-source"
	QueryGateUPRNs     = "addressbase-gate-uprns"
)

// Raw is the AddressBase cleaned CSV: no header row.
func Raw(b tables.Buckets) tables.Table {
	return tables.Table{
		Name:        "addressbase_cleaned_raw",
		Description: "AddressBase cleaned CSV as produced for WDIV (no header row)",
		Bucket:      b.AddressBase,
		Prefix:      "addressbase/{release}/addressbase_cleaned/",
		Format:      tables.CSV,
		Columns: []tables.Column{
			{Name: "uprn", Type: "string", Comment: "kept as a string: leading zeros and ONSPD filler rows"},
			tables.String("address"), tables.String("postcode"),
			{Name: "location", Type: "string", Comment: "EWKT: SRID=4326;POINT(lon lat)"},
			tables.String("address_type"),
		},
	}
}

// Partitioned is AddressBase as parquet, partitioned by first letter.
func Partitioned(b tables.Buckets) tables.Table {
	return tables.Table{
		Name:        PartitionedName,
		Description: "AddressBase as parquet, partitioned by the first letter of the postcode",
		Bucket:      b.AddressBase,
		Prefix:      "addressbase/{environment}/addressbase_partitioned/",
		Format:      tables.Parquet,
		Columns: []tables.Column{
			tables.String("outcode"), tables.String("uprn"), tables.String("address"), tables.String("postcode"),
			{Name: "longitude", Type: "double"}, {Name: "latitude", Type: "double"},
			{Name: "addressbase_source", Type: "string", Comment: "s3:// URI of the source prefix"},
		},
		PartitionKeys: tables.FirstLetter,
		Query:         QueryPartition,
		RunScoped:     true,
	}
}

// Spec declares the layer for a stack.
func Spec(s layer.Settings) (layer.Spec, error) {
	raw, partitioned := Raw(s.Buckets), Partitioned(s.Buckets)
	staging := partitioned.Staging()
	home, err := partitioned.Location(s.Vars)
	if err != nil {
		return layer.Spec{}, err
	}
	runs := home + tables.RunsFolder
	sourcePrefix, err := raw.KeyPrefix(s.Vars)
	if err != nil {
		return layer.Spec{}, err
	}
	targetPrefix, err := partitioned.KeyPrefix(s.Vars)
	if err != nil {
		return layer.Spec{}, err
	}
	db, bucket := s.Names.Database, partitioned.Bucket
	return layer.Spec{
		Name:         "addressbase",
		Type:         "AddressBase",
		Output:       "addressbase",
		StateMachine: s.Names.StateMachine(StateMachineName),
		Vars:         s.Vars,
		Tables:       []tables.Table{raw, partitioned, staging},
		Queries: []layer.NamedQuery{
			{Name: QueryPartition, Template: "addressbase/partition-addressbase-cleaned", Values: validate.With(map[string]string{"database": db, "source_table": raw.Name, "runs_location": runs})},
			// The gates read the staging twin: what this run wrote.
			{Name: QueryGateOneSource, Template: "gates/gate-one-source", Values: map[string]string{"database": db, "table": staging.Name}},
			{Name: QueryGateUPRNs, Template: "gates/gate-uprns", Values: map[string]string{"database": db, "source_table": raw.Name, "target_table": staging.Name}},
		},
		Calls: []layer.Role{layer.Guard, layer.TableLocation, layer.EmptyPrefix, layer.Query},
		// CurrentElections and BoundaryReviews read addressbase_partitioned,
		// which this layer switches to a new run and whose older runs it
		// deletes: their runs must not overlap.
		Conflicts: []string{s.Names.StateMachine(currentElectionsMachine), s.Names.StateMachine(boundaryReviewsMachine)},
		Grants: []layer.Grant{
			{Role: layer.Query, Sid: "ReadLayerTables", Actions: layer.GlueRead, Resources: []layer.Resource{layer.Catalog, layer.Database, layer.Table(raw.Name), layer.Table(partitioned.Name), layer.Table(staging.Name)}},
			layer.List(layer.Query, "ListAddressBaseBucket", bucket, sourcePrefix, targetPrefix),
			layer.BucketLocation(layer.Query, "BucketLocation", bucket),
			{
				Role: layer.Query, Sid: "ReadSourceAndTarget", Actions: []string{"s3:GetObject"},
				Resources:      []layer.Resource{layer.Objects(bucket, sourcePrefix), layer.Objects(bucket, targetPrefix)},
				WildcardReason: layer.ObjectsUnderPrefix,
			},
			{
				Role: layer.Query, Sid: "WriteTarget", Actions: []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
				Resources: []layer.Resource{layer.Objects(bucket, targetPrefix)}, WildcardReason: layer.ObjectsUnderPrefix,
			},
			layer.List(layer.EmptyPrefix, "ListAddressBaseBucket", bucket, targetPrefix),
			{Role: layer.EmptyPrefix, Sid: "DeleteOlderRuns", Actions: []string{"s3:DeleteObject"}, Resources: []layer.Resource{layer.Objects(bucket, targetPrefix)}, WildcardReason: layer.ObjectsUnderPrefix},
			{Role: layer.TableLocation, Sid: "ReadSourceTable", Actions: []string{"glue:GetTable"}, Resources: []layer.Resource{layer.Catalog, layer.Database, layer.Table(raw.Name)}},
			layer.SwitchGrant("SwitchTarget", partitioned),
		},
		Flow: func(rt layer.Runtime) asl.StateMachine {
			return Flow(FlowParams{
				Frame: flows.FrameFor(rt), Database: db,
				SourceTable: raw.Name, TargetTable: partitioned.Name,
				TargetBucket: bucket, TargetPrefix: targetPrefix,
			})
		},
		Locations: []layer.Location{{Name: "addressbasePartitionedLocation", Bucket: bucket, Prefix: targetPrefix}},
	}, nil
}
