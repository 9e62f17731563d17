package layers

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// newStateMachine deploys a layer's state machine with a role that may
// invoke exactly the layer's functions and publish to the failure topic,
// and grants the guard function the right to list the executions of the
// machine and of the machines it conflicts with.
func newStateMachine(ctx *pulumi.Context, spec layer.Spec, fns functions, co *core.Core, parent pulumi.ResourceOption) (*sfn.StateMachine, error) {
	name, machineName := spec.Name, spec.StateMachine
	// The conflicting machines' ARNs are built from their names rather than
	// read from the other layer's resource, so two layers that conflict
	// with each other can name each other without a dependency cycle.
	var conflicting []string
	listable := pulumi.StringArray{}
	for _, c := range spec.Conflicts {
		arn := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", co.Region, co.AccountID, c)
		conflicting = append(conflicting, arn)
		listable = append(listable, pulumi.String(arn))
	}
	// The ARNs resolve in the order of spec.Calls, then the topic's.
	var inputs []any
	for _, r := range spec.Calls {
		inputs = append(inputs, fns[r].Arn)
	}
	inputs = append(inputs, co.FailureTopicArn)
	definition := pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		l := layer.Lambdas{}
		for i, r := range spec.Calls {
			l[r] = v[i].(string)
		}
		b, err := spec.Flow(layer.Runtime{Lambdas: l, FailureTopicArn: v[len(v)-1].(string), ConflictingStateMachineArns: conflicting}).Render()
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
	// The policy's inputs are the definition's, then the topic's key.
	policy := pulumi.All(append(inputs, co.FailureTopicKeyArn)...).ApplyT(func(v []any) (string, error) {
		var fnArns gofunction.StringList
		for _, a := range v[:len(v)-2] {
			fnArns = append(fnArns, a.(string))
		}
		topic, key := v[len(v)-2].(string), v[len(v)-1].(string)
		b, err := json.Marshal(gofunction.PolicyDocument{Version: "2012-10-17", Statement: []gofunction.PolicyStatement{
			{Sid: "InvokeLayerFunctions", Effect: "Allow", Action: gofunction.StringList{"lambda:InvokeFunction"}, Resource: fnArns},
			{Sid: "NotifyFailure", Effect: "Allow", Action: gofunction.StringList{"sns:Publish"}, Resource: gofunction.StringList{topic}},
			// The topic is encrypted with its own key, which SNS uses
			// with the publisher's credentials.
			{Sid: "EncryptFailureNotification", Effect: "Allow", Action: core.FailureKeyUse, Resource: gofunction.StringList{key}},
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
	list := []gofunction.Statement{{
		Sid:       "ListOwnExecutions",
		Actions:   []string{"states:ListExecutions"},
		Resources: pulumi.StringArray{sm.Arn},
	}}
	if len(listable) > 0 {
		list = append(list, gofunction.Statement{Sid: "ListConflictingExecutions", Actions: []string{"states:ListExecutions"}, Resources: listable})
	}
	if _, err := fns[layer.Guard].Grant(ctx, name+"-guard-grant", list, parent); err != nil {
		return nil, err
	}
	return sm, nil
}
