// Package storage holds the project's S3 building blocks.
package storage

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PrivateBucketArgs configures a PrivateBucket.
type PrivateBucketArgs struct {
	// ExpireDays, if positive, expires current objects (and noncurrent
	// versions) after that many days.
	ExpireDays int
	// ForceDestroy lets `pulumi destroy` delete the bucket with its objects;
	// set it only for data that can be made again.
	ForceDestroy bool
}

// PrivateBucket is a versioned bucket that blocks public access, encrypts at
// rest, enforces bucket-owner object ownership and denies requests without TLS.
type PrivateBucket struct {
	pulumi.ResourceState

	Bucket *s3.BucketV2
	Name   pulumi.StringOutput
	Arn    pulumi.StringOutput
}

// NewPrivateBucket creates a PrivateBucket.
func NewPrivateBucket(ctx *pulumi.Context, name string, args *PrivateBucketArgs, opts ...pulumi.ResourceOption) (*PrivateBucket, error) {
	if args == nil {
		args = &PrivateBucketArgs{}
	}
	c := &PrivateBucket{}
	if err := ctx.RegisterComponentResource("dc-data-baker:storage:PrivateBucket", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	b, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{ForceDestroy: pulumi.Bool(args.ForceDestroy)}, parent)
	if err != nil {
		return nil, err
	}
	c.Bucket, c.Name, c.Arn = b, b.Bucket, b.Arn

	pab, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                b.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
					SseAlgorithm: pulumi.String("AES256"),
				},
				BucketKeyEnabled: pulumi.Bool(true),
			},
		},
	}, parent); err != nil {
		return nil, err
	}
	versioning, err := s3.NewBucketVersioningV2(ctx, name+"-versioning", &s3.BucketVersioningV2Args{
		Bucket:                  b.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, parent)
	if err != nil {
		return nil, err
	}
	if args.ExpireDays > 0 {
		if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
			Bucket: b.ID(),
			Rules: s3.BucketLifecycleConfigurationV2RuleArray{
				s3.BucketLifecycleConfigurationV2RuleArgs{
					Id:     pulumi.String("expire"),
					Status: pulumi.String("Enabled"),
					Filter: &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
					Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{
						Days: pulumi.Int(args.ExpireDays),
					},
					NoncurrentVersionExpiration: &s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
						NoncurrentDays: pulumi.Int(1),
					},
					AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
						DaysAfterInitiation: pulumi.Int(1),
					},
				},
			},
		}, parent, pulumi.DependsOn([]pulumi.Resource{versioning})); err != nil {
			return nil, err
		}
	}
	policy := b.Arn.ApplyT(func(arn string) (string, error) {
		doc, err := json.Marshal(denyInsecureTransport(arn))
		return string(doc), err
	}).(pulumi.StringOutput)
	if _, err := s3.NewBucketPolicy(ctx, name+"-tls-only", &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: policy,
	}, parent, pulumi.DependsOn([]pulumi.Resource{pab})); err != nil {
		return nil, err
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"name": c.Name, "arn": c.Arn})
}

// denyInsecureTransport is a bucket policy that refuses any request made
// without TLS. It is a Deny, so the "*" principal and "s3:*" action widen
// what is refused, not what is allowed: that is how AWS documents it.
func denyInsecureTransport(arn string) map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       "DenyInsecureTransport",
			"Effect":    "Deny",
			"Principal": "*",
			"Action":    "s3:*",
			"Resource":  []string{arn, arn + "/*"},
			"Condition": map[string]any{"Bool": map[string]string{"aws:SecureTransport": "false"}},
		}},
	}
}
