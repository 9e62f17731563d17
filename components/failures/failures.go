// Package failures routes what goes wrong outside a state machine's own
// Catch to the failure topic: every failed, timed-out or aborted execution
// of the stack's state machines, however it was started, and the alarms of
// the layers' dead-letter queues.
package failures

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
)

// Statuses are the execution statuses that notify.
//
// FAILED is among them although a state machine's Catch already publishes
// the error and cause of a failure in one of its steps: that message is
// richer, but the Catch cannot see every failure. States.Runtime and
// States.DataLimitExceeded fail the execution without running any Catch,
// and a failed publish in "Notify failure" still ends FAILED. So a caught
// failure gives two messages, on purpose, and the rule's message says so:
// one with the error ("dc-data-baker run failed"), one with the status
// (Message). A FAILED status message alone means the failure escaped the
// Catch. TIMED_OUT and ABORTED runs run no Catch at all.
var Statuses = []string{"FAILED", "TIMED_OUT", "ABORTED"}

// Message is the text EventBridge publishes for an execution that ended in
// one of Statuses: an input transformer template over ExecutionFields.
const Message = `dc-data-baker run <status>: execution <name> of <stateMachineArn> ended <status> at <time>. ` +
	`Console: https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<executionArn> . ` +
	`A FAILED run whose error one of its steps caught has also sent a 'dc-data-baker run failed' message with the error and cause; ` +
	`without that message the failure escaped the state machine, so read the execution history. ` +
	`A TIMED_OUT or ABORTED run stopped mid-step without cleaning up: stop its Athena queries (their SQL ends with its execution ARN) before rerunning.`

// ExecutionFields are the event fields Message names.
var ExecutionFields = map[string]string{
	"executionArn":    "$.detail.executionArn",
	"name":            "$.detail.name",
	"stateMachineArn": "$.detail.stateMachineArn",
	"status":          "$.detail.status",
	"region":          "$.region",
	"time":            "$.time",
}

// RoutingArgs configures Routing.
type RoutingArgs struct {
	// AccountID is the stack's account: only its CloudWatch alarms publish.
	AccountID string
	// TopicArn is the failure topic.
	TopicArn pulumi.StringInput
	// StateMachineArns are the machines whose ends are watched.
	StateMachineArns pulumi.StringArrayInput
	// AlarmArns are the alarms that notify the topic.
	AlarmArns pulumi.StringArrayInput
}

// Routing is the EventBridge rule, its target and the topic policy that
// lets the rule and the alarms publish.
type Routing struct {
	pulumi.ResourceState

	RuleArn pulumi.StringOutput
}

// NewRouting creates Routing.
func NewRouting(ctx *pulumi.Context, name string, args *RoutingArgs, opts ...pulumi.ResourceOption) (*Routing, error) {
	if args == nil || args.TopicArn == nil || args.StateMachineArns == nil || args.AccountID == "" {
		return nil, fmt.Errorf("failure routing %s: AccountID, TopicArn and StateMachineArns are required", name)
	}
	c := &Routing{}
	if err := ctx.RegisterComponentResource("dc-data-baker:failures:Routing", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	pattern := args.StateMachineArns.ToStringArrayOutput().ApplyT(func(arns []string) (string, error) {
		if len(arns) == 0 {
			return "", fmt.Errorf("failure routing %s: no state machines", name)
		}
		return marshal(EventPattern(arns))
	}).(pulumi.StringOutput)
	rule, err := cloudwatch.NewEventRule(ctx, name+"-executions", &cloudwatch.EventRuleArgs{
		Description:  pulumi.String("dc-data-baker executions that failed, timed out or were aborted"),
		EventPattern: pattern,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("failure routing %s: %w", name, err)
	}
	c.RuleArn = rule.Arn
	template, err := json.Marshal(Message)
	if err != nil {
		return nil, fmt.Errorf("failure routing %s: %w", name, err)
	}
	if _, err := cloudwatch.NewEventTarget(ctx, name+"-executions-topic", &cloudwatch.EventTargetArgs{
		Rule: rule.Name,
		Arn:  args.TopicArn,
		InputTransformer: &cloudwatch.EventTargetInputTransformerArgs{
			InputPaths:    pulumi.ToStringMap(ExecutionFields),
			InputTemplate: pulumi.String(string(template)),
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("failure routing %s: %w", name, err)
	}

	alarms := pulumi.StringArray{}.ToStringArrayOutput()
	if args.AlarmArns != nil {
		alarms = args.AlarmArns.ToStringArrayOutput()
	}
	policy := pulumi.All(args.TopicArn, rule.Arn, alarms).ApplyT(func(v []any) (string, error) {
		return marshal(TopicPolicy(v[0].(string), v[1].(string), args.AccountID, v[2].([]string)))
	}).(pulumi.StringOutput)
	if _, err := sns.NewTopicPolicy(ctx, name+"-topic-policy", &sns.TopicPolicyArgs{
		Arn:    args.TopicArn,
		Policy: policy,
	}, parent); err != nil {
		return nil, fmt.Errorf("failure routing %s: %w", name, err)
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"ruleArn": c.RuleArn})
}

// EventPattern matches the end of an execution of one of machines in one of
// Statuses.
func EventPattern(machines []string) map[string]any {
	return map[string]any{
		"source":      []string{"aws.states"},
		"detail-type": []string{"Step Functions Execution Status Change"},
		"detail": map[string]any{
			"status":          Statuses,
			"stateMachineArn": machines,
		},
	}
}

// TopicPolicy lets the failure rule, and this account's alarms, publish to
// the topic. The topic's own account needs no statement: its roles publish
// with IAM permissions (the state machines' NotifyFailure).
func TopicPolicy(topic, rule, account string, alarms []string) gofunction.PolicyDocument {
	doc := gofunction.PolicyDocument{Version: "2012-10-17", Statement: []gofunction.PolicyStatement{{
		Sid: "FailureRulePublishes", Effect: "Allow",
		Principal: &gofunction.Principal{Service: gofunction.StringList{"events.amazonaws.com"}},
		Action:    gofunction.StringList{"sns:Publish"}, Resource: gofunction.StringList{topic},
		Condition: map[string]map[string]gofunction.StringList{"ArnEquals": {"aws:SourceArn": {rule}}},
	}}}
	if len(alarms) > 0 {
		doc.Statement = append(doc.Statement, gofunction.PolicyStatement{
			Sid: "AlarmsPublish", Effect: "Allow",
			Principal: &gofunction.Principal{Service: gofunction.StringList{"cloudwatch.amazonaws.com"}},
			Action:    gofunction.StringList{"sns:Publish"}, Resource: gofunction.StringList{topic},
			Condition: map[string]map[string]gofunction.StringList{
				"ArnEquals":    {"aws:SourceArn": alarms},
				"StringEquals": {"aws:SourceAccount": {account}},
			},
		})
	}
	return doc
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("render %T: %w", v, err)
	}
	return string(b), nil
}
