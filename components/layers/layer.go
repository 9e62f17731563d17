// Package layers deploys a layer from its declaration (layer.Spec): its Glue
// tables and named queries, the Lambdas it owns, the grants its functions
// need, its state machine and its triggers, all as children of one
// dc-data-baker:layers:<Type> component.
package layers

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/catalog"
	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// Layer is a deployed layer.
type Layer struct {
	pulumi.ResourceState

	StateMachineArn pulumi.StringOutput
	// Outputs are the layer's stack outputs by name:
	// <Output>StateMachineArn, each location, and <Output>TriggerQueueUrl
	// and <Output>DeadLetterQueueUrl when it has triggers.
	Outputs map[string]pulumi.StringOutput
	// AlarmArns are the layer's alarms, which notify the failure topic.
	AlarmArns pulumi.StringArray
}

// functions are the Lambdas a layer calls, by role.
type functions map[layer.Role]*gofunction.GoFunction

// New deploys spec.
func New(ctx *pulumi.Context, spec layer.Spec, co *core.Core, opts ...pulumi.ResourceOption) (*Layer, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	if co == nil {
		return nil, fmt.Errorf("layer %s: Core is required", spec.Name)
	}
	c := &Layer{}
	if err := ctx.RegisterComponentResource("dc-data-baker:layers:"+spec.Type, spec.Name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	name := spec.Name

	for _, t := range spec.Tables {
		if _, err := catalog.NewTable(ctx, name+"-"+t.Name, t, catalog.TableArgs{Database: co.DatabaseName, Vars: spec.Vars}, parent); err != nil {
			return nil, err
		}
	}
	for _, q := range spec.Queries {
		if _, err := catalog.NewNamedQuery(ctx, name+"-"+q.Name, q.Name, catalog.QueryArgs{
			Template: q.Template, Database: co.DatabaseName, Workgroup: co.WorkgroupName, Values: q.Values,
		}, parent); err != nil {
			return nil, err
		}
	}

	grants := map[layer.Role][]gofunction.Statement{}
	for _, g := range spec.Grants {
		grants[g.Role] = append(grants[g.Role], statement(co, g))
	}
	fns := functions{}
	for _, r := range spec.Calls {
		if f, ok := co.Functions[r]; ok {
			fns[r] = f
		}
	}
	for _, f := range spec.Functions {
		stmts := grants[f.Role]
		if f.ExternalObjects {
			stmts = append(stmts, co.ExternalBucketKeys()...)
		}
		env := pulumi.StringMap{}
		for k, v := range f.Env {
			env[k] = pulumi.String(v)
		}
		if f.History != "" {
			env["HISTORY_BUCKET"], env["HISTORY_PREFIX"] = co.HistoryBucketName, pulumi.String(f.History)
		}
		var vpc *gofunction.VPC
		if f.VPC != nil {
			vpc = &gofunction.VPC{SubnetIDs: f.VPC.SubnetIDs, SecurityGroupIDs: f.VPC.SecurityGroupIDs}
		}
		fn, err := gofunction.NewGoFunction(ctx, name+"-"+string(f.Role), &gofunction.GoFunctionArgs{
			Source: f.Source, Description: f.Description, Timeout: f.Timeout, MemorySize: f.MemorySize,
			Environment: env, Statements: stmts, LogRetentionDays: co.LogRetentionDays,
			VPC: vpc, EphemeralStorage: f.EphemeralStorage,
		}, parent)
		if err != nil {
			return nil, err
		}
		fns[f.Role] = fn
		delete(grants, f.Role)
	}
	// What is left is for Core's functions: each grant is a policy on the
	// function's role, but a child of this layer.
	roles := make([]layer.Role, 0, len(grants))
	for r := range grants {
		roles = append(roles, r)
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i] < roles[j] })
	for _, r := range roles {
		if _, err := fns[r].Grant(ctx, name+"-"+string(r)+"-grant", grants[r], parent); err != nil {
			return nil, err
		}
	}

	sm, err := newStateMachine(ctx, spec, fns, co, parent)
	if err != nil {
		return nil, err
	}
	c.StateMachineArn = sm.Arn
	c.Outputs = map[string]pulumi.StringOutput{spec.Output + layer.StateMachineArnSuffix: sm.Arn}
	for _, l := range spec.Locations {
		c.Outputs[l.Name] = pulumi.String(l.URI()).ToStringOutput()
	}
	if spec.Triggers != nil {
		tr, err := newTriggers(ctx, name, spec.StateMachine, sm, *spec.Triggers, co.FailureTopicArn, parent)
		if err != nil {
			return nil, err
		}
		c.Outputs[spec.Output+layer.TriggerQueueURLSuffix] = tr.queue.Url
		c.Outputs[spec.Output+layer.DeadLetterQueueURLSuffix] = tr.deadLetters.Url
		c.AlarmArns = append(c.AlarmArns, tr.alarm.Arn)
	}
	outputs := pulumi.Map{}
	for k, v := range c.Outputs {
		outputs[k] = v
	}
	return c, ctx.RegisterResourceOutputs(c, outputs)
}

// statement turns a declared grant into an IAM statement of the stack.
func statement(co *core.Core, g layer.Grant) gofunction.Statement {
	res := make(pulumi.StringArray, len(g.Resources))
	for i, r := range g.Resources {
		res[i] = co.Arn(r)
	}
	return gofunction.Statement{Sid: g.Sid, Actions: g.Actions, Resources: res, WildcardReason: g.WildcardReason, Condition: g.Condition}
}
