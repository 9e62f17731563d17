package core

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
)

// Functions are the Lambdas every layer's state machine uses. Core grants
// each only what is common to all layers; a layer grants them access to its
// own tables, prefixes and state machine with GoFunction.Grant.
type Functions struct {
	Query         *gofunction.GoFunction // run_athena_query
	EmptyPrefix   *gofunction.GoFunction // empty_s3_bucket_by_prefix
	Guard         *gofunction.GoFunction // check_step_function_running
	TableLocation *gofunction.GoFunction // get_glue_table_location
}

func (c *Core) newFunctions(ctx *pulumi.Context, name string, logRetention int, lakeFormation bool, parent pulumi.ResourceOption) error {
	fn := func(suffix string, args gofunction.GoFunctionArgs) (*gofunction.GoFunction, error) {
		args.LogRetentionDays = logRetention
		f, err := gofunction.NewGoFunction(ctx, name+"-"+suffix, &args, parent)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", args.Source, err)
		}
		return f, nil
	}
	var err error
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
			Actions:   []string{"s3:GetBucketLocation", "s3:ListBucket"},
			Resources: pulumi.StringArray{c.ResultsBucketArn},
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
	c.Functions.Query, err = fn("query", gofunction.GoFunctionArgs{
		Source:      "run_athena_query",
		Description: "Runs a named Athena query in the " + c.Names.Workgroup + " workgroup and reports its status",
		Timeout:     120,
		Environment: pulumi.StringMap{
			"ATHENA_WORKGROUP": pulumi.String(c.Names.Workgroup),
			"ATHENA_DATABASE":  pulumi.String(c.Names.Database),
		},
		Statements: queryStatements,
	})
	if err != nil {
		return err
	}
	c.Functions.EmptyPrefix, err = fn("empty-prefix", gofunction.GoFunctionArgs{
		Source:      "empty_s3_bucket_by_prefix",
		Description: "Deletes every object under an S3 prefix (refuses an empty prefix)",
		Timeout:     300,
	})
	if err != nil {
		return err
	}
	c.Functions.Guard, err = fn("guard", gofunction.GoFunctionArgs{
		Source:      "check_step_function_running",
		Description: "Stops a second concurrent run of a state machine",
		Timeout:     30,
	})
	if err != nil {
		return err
	}
	c.Functions.TableLocation, err = fn("table-location", gofunction.GoFunctionArgs{
		Source:      "get_glue_table_location",
		Description: "Returns a Glue table's S3 location",
		Timeout:     30,
	})
	return err
}
