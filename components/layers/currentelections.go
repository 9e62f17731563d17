package layers

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/ballotexport"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// CurrentElectionsStateMachine is the layer's state machine name.
const CurrentElectionsStateMachine = "MakeCurrentElectionsParquet"

// EEDatabaseParams names the SSM parameters that hold EveryElection's
// database connection details. They are names, never values.
type EEDatabaseParams struct {
	Host, User, Name, Password string
}

// CurrentElectionsArgs configures the CurrentElections layer.
type CurrentElectionsArgs struct {
	Core             *core.Core
	Vars             tables.Vars
	LogRetentionDays int
	EEDatabase       EEDatabaseParams
	// Schedule is the nightly rebuild's EventBridge schedule expression.
	Schedule string
	// TriggerDelaySeconds holds a rebuild request in the queue, so a burst
	// of changes becomes one run.
	TriggerDelaySeconds int
}

// CurrentElections joins AddressBase with the current ballots and publishes
// one parquet file per outcode.
type CurrentElections struct {
	pulumi.ResourceState

	// OutputLocation is s3://bucket/prefix/ of the per-outcode files.
	OutputLocation  pulumi.StringOutput
	StateMachineArn pulumi.StringOutput
	// TriggerQueueUrl receives rebuild requests.
	TriggerQueueUrl pulumi.StringOutput
}

// NewCurrentElections creates the CurrentElections layer.
func NewCurrentElections(ctx *pulumi.Context, name string, args *CurrentElectionsArgs, opts ...pulumi.ResourceOption) (*CurrentElections, error) {
	if args == nil || args.Core == nil {
		return nil, fmt.Errorf("current elections layer %s: Core is required", name)
	}
	c := &CurrentElections{}
	if err := ctx.RegisterComponentResource("dc-data-baker:layers:CurrentElections", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	co := args.Core
	buckets := tables.Buckets{AddressBase: co.AddressBase.Name, EE: co.EE.Name}
	ballots := tables.CurrentBallots(buckets)
	raw := tables.AddressBaseCleanedRaw(buckets) // read by the raw UPRN gate
	addresses := tables.AddressBasePartitioned(buckets)
	joined := tables.CurrentBallotsJoined(buckets)
	output := tables.Table{Name: "current_elections_parquet", Bucket: buckets.AddressBase, Prefix: tables.CurrentElectionsOutputPrefix}

	prefix := map[string]string{}
	for _, t := range []tables.Table{raw, ballots, addresses, joined, output} {
		p, err := t.KeyPrefix(args.Vars)
		if err != nil {
			return nil, err
		}
		prefix[t.Name] = p
	}
	queries, err := tables.CurrentElectionsQueries(buckets, args.Vars, core.DatabaseName)
	if err != nil {
		return nil, err
	}
	if err := newCatalog(ctx, name, co, args.Vars, []tables.Table{ballots, joined}, queries, parent); err != nil {
		return nil, err
	}

	ab, ee := buckets.AddressBase, buckets.EE
	fns := sharedFunctions(co)
	fns.TableLocation = nil // this layer's machine never reads a table's location
	fn := func(suffix string, a gofunction.GoFunctionArgs) (*gofunction.GoFunction, error) {
		a.LogRetentionDays = args.LogRetentionDays
		return gofunction.NewGoFunction(ctx, name+"-"+suffix, &a, parent)
	}
	ssmParam := func(p string) pulumi.StringOutput {
		return pulumi.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", co.Region, co.AccountID, trimSlash(p))
	}
	db := args.EEDatabase
	ballotsKey := prefix[ballots.Name] + "current_elections.csv"
	tempBallotsPrefix := ballotexport.TempKey(ballotsKey, "")
	const tempKeys = "temporary keys end in the run's request ID"
	if fns.ExportBallots, err = fn("export-ballots", gofunction.GoFunctionArgs{
		Source:      "export_current_ballots",
		Description: "Exports EveryElection's current ballots with their WKT to the ballots CSV",
		Timeout:     300,
		MemorySize:  512,
		Environment: pulumi.StringMap{
			"BUCKET":            pulumi.String(ee),
			"KEY":               pulumi.String(ballotsKey),
			"DB_HOST_PARAM":     pulumi.String(db.Host),
			"DB_USER_PARAM":     pulumi.String(db.User),
			"DB_NAME_PARAM":     pulumi.String(db.Name),
			"DB_PASSWORD_PARAM": pulumi.String(db.Password),
			"DB_SSLMODE":        pulumi.String("require"),
		},
		Statements: []gofunction.Statement{
			{
				// SecureStrings under the AWS-managed aws/ssm key decrypt
				// through SSM without a kms statement.
				Sid:       "ReadDatabaseParameters",
				Actions:   []string{"ssm:GetParameters"},
				Resources: pulumi.StringArray{ssmParam(db.Host), ssmParam(db.User), ssmParam(db.Name), ssmParam(db.Password)},
			},
			{
				// The export stages its file under a dotted temporary key
				// (ballotexport.TempKey) and copies it over the real one.
				Sid:     "PublishBallotsCSV",
				Actions: []string{"s3:PutObject"},
				Resources: pulumi.StringArray{
					pulumi.String("arn:aws:s3:::" + ee + "/" + ballotsKey), s3Objects(ee, tempBallotsPrefix),
				},
				WildcardReason: tempKeys,
			},
			{
				Sid: "StageBallotsCSV", Actions: []string{"s3:GetObject", "s3:DeleteObject"},
				Resources: pulumi.StringArray{s3Objects(ee, tempBallotsPrefix)}, WildcardReason: tempKeys,
			},
		},
	}); err != nil {
		return nil, err
	}
	if fns.OutcodeSplit, err = fn("outcodes", gofunction.GoFunctionArgs{
		Source:      "first_letter_to_outcode_parquet",
		Description: "Splits one first-letter partition into per-outcode parquet files",
		Timeout:     900,
		MemorySize:  1024,
		Statements: []gofunction.Statement{
			{Sid: "ListBucket", Actions: []string{"s3:ListBucket"}, Resources: pulumi.StringArray{s3Bucket(ab)}},
			{Sid: "ReadJoined", Actions: []string{"s3:GetObject"}, Resources: pulumi.StringArray{s3Objects(ab, prefix[joined.Name])}, WildcardReason: objectsUnderPrefix},
			{
				// GetObject also covers HeadObject, used to skip unchanged files.
				Sid: "WriteOutcodes", Actions: []string{"s3:GetObject", "s3:PutObject"},
				Resources: pulumi.StringArray{s3Objects(ab, prefix[output.Name])}, WildcardReason: objectsUnderPrefix,
			},
		},
	}); err != nil {
		return nil, err
	}
	if fns.DeleteStale, err = fn("delete-stale", gofunction.GoFunctionArgs{
		Source:      "delete_stale_outcodes",
		Description: "Deletes outcode files whose outcode is no longer in AddressBase",
		Timeout:     120,
		Statements: []gofunction.Statement{
			{Sid: "ListBucket", Actions: []string{"s3:ListBucket"}, Resources: pulumi.StringArray{s3Bucket(ab)}},
			{Sid: "DeleteOutcodes", Actions: []string{"s3:DeleteObject"}, Resources: pulumi.StringArray{s3Objects(ab, prefix[output.Name])}, WildcardReason: objectsUnderPrefix},
		},
	}); err != nil {
		return nil, err
	}

	if err := applyGrants(ctx, name, []grant{
		{"query", fns.Query, []gofunction.Statement{
			{
				Sid:       "ReadLayerTables",
				Actions:   glueRead,
				Resources: pulumi.StringArray{co.CatalogArn, co.DatabaseArn, co.TableArn(raw.Name), co.TableArn(ballots.Name), co.TableArn(addresses.Name), co.TableArn(joined.Name)},
			},
			{
				Sid:       "RepairJoined",
				Actions:   glueRepair,
				Resources: pulumi.StringArray{co.CatalogArn, co.DatabaseArn, co.TableArn(joined.Name)},
			},
			{Sid: "ListBuckets", Actions: []string{"s3:ListBucket", "s3:GetBucketLocation"}, Resources: pulumi.StringArray{s3Bucket(ab), s3Bucket(ee)}},
			{
				Sid: "ReadInputs", Actions: []string{"s3:GetObject"},
				Resources:      pulumi.StringArray{s3Objects(ee, prefix[ballots.Name]), s3Objects(ab, prefix[raw.Name]), s3Objects(ab, prefix[addresses.Name]), s3Objects(ab, prefix[joined.Name])},
				WildcardReason: objectsUnderPrefix,
			},
			{
				Sid: "WriteJoined", Actions: []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
				Resources: pulumi.StringArray{s3Objects(ab, prefix[joined.Name])}, WildcardReason: objectsUnderPrefix,
			},
		}},
		{"empty-prefix", fns.EmptyPrefix, []gofunction.Statement{
			{Sid: "ListAddressBaseBucket", Actions: []string{"s3:ListBucket"}, Resources: pulumi.StringArray{s3Bucket(ab)}},
			{Sid: "EmptyJoined", Actions: []string{"s3:DeleteObject"}, Resources: pulumi.StringArray{s3Objects(ab, prefix[joined.Name])}, WildcardReason: objectsUnderPrefix},
		}},
	}); err != nil {
		return nil, err
	}

	sm, err := newStateMachine(ctx, name, CurrentElectionsStateMachine, fns, co, func(l flows.Lambdas, topic string) asl.StateMachine {
		return flows.CurrentElections(flows.CurrentElectionsParams{
			Lambdas: l, FailureTopicArn: topic, Database: core.DatabaseName, JoinedTable: joined.Name,
			Bucket: ab, JoinedPrefix: prefix[joined.Name], OutcodePrefix: prefix[output.Name],
		})
	}, parent)
	if err != nil {
		return nil, err
	}
	queue, err := newTriggers(ctx, name, sm, triggerArgs{Schedule: args.Schedule, DelaySeconds: args.TriggerDelaySeconds}, parent)
	if err != nil {
		return nil, err
	}

	c.OutputLocation = pulumi.Sprintf("s3://%s/%s", ab, prefix[output.Name])
	c.StateMachineArn = sm.Arn
	c.TriggerQueueUrl = queue.Url
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"outputLocation":  c.OutputLocation,
		"stateMachineArn": c.StateMachineArn,
		"triggerQueueUrl": c.TriggerQueueUrl,
	})
}

func trimSlash(p string) string {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	return p
}
