// Package layers holds one Pulumi component per baked layer.
package layers

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// AddressBaseArgs configures the AddressBase layer.
type AddressBaseArgs struct {
	Core *core.Core
	Vars tables.Vars
}

// AddressBase turns the AddressBase cleaned CSV into a parquet table
// partitioned by the first letter of the postcode.
type AddressBase struct {
	pulumi.ResourceState

	// PartitionedLocation is s3://bucket/prefix/ of addressbase_partitioned.
	PartitionedLocation pulumi.StringOutput
	// StateMachineArn is MakeAddressBasePartitioned's ARN.
	StateMachineArn pulumi.StringOutput
}

// AddressBaseStateMachine is the layer's state machine name.
const AddressBaseStateMachine = "MakeAddressBasePartitioned"

// NewAddressBase creates the AddressBase layer.
func NewAddressBase(ctx *pulumi.Context, name string, args *AddressBaseArgs, opts ...pulumi.ResourceOption) (*AddressBase, error) {
	if args == nil || args.Core == nil {
		return nil, fmt.Errorf("addressbase layer %s: Core is required", name)
	}
	c := &AddressBase{}
	if err := ctx.RegisterComponentResource("dc-data-baker:layers:AddressBase", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	co := args.Core
	buckets := tables.Buckets{AddressBase: co.AddressBase.Name, EE: co.EE.Name}
	raw := tables.AddressBaseCleanedRaw(buckets)
	partitioned := tables.AddressBasePartitioned(buckets)

	target, err := partitioned.Location(args.Vars)
	if err != nil {
		return nil, err
	}
	queries, err := tables.AddressBaseQueries(buckets, args.Vars, core.DatabaseName)
	if err != nil {
		return nil, err
	}
	if err := newCatalog(ctx, name, co, args.Vars, []tables.Table{raw, partitioned}, queries, parent); err != nil {
		return nil, err
	}
	sourcePrefix, err := raw.KeyPrefix(args.Vars)
	if err != nil {
		return nil, err
	}
	targetPrefix, err := partitioned.KeyPrefix(args.Vars)
	if err != nil {
		return nil, err
	}

	fns := sharedFunctions(co)
	sm, err := newStateMachine(ctx, name, AddressBaseStateMachine, fns, co, func(l flows.Lambdas, topic string) asl.StateMachine {
		return flows.AddressBase(flows.AddressBaseParams{
			Lambdas: l, FailureTopicArn: topic, Database: core.DatabaseName,
			SourceTable: raw.Name, TargetTable: partitioned.Name,
			TargetBucket: partitioned.Bucket, TargetPrefix: targetPrefix,
		})
	}, parent)
	if err != nil {
		return nil, err
	}

	bucket := partitioned.Bucket
	if err := applyGrants(ctx, name, []grant{
		{"query", fns.Query, []gofunction.Statement{
			{
				Sid:       "ReadLayerTables",
				Actions:   glueRead,
				Resources: pulumi.StringArray{co.CatalogArn, co.DatabaseArn, co.TableArn(raw.Name), co.TableArn(partitioned.Name)},
			},
			{
				Sid:       "RepairTarget",
				Actions:   glueRepair,
				Resources: pulumi.StringArray{co.CatalogArn, co.DatabaseArn, co.TableArn(partitioned.Name)},
			},
			{Sid: "ListAddressBaseBucket", Actions: []string{"s3:ListBucket", "s3:GetBucketLocation"}, Resources: pulumi.StringArray{s3Bucket(bucket)}},
			{
				Sid: "ReadSourceAndTarget", Actions: []string{"s3:GetObject"},
				Resources:      pulumi.StringArray{s3Objects(bucket, sourcePrefix), s3Objects(bucket, targetPrefix)},
				WildcardReason: objectsUnderPrefix,
			},
			{
				Sid: "WriteTarget", Actions: []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
				Resources: pulumi.StringArray{s3Objects(bucket, targetPrefix)}, WildcardReason: objectsUnderPrefix,
			},
		}},
		{"empty-prefix", fns.EmptyPrefix, []gofunction.Statement{
			{Sid: "ListAddressBaseBucket", Actions: []string{"s3:ListBucket"}, Resources: pulumi.StringArray{s3Bucket(bucket)}},
			{Sid: "EmptyTarget", Actions: []string{"s3:DeleteObject"}, Resources: pulumi.StringArray{s3Objects(bucket, targetPrefix)}, WildcardReason: objectsUnderPrefix},
		}},
		{"table-location", fns.TableLocation, []gofunction.Statement{
			{Sid: "ReadSourceTable", Actions: []string{"glue:GetTable"}, Resources: pulumi.StringArray{co.CatalogArn, co.DatabaseArn, co.TableArn(raw.Name)}},
		}},
	}); err != nil {
		return nil, err
	}

	c.PartitionedLocation = pulumi.String(target).ToStringOutput()
	c.StateMachineArn = sm.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"partitionedLocation": c.PartitionedLocation,
		"stateMachineArn":     c.StateMachineArn,
	})
}
