package core

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// newFunctions creates the Lambdas every layer's state machine may use (the
// layer.SharedRoles). Core grants each only what is common to all layers; a
// layer grants them access to its own tables, prefixes and state machine.
func (c *Core) newFunctions(ctx *pulumi.Context, name string, lakeFormation bool, parent pulumi.ResourceOption) error {
	c.Functions = map[layer.Role]*gofunction.GoFunction{}
	fn := func(role layer.Role, args gofunction.GoFunctionArgs) error {
		args.LogRetentionDays = c.LogRetentionDays
		f, err := gofunction.NewGoFunction(ctx, name+"-"+string(role), &args, parent)
		if err != nil {
			return fmt.Errorf("function %s: %w", args.Source, err)
		}
		c.Functions[role] = f
		return nil
	}
	// Athena reads and writes the layers' tables with the caller's
	// credentials, so the query function needs the external buckets' keys.
	queryStatements := append([]gofunction.Statement{
		{
			Sid: "RunQueriesInWorkgroup",
			Actions: []string{
				"athena:ListNamedQueries", "athena:BatchGetNamedQuery",
				"athena:StartQueryExecution", "athena:GetQueryExecution",
			},
			Resources: pulumi.StringArray{c.WorkgroupArn},
		},
		{
			// A failed run stops the queries it tagged (stop mode).
			Sid:       "StopRunQueries",
			Actions:   []string{"athena:ListQueryExecutions", "athena:BatchGetQueryExecution", "athena:StopQueryExecution"},
			Resources: pulumi.StringArray{c.WorkgroupArn},
		},
		{
			Sid:       "ReadDatabase",
			Actions:   []string{"glue:GetDatabase"},
			Resources: pulumi.StringArray{c.CatalogArn, c.DatabaseArn},
		},
		{
			// Athena writes query results with the caller's credentials.
			Sid:       "ResultsBucket",
			Actions:   []string{"s3:GetBucketLocation"},
			Resources: pulumi.StringArray{c.ResultsBucketArn},
		},
		{
			Sid:       "ListResults",
			Actions:   []string{"s3:ListBucket"},
			Resources: pulumi.StringArray{c.ResultsBucketArn},
			Condition: map[string]map[string][]string{"StringLike": {"s3:prefix": {"athena-results/*"}}},
		},
		{
			Sid:       "ResultsObjects",
			Actions:   []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
			Resources: pulumi.StringArray{pulumi.Sprintf("%s/athena-results/*", c.ResultsBucketArn)},
			// IAM scopes object permissions to a prefix only with a trailing *.
			WildcardReason: "S3 object ARNs name a prefix only with a trailing *",
		},
	}, c.ExternalBucketKeys()...)
	if lakeFormation {
		// Athena reads tables on Lake Formation locations with credentials
		// that Lake Formation vends to the caller.
		queryStatements = append(queryStatements, gofunction.Statement{
			Sid: "LakeFormationDataAccess", Actions: []string{"lakeformation:GetDataAccess"}, Resources: pulumi.StringArray{pulumi.String("*")},
			WildcardReason: "lakeformation:GetDataAccess supports no resource-level permissions; the Lake Formation grants scope it",
		})
	}
	if err := fn(layer.Query, gofunction.GoFunctionArgs{
		Source:      "run_athena_query",
		Description: "Runs a named Athena query in the " + c.Names.Workgroup + " workgroup and reports its status",
		Timeout:     120,
		Environment: pulumi.StringMap{
			"ATHENA_WORKGROUP": pulumi.String(c.Names.Workgroup),
			"ATHENA_DATABASE":  pulumi.String(c.Names.Database),
		},
		Statements: queryStatements,
	}); err != nil {
		return err
	}
	if err := fn(layer.EmptyPrefix, gofunction.GoFunctionArgs{
		Source:      "empty_s3_bucket_by_prefix",
		Description: "Deletes every object under an S3 prefix (refuses an empty prefix)",
		Timeout:     300,
	}); err != nil {
		return err
	}
	if err := fn(layer.Guard, gofunction.GoFunctionArgs{
		Source:      "check_step_function_running",
		Description: "Stops a second concurrent run of a state machine",
		Timeout:     30,
	}); err != nil {
		return err
	}
	return fn(layer.TableLocation, gofunction.GoFunctionArgs{
		Source:      "get_glue_table_location",
		Description: "Returns a Glue table's S3 location, or switches a run-scoped table to a run's",
		Timeout:     30,
	})
}
