// Package core deploys what every layer shares: the Athena results bucket and
// workgroup, the Glue database, the failure topic and references to the
// buckets the project reads and writes but does not own.
package core

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/athena"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/glue"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lakeformation"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/components/storage"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// CoreArgs configures Core.
type CoreArgs struct {
	Environment string
	// ResultsExpireDays is how long Athena results are kept.
	ResultsExpireDays int
	// RawHistoryDays is how long the exports' dated copies are kept.
	RawHistoryDays int
	// BytesScannedCutoff stops any query that scans more than this.
	BytesScannedCutoff int
	// FailureEmail, if set, is subscribed to the failure topic.
	FailureEmail string
	// LogRetentionDays is the shared Lambdas' log retention.
	LogRetentionDays int
	// AddressBaseBucket and EEBucket are looked up by name, never created.
	AddressBaseBucket string
	EEBucket          string
	// ExternalBucketKMSKeyArns encrypt those buckets, if they use SSE-KMS.
	ExternalBucketKMSKeyArns []string
	// LakeFormation grants the functions Lake Formation permissions on the
	// database, for an account whose catalog Lake Formation governs.
	LakeFormation bool
}

// ExternalBucket is a bucket the project uses but does not own.
type ExternalBucket struct {
	Name string
	Arn  string
}

// Core is the shared part of the stack.
type Core struct {
	pulumi.ResourceState

	ResultsBucket     *storage.PrivateBucket
	ResultsBucketName pulumi.StringOutput
	ResultsBucketArn  pulumi.StringOutput
	// HistoryBucket keeps a dated copy of every export's file for
	// RawHistoryDays.
	HistoryBucket     *storage.PrivateBucket
	HistoryBucketName pulumi.StringOutput
	HistoryBucketArn  pulumi.StringOutput
	WorkgroupName     pulumi.StringOutput
	WorkgroupArn      pulumi.StringOutput
	DatabaseName      pulumi.StringOutput
	FailureTopicArn   pulumi.StringOutput
	// FailureTopicKeyArn is the KMS key that encrypts the failure topic;
	// whoever publishes to the topic needs FailureKeyUse on it.
	FailureTopicKeyArn pulumi.StringOutput

	// Names are the stack's chosen resource names.
	Names layer.Names
	// LogRetentionDays is every function's log retention.
	LogRetentionDays int
	// AccountID and Region are where the stack deploys.
	AccountID string
	Region    string
	// CatalogArn and DatabaseArn scope Glue permissions.
	CatalogArn  pulumi.StringOutput
	DatabaseArn pulumi.StringOutput
	// Functions are the shared Lambdas, by role.
	Functions map[layer.Role]*gofunction.GoFunction

	Database    *glue.CatalogDatabase
	Workgroup   *athena.Workgroup
	AddressBase ExternalBucket
	EE          ExternalBucket

	externalKeys []string
}

// NewCore creates Core.
func NewCore(ctx *pulumi.Context, name string, args *CoreArgs, opts ...pulumi.ResourceOption) (*Core, error) {
	if args == nil {
		return nil, fmt.Errorf("core %s: args are required", name)
	}
	c := &Core{}
	if err := ctx.RegisterComponentResource("dc-data-baker:core:Core", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	c.Names = layer.NamesFor(args.Environment)
	c.LogRetentionDays = args.LogRetentionDays
	c.externalKeys = args.ExternalBucketKMSKeyArns

	caller, err := aws.GetCallerIdentity(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("core %s: caller identity: %w", name, err)
	}
	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("core %s: region: %w", name, err)
	}
	c.AccountID, c.Region = caller.AccountId, region.Name
	c.CatalogArn = pulumi.Sprintf("arn:aws:glue:%s:%s:catalog", c.Region, c.AccountID)

	if c.AddressBase, err = lookupBucket(ctx, args.AddressBaseBucket, parent); err != nil {
		return nil, err
	}
	if c.EE, err = lookupBucket(ctx, args.EEBucket, parent); err != nil {
		return nil, err
	}

	// Athena's results are scratch data that expire anyway, so the bucket
	// goes with the stack rather than blocking `pulumi destroy`.
	c.ResultsBucket, err = storage.NewPrivateBucket(ctx, name+"-results", &storage.PrivateBucketArgs{
		ExpireDays: args.ResultsExpireDays, ForceDestroy: true,
	}, parent)
	if err != nil {
		return nil, err
	}
	c.ResultsBucketName, c.ResultsBucketArn = c.ResultsBucket.Name, c.ResultsBucket.Arn

	// The raw exports' history lives in a bucket of the stack's own: the EE
	// bucket is not ours to put a lifecycle rule on, and the results
	// bucket expires everything after a week. One whole-bucket rule
	// expires it; production's refuses `pulumi destroy` while it holds
	// history, other stacks' go with the stack.
	if args.RawHistoryDays < 1 {
		return nil, fmt.Errorf("core %s: RawHistoryDays %d must be at least 1", name, args.RawHistoryDays)
	}
	c.HistoryBucket, err = storage.NewPrivateBucket(ctx, name+"-raw-history", &storage.PrivateBucketArgs{
		ExpireDays: args.RawHistoryDays, ForceDestroy: args.Environment != "production",
	}, parent)
	if err != nil {
		return nil, err
	}
	c.HistoryBucketName, c.HistoryBucketArn = c.HistoryBucket.Name, c.HistoryBucket.Arn

	c.Workgroup, err = athena.NewWorkgroup(ctx, name+"-workgroup", &athena.WorkgroupArgs{
		Name:        pulumi.String(c.Names.Workgroup),
		Description: pulumi.String("dc-data-baker queries; configuration enforced"),
		Configuration: &athena.WorkgroupConfigurationArgs{
			EnforceWorkgroupConfiguration:   pulumi.Bool(true),
			PublishCloudwatchMetricsEnabled: pulumi.Bool(true),
			BytesScannedCutoffPerQuery:      pulumi.Int(args.BytesScannedCutoff),
			EngineVersion: &athena.WorkgroupConfigurationEngineVersionArgs{
				SelectedEngineVersion: pulumi.String("Athena engine version 3"),
			},
			ResultConfiguration: &athena.WorkgroupConfigurationResultConfigurationArgs{
				OutputLocation: pulumi.Sprintf("s3://%s/athena-results/", c.ResultsBucketName),
				EncryptionConfiguration: &athena.WorkgroupConfigurationResultConfigurationEncryptionConfigurationArgs{
					EncryptionOption: pulumi.String("SSE_S3"),
				},
			},
		},
		// The name is fixed, so a replacement must free it first.
	}, parent, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	c.WorkgroupName, c.WorkgroupArn = c.Workgroup.Name, c.Workgroup.Arn

	c.Database, err = glue.NewCatalogDatabase(ctx, name+"-database", &glue.CatalogDatabaseArgs{
		Name:        pulumi.String(c.Names.Database),
		Description: pulumi.String("Tables defined by dc-data-baker"),
	}, parent)
	if err != nil {
		return nil, err
	}
	c.DatabaseName, c.DatabaseArn = c.Database.Name, c.Database.Arn

	topic, err := c.newFailureTopic(ctx, name, args.Environment, parent)
	if err != nil {
		return nil, fmt.Errorf("core %s: %w", name, err)
	}
	c.FailureTopicArn = topic.Arn
	if args.FailureEmail != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-failures-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(args.FailureEmail),
		}, parent); err != nil {
			return nil, err
		}
	}

	if err := c.newFunctions(ctx, name, args.LakeFormation, parent); err != nil {
		return nil, fmt.Errorf("core %s: %w", name, err)
	}
	if args.LakeFormation {
		if err := c.grantLakeFormation(ctx, name, parent); err != nil {
			return nil, fmt.Errorf("core %s: %w", name, err)
		}
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"resultsBucketName": c.ResultsBucketName,
		"resultsBucketArn":  c.ResultsBucketArn,
		"workgroupName":     c.WorkgroupName,
		"databaseName":      c.DatabaseName,
		"failureTopicArn":   c.FailureTopicArn,
	})
}

// grantLakeFormation gives the functions that use the catalog the Lake
// Formation permissions that IAM alone no longer grants once Lake Formation
// governs the database: the query function reads, writes and repairs every
// table of the project's database (and only that database), and the
// table-location function describes them.
func (c *Core) grantLakeFormation(ctx *pulumi.Context, name string, parent pulumi.ResourceOption) error {
	grants := []struct {
		suffix string
		fn     *gofunction.GoFunction
		tables []string
	}{
		{"query", c.Functions[layer.Query], []string{"SELECT", "INSERT", "ALTER", "DESCRIBE"}},
		{"table-location", c.Functions[layer.TableLocation], []string{"DESCRIBE"}},
	}
	for _, g := range grants {
		if _, err := lakeformation.NewPermissions(ctx, name+"-lf-"+g.suffix+"-database", &lakeformation.PermissionsArgs{
			Principal:   g.fn.RoleArn,
			Permissions: pulumi.ToStringArray([]string{"DESCRIBE"}),
			Database:    &lakeformation.PermissionsDatabaseArgs{Name: c.DatabaseName},
		}, parent); err != nil {
			return err
		}
		if _, err := lakeformation.NewPermissions(ctx, name+"-lf-"+g.suffix+"-tables", &lakeformation.PermissionsArgs{
			Principal:   g.fn.RoleArn,
			Permissions: pulumi.ToStringArray(g.tables),
			Table:       &lakeformation.PermissionsTableArgs{DatabaseName: c.DatabaseName, Wildcard: pulumi.Bool(true)},
		}, parent); err != nil {
			return err
		}
	}
	return nil
}

// lookupBucket reads an existing bucket: the program never creates, changes
// or deletes it.
func lookupBucket(ctx *pulumi.Context, bucket string, parent pulumi.ResourceOrInvokeOption) (ExternalBucket, error) {
	if bucket == "" {
		return ExternalBucket{}, fmt.Errorf("external bucket name is empty")
	}
	got, err := s3.LookupBucket(ctx, &s3.LookupBucketArgs{Bucket: bucket}, parent)
	if err != nil {
		return ExternalBucket{}, fmt.Errorf("look up bucket %s: %w", bucket, err)
	}
	return ExternalBucket{Name: got.Bucket, Arn: got.Arn}, nil
}

// Arn is the ARN of a resource that a layer names: Glue, SSM and state
// machine ARNs in the stack's account and region; S3 ARNs as declared.
func (c *Core) Arn(r layer.Resource) pulumi.StringInput {
	switch r.Kind {
	case layer.GlueCatalog:
		return c.CatalogArn
	case layer.GlueDatabase:
		return c.DatabaseArn
	case layer.GlueTable:
		return pulumi.Sprintf("arn:aws:glue:%s:%s:table/%s/%s", c.Region, c.AccountID, c.Names.Database, r.Name)
	case layer.SSMParameter:
		return pulumi.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", c.Region, c.AccountID, strings.TrimLeft(r.Name, "/"))
	case layer.StateMachine:
		return pulumi.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", c.Region, c.AccountID, r.Name)
	case layer.Workgroup:
		return c.WorkgroupArn
	case layer.RawHistory:
		return pulumi.Sprintf("%s/%s", c.HistoryBucketArn, r.Name)
	}
	return pulumi.String(r.Name)
}

// ExternalBucketKeys are the statements a role needs to read or write
// objects in the buckets the project does not own when they use SSE-KMS:
// none when they do not.
func (c *Core) ExternalBucketKeys() []gofunction.Statement {
	if len(c.externalKeys) == 0 {
		return nil
	}
	return []gofunction.Statement{{
		Sid:       "UseExternalBucketKeys",
		Actions:   []string{"kms:Decrypt", "kms:GenerateDataKey"},
		Resources: pulumi.ToStringArray(c.externalKeys),
	}}
}
