package layers

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/asl"
	"github.com/DemocracyClub/dc-data-baker/internal/flows"
)

// layerFunctions are the Lambdas a layer's state machine calls. The
// layer-specific ones are nil for a layer that does not use them.
type layerFunctions struct {
	Guard, TableLocation, EmptyPrefix, Query *gofunction.GoFunction
	ExportBallots, OutcodeSplit, DeleteStale *gofunction.GoFunction
}

func sharedFunctions(co *core.Core) layerFunctions {
	f := co.Functions
	return layerFunctions{Guard: f.Guard, TableLocation: f.TableLocation, EmptyPrefix: f.EmptyPrefix, Query: f.Query}
}

func (l layerFunctions) all() []*gofunction.GoFunction {
	var out []*gofunction.GoFunction
	for _, f := range []*gofunction.GoFunction{l.Guard, l.TableLocation, l.EmptyPrefix, l.Query, l.ExportBallots, l.OutcodeSplit, l.DeleteStale} {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// arns resolves the functions' ARNs into flows.Lambdas.
func (l layerFunctions) arns() pulumi.Output {
	arn := func(f *gofunction.GoFunction) pulumi.StringOutput {
		if f == nil {
			return pulumi.String("").ToStringOutput()
		}
		return f.Arn
	}
	return pulumi.All(arn(l.Guard), arn(l.TableLocation), arn(l.EmptyPrefix), arn(l.Query),
		arn(l.ExportBallots), arn(l.OutcodeSplit), arn(l.DeleteStale)).ApplyT(func(v []any) flows.Lambdas {
		return flows.Lambdas{
			Guard: v[0].(string), TableLocation: v[1].(string), EmptyPrefix: v[2].(string), Query: v[3].(string),
			ExportBallots: v[4].(string), OutcodeSplit: v[5].(string), DeleteStale: v[6].(string),
		}
	})
}

// stateMachineArn is the ARN a state machine named name has in the stack's
// account and region. Built from the name rather than read from the other
// layer's resource, so two layers that conflict with each other can name
// each other without a dependency cycle.
func stateMachineArn(co *core.Core, name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", co.Region, co.AccountID, name)
}

// newStateMachine deploys a layer's state machine with a role that may
// invoke exactly the layer's functions and publish to the failure topic,
// and grants the guard function the right to list the executions of the
// machine and of the machines it conflicts with (conflicts, by name).
func newStateMachine(ctx *pulumi.Context, name, machineName string, conflicts []string, fns layerFunctions, co *core.Core,
	build func(flows.Lambdas, string, flows.Guard) asl.StateMachine, parent pulumi.ResourceOption) (*sfn.StateMachine, error) {
	guard := flows.Guard{}
	listable := pulumi.StringArray{}
	for _, c := range conflicts {
		arn := stateMachineArn(co, c)
		guard.ConflictingStateMachineArns = append(guard.ConflictingStateMachineArns, arn)
		listable = append(listable, pulumi.String(arn))
	}
	definition := pulumi.All(fns.arns(), co.FailureTopicArn).ApplyT(func(v []any) (string, error) {
		b, err := build(v[0].(flows.Lambdas), v[1].(string), guard).Render()
		if err != nil {
			return "", fmt.Errorf("render %s: %w", machineName, err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)

	assume, err := json.Marshal(gofunction.PolicyDocument{Version: "2012-10-17", Statement: []gofunction.PolicyStatement{{
		Effect: "Allow", Principal: &gofunction.Principal{Service: gofunction.StringList{"states.amazonaws.com"}},
		Action: gofunction.StringList{"sts:AssumeRole"},
	}}})
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name+"-sm-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(string(assume)),
		Description:      pulumi.String("Runs the " + machineName + " state machine"),
	}, parent)
	if err != nil {
		return nil, err
	}
	var inputs []any
	for _, f := range fns.all() {
		inputs = append(inputs, f.Arn)
	}
	inputs = append(inputs, co.FailureTopicArn)
	policy := pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		var fnArns gofunction.StringList
		for _, a := range v[:len(v)-1] {
			fnArns = append(fnArns, a.(string))
		}
		b, err := json.Marshal(gofunction.PolicyDocument{Version: "2012-10-17", Statement: []gofunction.PolicyStatement{
			{Sid: "InvokeLayerFunctions", Effect: "Allow", Action: gofunction.StringList{"lambda:InvokeFunction"}, Resource: fnArns},
			{Sid: "NotifyFailure", Effect: "Allow", Action: gofunction.StringList{"sns:Publish"}, Resource: gofunction.StringList{v[len(v)-1].(string)}},
		}})
		return string(b), err
	}).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, name+"-sm-policy", &iam.RolePolicyArgs{Role: role.ID(), Policy: policy}, parent)
	if err != nil {
		return nil, err
	}
	sm, err := sfn.NewStateMachine(ctx, name+"-sm", &sfn.StateMachineArgs{
		Name:       pulumi.String(machineName),
		RoleArn:    role.Arn,
		Definition: definition,
		// The name is fixed, so a replacement must free it first.
	}, parent, pulumi.DependsOn([]pulumi.Resource{rolePolicy}), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}
	if _, err := fns.Guard.Grant(ctx, name+"-guard-grant", []gofunction.Statement{{
		Sid:       "ListOwnExecutions",
		Actions:   []string{"states:ListExecutions"},
		Resources: pulumi.StringArray{sm.Arn},
	}, {
		Sid:       "ListConflictingExecutions",
		Actions:   []string{"states:ListExecutions"},
		Resources: listable,
	}}); err != nil {
		return nil, err
	}
	return sm, nil
}

// glueRead and glueRepair are what Athena needs to read a table and what
// MSCK REPAIR TABLE adds to register a table's partitions.
var (
	glueRead   = []string{"glue:GetTable", "glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition"}
	glueRepair = []string{"glue:BatchCreatePartition", "glue:CreatePartition"}
)

// objectsUnderPrefix is why an S3 object ARN ends in "*": IAM scopes
// object permissions to a prefix only with a trailing wildcard.
const objectsUnderPrefix = "S3 object ARNs name a prefix only with a trailing *"

// s3Objects is the ARN pattern of every object under prefix in bucket.
func s3Objects(bucket, prefix string) pulumi.String {
	return pulumi.String("arn:aws:s3:::" + bucket + "/" + prefix + "*")
}

func s3Bucket(bucket string) pulumi.String { return pulumi.String("arn:aws:s3:::" + bucket) }

// grant adds statements to a function's role on behalf of a layer.
type grant struct {
	suffix string
	fn     *gofunction.GoFunction
	stmts  []gofunction.Statement
}

func applyGrants(ctx *pulumi.Context, layer string, gs []grant) error {
	for _, g := range gs {
		if _, err := g.fn.Grant(ctx, layer+"-"+g.suffix+"-grant", g.stmts); err != nil {
			return err
		}
	}
	return nil
}
