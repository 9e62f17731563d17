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

// Dead-letter settings of a trigger queue.
const (
	// MaxReceiveCount is how often the Pipe may fail to start the machine
	// with a request (it returns to the queue each time) before the
	// request moves to the dead-letter queue.
	MaxReceiveCount = 5
	// DeadLetterRetentionSeconds keeps dead letters as long as SQS allows,
	// 14 days, so they can be read and redriven after a holiday.
	DeadLetterRetentionSeconds = 14 * 24 * 3600
)

// triggers are the queues that feed a layer's state machine and the alarm
// on the requests it could not take.
type triggers struct {
	queue, deadLetters *sqs.Queue
	alarm              *cloudwatch.MetricAlarm
}

// newTriggers starts the state machine on its schedule and on each of its
// EventBridge events, all through a FIFO queue that deduplicates and delays
// requests (the message is constant, so a burst becomes one request), and
// an EventBridge Pipe that starts the machine. A request the Pipe cannot
// start the machine with (e.g. throttled or denied) moves after
// MaxReceiveCount tries to a dead-letter queue, whose alarm notifies
// topicArn: a lost rebuild is never silent.
func newTriggers(ctx *pulumi.Context, name, machine string, sm *sfn.StateMachine, args layer.Triggers, topicArn pulumi.StringInput, parent pulumi.ResourceOption) (*triggers, error) {
	deadLetters, err := sqs.NewQueue(ctx, name+"-rebuilds-dlq", &sqs.QueueArgs{
		NamePrefix:              pulumi.String(name + "-rebuilds-dlq-"),
		FifoQueue:               pulumi.Bool(true),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		MessageRetentionSeconds: pulumi.Int(DeadLetterRetentionSeconds),
	}, parent)
	if err != nil {
		return nil, err
	}
	redrive := deadLetters.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": MaxReceiveCount})
		return string(b), err
	}).(pulumi.StringOutput)
	queue, err := sqs.NewQueue(ctx, name+"-rebuilds", &sqs.QueueArgs{
		NamePrefix:                pulumi.String(name + "-rebuilds-"),
		FifoQueue:                 pulumi.Bool(true),
		ContentBasedDeduplication: pulumi.Bool(true),
		DelaySeconds:              pulumi.Int(args.DelaySeconds),
		SqsManagedSseEnabled:      pulumi.Bool(true),
		MessageRetentionSeconds:   pulumi.Int(86400),
		RedrivePolicy:             redrive,
	}, parent)
	if err != nil {
		return nil, err
	}
	// Only this queue may send its dead letters there.
	allow := queue.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"redrivePermission": "byQueue", "sourceQueueArns": []string{arn}})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := sqs.NewRedriveAllowPolicy(ctx, name+"-rebuilds-dlq-allow", &sqs.RedriveAllowPolicyArgs{
		QueueUrl: deadLetters.Url, RedriveAllowPolicy: allow,
	}, parent); err != nil {
		return nil, err
	}
	alarm, err := cloudwatch.NewMetricAlarm(ctx, name+"-rebuilds-dlq-alarm", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("Rebuild requests for %s could not start it and are in the dead-letter queue; "+
			"see the README's runbook (Failure notifications) to read and redrive them.", machine),
		Namespace:          pulumi.String("AWS/SQS"),
		MetricName:         pulumi.String("ApproximateNumberOfMessagesVisible"),
		Dimensions:         pulumi.StringMap{"QueueName": deadLetters.Name},
		Statistic:          pulumi.String("Maximum"),
		Period:             pulumi.Int(300),
		EvaluationPeriods:  pulumi.Int(1),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"),
		Threshold:          pulumi.Float64(0),
		// SQS sends no data points for an idle queue: no data is no dead
		// letter.
		TreatMissingData: pulumi.String("notBreaching"),
		AlarmActions:     pulumi.Array{topicArn},
		OkActions:        pulumi.Array{topicArn},
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
	return &triggers{queue: queue, deadLetters: deadLetters, alarm: alarm}, nil
}
