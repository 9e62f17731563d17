package core

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/gofunction"
)

// FailureKeyUse are the KMS actions that publishing to the encrypted
// failure topic needs: SNS generates a data key to encrypt the message and
// decrypts it to deliver it.
var FailureKeyUse = []string{"kms:GenerateDataKey", "kms:Decrypt"}

// failureKeyAdmin are the actions the account's IAM policies may grant on
// the failure topic's key: what Pulumi needs to create, read, update and
// delete it. Listed rather than "kms:*", so no IAM policy can make the key
// do anything else (e.g. re-encrypt or import key material).
var failureKeyAdmin = []string{
	"kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy",
	"kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:DisableKeyRotation",
	"kms:ListResourceTags", "kms:TagResource", "kms:UntagResource",
	"kms:UpdateKeyDescription", "kms:EnableKey", "kms:DisableKey",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
}

// FailureKeyPolicy is the failure topic key's policy. In a key policy
// "Resource": "*" means "this key" (KMS requires exactly "*"), so it is
// not a wildcard over keys.
//
// Who may use the key to publish:
//   - EventBridge (the failure rule) and CloudWatch (the dead-letter
//     alarms) as services acting for this account only (aws:SourceAccount,
//     against a confused deputy in another account).
//   - Step Functions: a state machine publishes with its execution role's
//     credentials, so KMS sees the role, never states.amazonaws.com. The
//     key therefore lets the account's IAM policies grant its use, but only
//     through SNS in this region (kms:ViaService), and each state
//     machine's role is granted FailureKeyUse on this key.
func FailureKeyPolicy(account, region string) (string, error) {
	root := &gofunction.Principal{AWS: gofunction.StringList{"arn:aws:iam::" + account + ":root"}}
	thisAccount := map[string]map[string]gofunction.StringList{"StringEquals": {"aws:SourceAccount": {account}}}
	b, err := json.Marshal(gofunction.PolicyDocument{Version: "2012-10-17", Statement: []gofunction.PolicyStatement{
		{Sid: "AccountAdministersKeyThroughIAM", Effect: "Allow", Principal: root, Action: failureKeyAdmin, Resource: gofunction.StringList{"*"}},
		{
			Sid: "AccountPublishesThroughSNS", Effect: "Allow", Principal: root, Action: FailureKeyUse, Resource: gofunction.StringList{"*"},
			Condition: map[string]map[string]gofunction.StringList{"StringEquals": {
				"kms:ViaService":    {"sns." + region + ".amazonaws.com"},
				"kms:CallerAccount": {account},
			}},
		},
		{
			Sid: "EventBridgePublishes", Effect: "Allow", Principal: &gofunction.Principal{Service: gofunction.StringList{"events.amazonaws.com"}},
			Action: FailureKeyUse, Resource: gofunction.StringList{"*"}, Condition: thisAccount,
		},
		{
			Sid: "CloudWatchAlarmsPublish", Effect: "Allow", Principal: &gofunction.Principal{Service: gofunction.StringList{"cloudwatch.amazonaws.com"}},
			Action: FailureKeyUse, Resource: gofunction.StringList{"*"}, Condition: thisAccount,
		},
	}})
	if err != nil {
		return "", fmt.Errorf("render failure key policy: %w", err)
	}
	return string(b), nil
}

// newFailureTopic creates the failure topic, encrypted with a key of its
// own: the AWS-managed alias/aws/sns key cannot be used by EventBridge or
// CloudWatch, whose messages about failed, timed-out and aborted runs and
// dead letters must reach the topic too.
func (c *Core) newFailureTopic(ctx *pulumi.Context, name, environment string, parent pulumi.ResourceOption) (*sns.Topic, error) {
	policy, err := FailureKeyPolicy(c.AccountID, c.Region)
	if err != nil {
		return nil, fmt.Errorf("failure topic: %w", err)
	}
	key, err := kms.NewKey(ctx, name+"-failures-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("Encrypts the dc-data-baker %s failure topic", environment),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy:               pulumi.String(policy),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("failure topic key: %w", err)
	}
	c.FailureTopicKeyArn = key.Arn
	topic, err := sns.NewTopic(ctx, name+"-failures", &sns.TopicArgs{
		DisplayName:    pulumi.Sprintf("dc-data-baker %s failures", environment),
		KmsMasterKeyId: key.Arn,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("failure topic: %w", err)
	}
	return topic, nil
}
