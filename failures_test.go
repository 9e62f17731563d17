package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/DemocracyClub/dc-data-baker/components/failures"
	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
	"github.com/DemocracyClub/dc-data-baker/components/layers"
	ilayers "github.com/DemocracyClub/dc-data-baker/internal/layers"
)

// byName returns the one resource of a type with that name.
func byName(t *testing.T, m *mocks, typ, name string) *res {
	t.Helper()
	for _, r := range m.byType(typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s %s", typ, name)
	return nil
}

// arns returns the mocked ARNs of every resource of a type, sorted.
func arns(m *mocks, typ string) []string {
	var out []string
	for _, r := range m.byType(typ) {
		out = append(out, fmt.Sprint(r.State["arn"]))
	}
	return out
}

// parseDoc reads a policy document input.
func parseDoc(t *testing.T, r *res, field string) gofunction.PolicyDocument {
	t.Helper()
	doc, err := gofunction.Parse(fmt.Sprint(r.Inputs[field]))
	if err != nil {
		t.Fatalf("%s %s: %v", r.Name, field, err)
	}
	return doc
}

func sid(t *testing.T, doc gofunction.PolicyDocument, name string) gofunction.PolicyStatement {
	t.Helper()
	s, ok := doc.StatementBySid(name)
	if !ok {
		t.Fatalf("no statement %s in %+v", name, doc)
	}
	return s
}

const (
	failureTopicArn = "arn:aws:sns:eu-west-2:123456789012:core-failures"
	failureKeyArn   = "arn:aws:kms:eu-west-2:123456789012:core-failures-key"
)

type condition = map[string]map[string]gofunction.StringList

// The failure topic has a rotating key of its own, which EventBridge and
// CloudWatch may use only for this account, and the account's roles only
// through SNS; each state machine's role may use it.
func TestFailureTopicKey(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		key := byName(t, m, "aws:kms/key:Key", "core-failures-key")
		if key.Inputs["enableKeyRotation"] != true {
			t.Errorf("key rotation = %v, want on", key.Inputs["enableKeyRotation"])
		}
		if got := byName(t, m, "aws:sns/topic:Topic", "core-failures").Inputs["kmsMasterKeyId"]; got != failureKeyArn {
			t.Errorf("topic key = %v, want %s", got, failureKeyArn)
		}
		doc := parseDoc(t, key, "policy")
		thisAccount := condition{"StringEquals": {"aws:SourceAccount": {"123456789012"}}}
		for _, tt := range []struct {
			sid, service string
			cond         condition
		}{
			{"EventBridgePublishes", "events.amazonaws.com", thisAccount},
			{"CloudWatchAlarmsPublish", "cloudwatch.amazonaws.com", thisAccount},
			{"AccountPublishesThroughSNS", "", condition{"StringEquals": {
				"kms:ViaService": {"sns.eu-west-2.amazonaws.com"}, "kms:CallerAccount": {"123456789012"},
			}}},
		} {
			s := sid(t, doc, tt.sid)
			want := gofunction.Principal{Service: gofunction.StringList{tt.service}}
			if tt.service == "" {
				want = gofunction.Principal{AWS: gofunction.StringList{"arn:aws:iam::123456789012:root"}}
			}
			if diff := cmp.Diff(want, *s.Principal); diff != "" {
				t.Errorf("%s principal (-want +got):\n%s", tt.sid, diff)
			}
			if diff := cmp.Diff(tt.cond, s.Condition); diff != "" {
				t.Errorf("%s condition (-want +got):\n%s", tt.sid, diff)
			}
			if !cmp.Equal([]string(s.Action), []string{"kms:GenerateDataKey", "kms:Decrypt"}) {
				t.Errorf("%s actions %v", tt.sid, s.Action)
			}
		}
		for _, s := range doc.Statement {
			// In a key policy "*" is this key, and the only resource KMS takes.
			if !cmp.Equal([]string(s.Resource), []string{"*"}) || s.Effect != "Allow" {
				t.Errorf("%s: %s on %v", s.Sid, s.Effect, s.Resource)
			}
			for _, a := range s.Action {
				if strings.Contains(a, "*") || slices.Contains([]string{"kms:Encrypt", "kms:ReEncryptFrom", "kms:ImportKeyMaterial"}, a) {
					t.Errorf("%s: action %s", s.Sid, a)
				}
			}
		}
		if len(doc.Statement) != 4 {
			t.Errorf("%d key policy statements, want 4", len(doc.Statement))
		}
		for _, name := range []string{"addressbase-sm-policy", "current-elections-sm-policy"} {
			s := sid(t, policies(t, m)[name], "EncryptFailureNotification")
			if !cmp.Equal([]string(s.Resource), []string{failureKeyArn}) {
				t.Errorf("%s uses keys %v, want the failure topic's", name, s.Resource)
			}
		}
	})
}

// Every failed, timed-out or aborted execution of the stack's machines, and
// only of those, reaches the failure topic as a readable message; the topic
// takes EventBridge's messages from that rule only.
func TestEveryExecutionFailureReachesTheTopic(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		rule := byName(t, m, "aws:cloudwatch/eventRule:EventRule", "failures-executions")
		var pattern map[string]any
		if err := json.Unmarshal([]byte(fmt.Sprint(rule.Inputs["eventPattern"])), &pattern); err != nil {
			t.Fatal(err)
		}
		machines := arns(m, "aws:sfn/stateMachine:StateMachine")
		if len(machines) != len(ilayers.All) {
			t.Fatalf("state machines %v, want one per layer", machines)
		}
		machineArns := make([]any, len(machines))
		for i, a := range machines {
			machineArns[i] = a
		}
		want := map[string]any{
			"source":      []any{"aws.states"},
			"detail-type": []any{"Step Functions Execution Status Change"},
			"detail": map[string]any{
				"status":          []any{"FAILED", "TIMED_OUT", "ABORTED"},
				"stateMachineArn": machineArns,
			},
		}
		// The program lists the machines in layer order; the order does not matter.
		anyOrder := cmpopts.SortSlices(func(a, b any) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
		if diff := cmp.Diff(want, pattern, anyOrder); diff != "" {
			t.Errorf("pattern (-want +got):\n%s", diff)
		}

		target := byName(t, m, "aws:cloudwatch/eventTarget:EventTarget", "failures-executions-topic")
		if target.Inputs["arn"] != failureTopicArn || target.Inputs["rule"] != rule.State["name"] {
			t.Errorf("target %v of rule %v, want the failure topic of %v", target.Inputs["arn"], target.Inputs["rule"], rule.State["name"])
		}
		var message string
		if err := json.Unmarshal([]byte(fmt.Sprint(get(target.Inputs, "inputTransformer", "inputTemplate"))), &message); err != nil {
			t.Fatalf("input template is not a JSON string: %v", err)
		}
		if message != failures.Message {
			t.Errorf("message %q, want failures.Message", message)
		}
		paths, _ := get(target.Inputs, "inputTransformer", "inputPaths").(map[string]any)
		for _, ph := range regexp.MustCompile(`<([A-Za-z]+)>`).FindAllStringSubmatch(message, -1) {
			if _, ok := paths[ph[1]]; !ok {
				t.Errorf("message names <%s>, which no input path fills", ph[1])
			}
		}
		for _, s := range []string{"<status>", "<executionArn>", "<stateMachineArn>", "run failed"} {
			if !strings.Contains(message, s) {
				t.Errorf("message %q does not name %s", message, s)
			}
		}

		policy := byName(t, m, "aws:sns/topicPolicy:TopicPolicy", "failures-topic-policy")
		if policy.Inputs["arn"] != failureTopicArn {
			t.Errorf("topic policy on %v", policy.Inputs["arn"])
		}
		doc := parseDoc(t, policy, "policy")
		events := sid(t, doc, "FailureRulePublishes")
		if diff := cmp.Diff(condition{"ArnEquals": {"aws:SourceArn": {fmt.Sprint(rule.State["arn"])}}}, events.Condition); diff != "" {
			t.Errorf("EventBridge condition (-want +got):\n%s", diff)
		}
		alarms := sid(t, doc, "AlarmsPublish")
		wantAlarms := condition{
			"ArnEquals":    {"aws:SourceArn": arns(m, "aws:cloudwatch/metricAlarm:MetricAlarm")},
			"StringEquals": {"aws:SourceAccount": {"123456789012"}},
		}
		if diff := cmp.Diff(wantAlarms, alarms.Condition, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("alarm condition (-want +got):\n%s", diff)
		}
		for _, s := range doc.Statement {
			if !cmp.Equal([]string(s.Action), []string{"sns:Publish"}) || !cmp.Equal([]string(s.Resource), []string{failureTopicArn}) || len(s.Principal.AWS) != 0 {
				t.Errorf("%s: %v on %v for %+v, want services' sns:Publish on the topic", s.Sid, s.Action, s.Resource, s.Principal)
			}
		}
	})
}

// A run cut off by its timeout is notified (by the rule), so every machine
// must have one.
func TestEveryStateMachineHasATimeout(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		for _, sm := range m.byType("aws:sfn/stateMachine:StateMachine") {
			var def struct{ TimeoutSeconds int }
			if err := json.Unmarshal([]byte(fmt.Sprint(sm.Inputs["definition"])), &def); err != nil {
				t.Fatal(err)
			}
			if def.TimeoutSeconds <= 0 {
				t.Errorf("%s has no TimeoutSeconds", sm.Name)
			}
		}
	})
}

// A rebuild request the Pipe cannot deliver ends in an encrypted FIFO
// dead-letter queue, whose alarm notifies the failure topic when it fires
// and when it clears.
func TestTriggerQueueDeadLetters(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		alarms := m.byType("aws:cloudwatch/metricAlarm:MetricAlarm")
		if len(alarms) != len(triggeredLayers) {
			t.Fatalf("alarms = %d, want one per layer with triggers (%v)", len(alarms), triggeredLayers)
		}
		for _, name := range triggeredLayers {
			dlq := byName(t, m, "aws:sqs/queue:Queue", name+"-rebuilds-dlq")
			in := dlq.Inputs
			if in["fifoQueue"] != true || in["sqsManagedSseEnabled"] != true || in["messageRetentionSeconds"] != 1209600.0 {
				t.Errorf("%s: dead-letter queue = %v, want FIFO, encrypted, kept 14 days", name, in)
			}
			var redrive map[string]any
			queue := byName(t, m, "aws:sqs/queue:Queue", name+"-rebuilds")
			if err := json.Unmarshal([]byte(fmt.Sprint(queue.Inputs["redrivePolicy"])), &redrive); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"deadLetterTargetArn": dlq.State["arn"], "maxReceiveCount": float64(layers.MaxReceiveCount)}
			if diff := cmp.Diff(want, redrive); diff != "" {
				t.Errorf("%s: redrive policy (-want +got):\n%s", name, diff)
			}
			allow := byName(t, m, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", name+"-rebuilds-dlq-allow")
			if !strings.Contains(fmt.Sprint(allow.Inputs["redriveAllowPolicy"]), `"sourceQueueArns":["`+fmt.Sprint(queue.State["arn"])+`"]`) {
				t.Errorf("%s: redrive allow policy %v, want only the trigger queue", name, allow.Inputs["redriveAllowPolicy"])
			}

			i := slices.IndexFunc(alarms, func(a *res) bool { return get(a.Inputs, "dimensions", "QueueName") == dlq.State["name"] })
			if i < 0 {
				t.Errorf("%s: no alarm on its dead-letter queue %v", name, dlq.State["name"])
				continue
			}
			a := alarms[i].Inputs
			got := map[string]any{
				"namespace": a["namespace"], "metricName": a["metricName"], "queue": get(a, "dimensions", "QueueName"),
				"comparisonOperator": a["comparisonOperator"], "threshold": a["threshold"],
				"alarmActions": a["alarmActions"], "okActions": a["okActions"],
			}
			wantAlarm := map[string]any{
				"namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible", "queue": dlq.State["name"],
				"comparisonOperator": "GreaterThanThreshold", "threshold": 0.0,
				"alarmActions": []any{failureTopicArn}, "okActions": []any{failureTopicArn},
			}
			if diff := cmp.Diff(wantAlarm, got); diff != "" {
				t.Errorf("%s: dead-letter alarm (-want +got):\n%s", name, diff)
			}
		}
	})
}
