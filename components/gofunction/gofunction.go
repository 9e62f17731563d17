// Package gofunction provides GoFunction, a Pulumi component that builds a
// Go Lambda from functions/<name> and deploys it with its own least-privilege
// role and log group.
package gofunction

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/internal/lambdabuild"
)

// TypeToken is the Pulumi type of the component.
const TypeToken = "dc-data-baker:functions:GoFunction"

// Defaults used when an argument is zero.
const (
	DefaultTimeout          = 60  // seconds
	DefaultMemorySize       = 256 // MB
	DefaultLogRetentionDays = 30
	DefaultFunctionsDir     = "functions"
)

// Fixed runtime settings: a Go binary named bootstrap on the OS-only
// runtime, built for Graviton.
const (
	Runtime      = "provided.al2023"
	Architecture = "arm64"
	Handler      = "bootstrap"
	LogFormat    = "JSON"
)

// maxNameLen keeps auto-named children within AWS limits: the role gets
// name+"-role-"+7 random characters and IAM role names hold 64.
const maxNameLen = 51

// GoFunctionArgs configures a GoFunction.
type GoFunctionArgs struct {
	// Source is the function's directory name under FunctionsDir, e.g.
	// "run_athena_query".
	Source string
	// FunctionsDir is the directory holding function sources, relative to
	// the module root. Defaults to "functions".
	FunctionsDir string
	// Description is the Lambda function's description.
	Description string
	// Timeout in seconds (1-900). Defaults to DefaultTimeout.
	Timeout int
	// MemorySize in MB (128-10240). Defaults to DefaultMemorySize.
	MemorySize int
	// Environment variables for the function.
	Environment pulumi.StringMap
	// LogRetentionDays is the log group's retention; it must be a value
	// CloudWatch accepts. Defaults to DefaultLogRetentionDays.
	LogRetentionDays int
	// Statements are the IAM permissions the function needs, besides
	// writing its own logs, which is always granted.
	Statements []Statement
	// Tags are applied to the role, log group and function.
	Tags pulumi.StringMap
	// VPC, if set, attaches the function to these subnets and security
	// groups, e.g. to reach a database that is not public; its role then
	// may manage the network interfaces that takes.
	VPC *VPC
	// EphemeralStorage is /tmp's size in MB (512-10240); 0 is Lambda's 512.
	EphemeralStorage int
}

// VPC is where a function in a VPC runs.
type VPC struct {
	SubnetIDs        []string
	SecurityGroupIDs []string
}

// vpcSid names the statement that lets a function in a VPC attach to it.
const vpcSid = "AttachToVpc"

// vpcStatement is what AWSLambdaVPCAccessExecutionRole grants, without its
// logs:* (the function's own log statement covers logs).
func vpcStatement() Statement {
	return Statement{
		Sid: vpcSid,
		Actions: []string{
			"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
		},
		Resources:      pulumi.ToStringArray([]string{"*"}),
		WildcardReason: "Lambda's VPC network interfaces: ec2 Describe* allow only *, and the interfaces Lambda creates have no ARN known beforehand",
	}
}

// GoFunction is a deployed Go Lambda with its role and log group.
type GoFunction struct {
	pulumi.ResourceState

	Arn          pulumi.StringOutput `pulumi:"arn"`
	Name         pulumi.StringOutput `pulumi:"name"`
	RoleArn      pulumi.StringOutput `pulumi:"roleArn"`
	LogGroupName pulumi.StringOutput `pulumi:"logGroupName"`
	// Policy is the rendered inline policy JSON; Parse reads it.
	Policy pulumi.StringOutput `pulumi:"policy"`
	// Artifact is the deployment package that was built.
	Artifact lambdabuild.Artifact

	role *iam.Role
}

// NewGoFunction builds args.Source for Lambda and creates its IAM role and
// inline policy, log group and Lambda function. It returns an error, before
// creating anything, for invalid arguments, including a "*" in an action or
// plain-string resource without a WildcardReason; a "*" in a resource that
// is only known at deploy time fails the policy rendering instead.
func NewGoFunction(ctx *pulumi.Context, name string, args *GoFunctionArgs, opts ...pulumi.ResourceOption) (*GoFunction, error) {
	a, err := withDefaults(name, args)
	if err != nil {
		return nil, fmt.Errorf("GoFunction %s: %w", name, err)
	}
	assume, err := assumeRolePolicy()
	if err != nil {
		return nil, fmt.Errorf("GoFunction %s: %w", name, err)
	}
	art, err := build(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("GoFunction %s: %w", name, err)
	}

	c := &GoFunction{Artifact: art}
	if err := ctx.RegisterComponentResource(TypeToken, name, c, opts...); err != nil {
		return nil, fmt.Errorf("GoFunction %s: register component: %w", name, err)
	}
	parent := pulumi.Parent(c)

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(assume),
		Description:      pulumi.String(roleDescription(a)),
		Tags:             a.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("GoFunction %s: role: %w", name, err)
	}

	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		NamePrefix:      pulumi.String("/aws/lambda/" + name + "-"),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
		Tags:            a.Tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("GoFunction %s: log group: %w", name, err)
	}

	stmts := a.Statements
	if a.VPC != nil {
		stmts = append(append([]Statement{}, stmts...), vpcStatement())
	}
	policyJSON := rolePolicy(stmts, logGroup.Arn)
	policy, err := iam.NewRolePolicy(ctx, name+"-policy", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policyJSON,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("GoFunction %s: role policy: %w", name, err)
	}

	fnArgs := &lambda.FunctionArgs{
		Description:    pulumi.String(a.Description),
		Runtime:        pulumi.String(Runtime),
		Architectures:  pulumi.StringArray{pulumi.String(Architecture)},
		Handler:        pulumi.String(Handler),
		Code:           pulumi.NewFileArchive(archivePath(art.ZipPath)),
		SourceCodeHash: pulumi.String(art.SourceCodeHash),
		Role:           role.Arn,
		Timeout:        pulumi.Int(a.Timeout),
		MemorySize:     pulumi.Int(a.MemorySize),
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat: pulumi.String(LogFormat),
			LogGroup:  logGroup.Name,
		},
		Tags: a.Tags,
	}
	if len(a.Environment) > 0 {
		fnArgs.Environment = &lambda.FunctionEnvironmentArgs{Variables: a.Environment}
	}
	if a.VPC != nil {
		fnArgs.VpcConfig = &lambda.FunctionVpcConfigArgs{
			SubnetIds:        pulumi.ToStringArray(a.VPC.SubnetIDs),
			SecurityGroupIds: pulumi.ToStringArray(a.VPC.SecurityGroupIDs),
		}
	}
	if a.EphemeralStorage != 0 {
		fnArgs.EphemeralStorage = &lambda.FunctionEphemeralStorageArgs{Size: pulumi.Int(a.EphemeralStorage)}
	}
	// The policy must exist before the first invocation can write logs.
	fn, err := lambda.NewFunction(ctx, name+"-fn", fnArgs, parent,
		pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, fmt.Errorf("GoFunction %s: function: %w", name, err)
	}

	c.role = role
	c.Arn = fn.Arn
	c.Name = fn.Name
	c.RoleArn = role.Arn
	c.LogGroupName = logGroup.Name
	c.Policy = policyJSON
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"arn":            fn.Arn,
		"name":           fn.Name,
		"roleArn":        role.Arn,
		"logGroupName":   logGroup.Name,
		"policy":         policyJSON,
		"sourceCodeHash": pulumi.String(art.SourceCodeHash),
	}); err != nil {
		return nil, fmt.Errorf("GoFunction %s: register outputs: %w", name, err)
	}
	return c, nil
}

// validRetention are the retention periods CloudWatch Logs accepts.
var validRetention = map[int]bool{
	1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true,
	120: true, 150: true, 180: true, 365: true, 400: true, 545: true, 731: true,
	1096: true, 1827: true, 2192: true, 2557: true, 2922: true, 3288: true, 3653: true,
}

var (
	sourceRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	envKeyRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// reservedEnv are variables the Lambda runtime sets and refuses.
	reservedEnv = map[string]bool{
		"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
		"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
		"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
		"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true,
		"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
		"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
	}
	printableRe = regexp.MustCompile(`^[\x20-\x7E]+$`)
)

// withDefaults validates args and fills in defaults, returning a copy.
func withDefaults(name string, args *GoFunctionArgs) (GoFunctionArgs, error) {
	if args == nil {
		return GoFunctionArgs{}, fmt.Errorf("args are nil")
	}
	a := *args
	if name == "" || len(name) > maxNameLen {
		return a, fmt.Errorf("name must be 1-%d characters so AWS names derived from it fit, got %d", maxNameLen, len(name))
	}
	if !sourceRe.MatchString(a.Source) {
		return a, fmt.Errorf("source %q must be a directory name under %s/ (letters, digits, _ and -)", a.Source, DefaultFunctionsDir)
	}
	if a.FunctionsDir == "" {
		a.FunctionsDir = DefaultFunctionsDir
	}
	if a.Timeout == 0 {
		a.Timeout = DefaultTimeout
	}
	if a.Timeout < 1 || a.Timeout > 900 {
		return a, fmt.Errorf("timeout %d s is outside Lambda's 1-900 s", a.Timeout)
	}
	if a.MemorySize == 0 {
		a.MemorySize = DefaultMemorySize
	}
	if a.MemorySize < 128 || a.MemorySize > 10240 {
		return a, fmt.Errorf("memory size %d MB is outside Lambda's 128-10240 MB", a.MemorySize)
	}
	if a.EphemeralStorage != 0 && (a.EphemeralStorage < 512 || a.EphemeralStorage > 10240) {
		return a, fmt.Errorf("ephemeral storage %d MB is outside Lambda's 512-10240 MB", a.EphemeralStorage)
	}
	if v := a.VPC; v != nil {
		if len(v.SubnetIDs) == 0 || len(v.SecurityGroupIDs) == 0 {
			return a, fmt.Errorf("VPC needs at least one subnet and one security group, got %d and %d", len(v.SubnetIDs), len(v.SecurityGroupIDs))
		}
		for _, st := range a.Statements {
			if st.Sid == vpcSid {
				return a, fmt.Errorf("statement Sid %q is reserved for the VPC statement", vpcSid)
			}
		}
	}
	if a.LogRetentionDays == 0 {
		a.LogRetentionDays = DefaultLogRetentionDays
	}
	if !validRetention[a.LogRetentionDays] {
		return a, fmt.Errorf("log retention %d days is not a retention CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)", a.LogRetentionDays)
	}
	for k := range a.Environment {
		if !envKeyRe.MatchString(k) {
			return a, fmt.Errorf("environment key %q must start with a letter and hold only letters, digits and _", k)
		}
		if reservedEnv[k] {
			return a, fmt.Errorf("environment key %q is reserved by the Lambda runtime", k)
		}
	}
	for i, s := range a.Statements {
		if s.WildcardReason != "" && !printableRe.MatchString(s.WildcardReason) {
			return a, fmt.Errorf("statement %d (Sid %q): WildcardReason must be printable ASCII (it goes into the role description)", i, s.Sid)
		}
	}
	if err := checkStatements(a.Statements); err != nil {
		return a, err
	}
	if d := roleDescription(a); len(d) > 1000 {
		return a, fmt.Errorf("role description with the wildcard reasons is %d characters, IAM allows 1000: shorten WildcardReason", len(d))
	}
	return a, nil
}

// roleDescription records why any statement needs a wildcard, so the reason
// is visible next to the policy in the IAM console.
func roleDescription(a GoFunctionArgs) string {
	var reasons []string
	for _, s := range a.Statements {
		if s.WildcardReason != "" {
			reasons = append(reasons, fmt.Sprintf("%s: %s", sidOr(s.Sid, strings.Join(s.Actions, ",")), s.WildcardReason))
		}
	}
	sort.Strings(reasons)
	d := "Lambda role for " + a.Source + "."
	if len(reasons) > 0 {
		d += " Wildcards: " + strings.Join(reasons, "; ") + "."
	}
	return d
}

func sidOr(sid, fallback string) string {
	if sid != "" {
		return sid
	}
	return fallback
}

// build compiles the function once per process, from the module root found
// above the working directory (the Pulumi program runs in the repo root).
func build(ctx *pulumi.Context, a GoFunctionArgs) (lambdabuild.Artifact, error) {
	wd, err := os.Getwd()
	if err != nil {
		return lambdabuild.Artifact{}, fmt.Errorf("build %s: working directory: %w", a.Source, err)
	}
	root, err := lambdabuild.FindModuleRoot(wd)
	if err != nil {
		return lambdabuild.Artifact{}, fmt.Errorf("build %s: %w", a.Source, err)
	}
	art, err := lambdabuild.Cached(ctx.Context(), root, filepath.Join(a.FunctionsDir, a.Source))
	if err != nil {
		return lambdabuild.Artifact{}, fmt.Errorf("build %s: %w", a.Source, err)
	}
	return art, nil
}

// archivePath returns zipPath relative to the working directory when it is
// below it, so the path recorded in the Pulumi state does not depend on
// where the checkout lives. Pulumi compares archives by content hash anyway.
func archivePath(zipPath string) string {
	wd, err := os.Getwd()
	if err != nil {
		return zipPath
	}
	rel, err := filepath.Rel(wd, zipPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		return zipPath
	}
	return rel
}

// Grant adds an inline policy with stmts to the function's role, for
// permissions that belong to someone else, such as a layer granting a shared
// Core function access to its own tables. name must be unique in the stack
// (e.g. layerName+"-query-grant"). The statements are checked as in
// NewGoFunction: a "*" needs a WildcardReason. The policy is parented to
// the function unless opts say otherwise.
func (f *GoFunction) Grant(ctx *pulumi.Context, name string, stmts []Statement, opts ...pulumi.ResourceOption) (*iam.RolePolicy, error) {
	if f == nil || f.role == nil {
		return nil, fmt.Errorf("grant %s: GoFunction was not created by NewGoFunction", name)
	}
	if name == "" {
		return nil, fmt.Errorf("grant: name is empty")
	}
	if len(stmts) == 0 {
		return nil, fmt.Errorf("grant %s: no statements", name)
	}
	for i, s := range stmts {
		if s.WildcardReason != "" && !printableRe.MatchString(s.WildcardReason) {
			return nil, fmt.Errorf("grant %s: statement %d (Sid %q): WildcardReason must be printable ASCII", name, i, s.Sid)
		}
	}
	if err := checkStatements(stmts); err != nil {
		return nil, fmt.Errorf("grant %s: %w", name, err)
	}
	opts = append([]pulumi.ResourceOption{pulumi.Parent(f)}, opts...)
	p, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Role:   f.role.ID(),
		Policy: grantPolicy(stmts),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("grant %s: role policy: %w", name, err)
	}
	return p, nil
}
