package layers

import (
	"encoding/json"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/pipes"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sfn"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
)

// newTriggers starts the state machine on its schedule and on each of its
// EventBridge events, all through a FIFO queue that deduplicates and delays
// requests (the message is constant, so a burst becomes one request), and
// an EventBridge Pipe that starts the machine.
func newTriggers(ctx *pulumi.Context, name, machine string, sm *sfn.StateMachine, args layer.Triggers, parent pulumi.ResourceOption) (*sqs.Queue, error) {
	queue, err := sqs.NewQueue(ctx, name+"-rebuilds", &sqs.QueueArgs{
		NamePrefix:                pulumi.String(name + "-rebuilds-"),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		DelaySeconds:              pulumi.Int(args.DelaySeconds),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		MessageRetentionSeconds:   pulumi.Int(86400),
	}, parent)
	if err != nil {
		return nil, err
	}

	type rule struct {
		suffix string
		args   *cloudwatch.EventRuleArgs
	}
	var rules []rule
	if args.Schedule != "" {
		rules = append(rules, rule{"nightly", &cloudwatch.EventRuleArgs{
			Description:        pulumi.String("Nightly rebuild of " + machine),
			ScheduleExpression: pulumi.String(args.Schedule),
		}})
	}
	for _, event := range args.Events {
		pattern, err := json.Marshal(map[string][]string{"detail-type": {event}})
		if err != nil {
			return nil, err
		}
		rules = append(rules, rule{strings.ReplaceAll(event, "_", "-"), &cloudwatch.EventRuleArgs{
			Description:  pulumi.String("Rebuild " + machine + " on " + event),
			EventPattern: pulumi.String(string(pattern)),
		}})
	}
	var ruleArns []any
	for _, r := range rules {
		rule, err := cloudwatch.NewEventRule(ctx, name+"-"+r.suffix, r.args, parent)
		if err != nil {
			return nil, err
		}
		if _, err := cloudwatch.NewEventTarget(ctx, name+"-"+r.suffix+"-target", &cloudwatch.EventTargetArgs{
			Rule:      rule.Name,
			Arn:       queue.Arn,
			Input:     pulumi.String(args.Message),
			SqsTarget: &cloudwatch.EventTargetSqsTargetArgs{MessageGroupId: pulumi.String("rebuild")},
		}, parent); err != nil {
			return nil, err
		}
		ruleArns = append(ruleArns, rule.Arn)
	}

	queuePolicy := pulumi.All(append([]any{queue.Arn}, ruleArns...)...).ApplyT(func(v []any) (string, error) {
		var sources []string
		for _, a := range v[1:] {
			sources = append(sources, a.(string))
		}
		b, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Sid":       "EventBridgeRules",
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "events.amazonaws.com"},
				"Action":    "sqs:SendMessage",
				"Resource":  v[0].(string),
				"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": sources}},
			}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := sqs.NewQueuePolicy(ctx, name+"-rebuilds-policy", &sqs.QueuePolicyArgs{
		QueueUrl: queue.Url,
		Policy:   queuePolicy,
	}, parent); err != nil {
		return nil, err
	}

	assume, err := json.Marshal(gofunction.PolicyDocument{Version: "2012-10-17", Statement: []gofunction.PolicyStatement{{
		Effect: "Allow", Principal: &gofunction.Principal{Service: gofunction.StringList{"pipes.amazonaws.com"}},
		Action: gofunction.StringList{"sts:AssumeRole"},
	}}})
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name+"-pipe-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(string(assume)),
		Description:      pulumi.String("Starts " + machine + " from the rebuild queue"),
	}, parent)
	if err != nil {
		return nil, err
	}
	policy := pulumi.All(queue.Arn, sm.Arn).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(gofunction.PolicyDocument{Version: "2012-10-17", Statement: []gofunction.PolicyStatement{
			{Sid: "ReadQueue", Effect: "Allow", Action: gofunction.StringList{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, Resource: gofunction.StringList{v[0].(string)}},
			{Sid: "StartMachine", Effect: "Allow", Action: gofunction.StringList{"states:StartExecution"}, Resource: gofunction.StringList{v[1].(string)}},
		}})
		return string(b), err
	}).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, name+"-pipe-policy", &iam.RolePolicyArgs{Role: role.ID(), Policy: policy}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := pipes.NewPipe(ctx, name+"-pipe", &pipes.PipeArgs{
		Description: pulumi.String("Rebuild requests to " + machine),
		RoleArn:     role.Arn,
		Source:      queue.Arn,
		SourceParameters: &pipes.PipeSourceParametersArgs{
			SqsQueueParameters: &pipes.PipeSourceParametersSqsQueueParametersArgs{BatchSize: pulumi.Int(1)},
		},
		Target: sm.Arn,
		TargetParameters: &pipes.PipeTargetParametersArgs{
			StepFunctionStateMachineParameters: &pipes.PipeTargetParametersStepFunctionStateMachineParametersArgs{
				InvocationType: pulumi.String("FIRE_AND_FORGET"),
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{rolePolicy})); err != nil {
		return nil, err
	}
	return queue, nil
}
