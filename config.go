package main

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Environments a stack may deploy.
var environments = []string{"development", "staging", "production"}

// CloudWatch accepts only these log retention periods, in days.
var logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

var (
	// A parameter name is a path: requiring the leading "/" keeps a pasted
	// secret from being taken for a name.
	ssmParamName  = regexp.MustCompile(`^/[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)+$`)
	scheduleExpr  = regexp.MustCompile(`^(cron|rate)\(.+\)$`)
	ballotsPrefix = regexp.MustCompile(`^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*/$`)
	kmsKeyArn     = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`)
	subnetID      = regexp.MustCompile(`^subnet-[0-9a-f]{8}([0-9a-f]{9})?$`)
	securityGroup = regexp.MustCompile(`^sg-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

// VPCConfig is the eeDatabaseVpc config: where the export Lambdas run to
// reach EveryElection's database when it is not public.
type VPCConfig struct {
	SubnetIDs        []string `json:"subnetIds"`
	SecurityGroupIDs []string `json:"securityGroupIds"`
}

// eeBallotsPrefix is the folder where EveryElection writes its own ballots
// CSV. Production reads it; any other stack reading or writing under it would
// mix environments, because Athena reads every object under a table's
// location.
const eeBallotsPrefix = "ballots-with-wkt/"

// Config is the stack configuration, read once by configure. Defaults live in
// Pulumi.yaml, where the CLI applies them.
type Config struct {
	Environment              string
	FailureEmail             string
	AthenaBytesScannedCutoff int
	AthenaResultsExpireDays  int
	LogRetentionDays         int
	AddressBaseBucket        string
	AddressBaseRelease       string
	EEBucket                 string
	// BallotsPrefix has {environment} filled in.
	BallotsPrefix string
	// ExternalBucketKMSKeyArns are the SSE-KMS keys of the buckets the
	// project does not own, if any.
	ExternalBucketKMSKeyArns []string
	// LakeFormation is true when Lake Formation governs the catalog.
	LakeFormation bool
	// EE database SSM parameter names (names, never values).
	EEDBHostParam, EEDBUserParam, EEDBNameParam, EEDBPasswordParam string
	CurrentElectionsSchedule                                       string
	RebuildDelaySeconds                                            int
	// EEDatabaseVPC, if set, puts the export Lambdas in these subnets.
	EEDatabaseVPC *VPCConfig
	// ExportEphemeralStorageMB is the export Lambdas' /tmp, where the CSV
	// is staged before upload.
	ExportEphemeralStorageMB int
	// RawHistoryDays is how long the dated copies of each export are kept.
	RawHistoryDays int
	// Which rows the exports select besides the contract's rule.
	BallotsLookbackDays, BoundaryReviewsLookbackDays int
	BoundaryReviewsMapOnly                           bool
}

// Tags go on every taggable resource.
func (c Config) Tags() map[string]string {
	return map[string]string{"dc-product": "dc-data-baker", "dc-environment": c.Environment}
}

// configure reads and validates the stack config.
func configure(ctx *pulumi.Context) (Config, error) {
	cfg := config.New(ctx, "")
	var c Config
	var errs []string
	str := func(key string, dst *string) {
		v, err := cfg.Try(key)
		if err != nil {
			errs = append(errs, fmt.Sprintf("missing required config %s:%s (set it in Pulumi.%s.yaml)", ctx.Project(), key, ctx.Stack()))
			return
		}
		*dst = strings.TrimSpace(v)
	}
	num := func(key string, dst *int) {
		v, err := cfg.TryInt(key)
		if err != nil {
			errs = append(errs, fmt.Sprintf("config %s:%s: %v", ctx.Project(), key, err))
			return
		}
		*dst = v
	}
	str("environment", &c.Environment)
	str("addressbaseBucket", &c.AddressBaseBucket)
	str("addressbaseRelease", &c.AddressBaseRelease)
	str("eeBucket", &c.EEBucket)
	str("ballotsPrefix", &c.BallotsPrefix)
	str("eeDbHostParam", &c.EEDBHostParam)
	str("eeDbUserParam", &c.EEDBUserParam)
	str("eeDbNameParam", &c.EEDBNameParam)
	str("eeDbPasswordParam", &c.EEDBPasswordParam)
	str("currentElectionsSchedule", &c.CurrentElectionsSchedule)
	num("rebuildDelaySeconds", &c.RebuildDelaySeconds)
	num("athenaBytesScannedCutoff", &c.AthenaBytesScannedCutoff)
	num("athenaResultsExpireDays", &c.AthenaResultsExpireDays)
	num("logRetentionDays", &c.LogRetentionDays)
	num("exportEphemeralStorageMb", &c.ExportEphemeralStorageMB)
	num("rawHistoryDays", &c.RawHistoryDays)
	num("ballotsLookbackDays", &c.BallotsLookbackDays)
	num("boundaryReviewsLookbackDays", &c.BoundaryReviewsLookbackDays)
	if v, err := cfg.TryBool("boundaryReviewsMapOnly"); err == nil {
		c.BoundaryReviewsMapOnly = v
	} else {
		errs = append(errs, fmt.Sprintf("config %s:boundaryReviewsMapOnly: %v", ctx.Project(), err))
	}
	var vpc VPCConfig
	if err := cfg.TryObject("eeDatabaseVpc", &vpc); err == nil {
		c.EEDatabaseVPC = &vpc
	} else if !errors.Is(err, config.ErrMissingVar) {
		errs = append(errs, fmt.Sprintf("config %s:eeDatabaseVpc: %v (want {subnetIds: [...], securityGroupIds: [...]})", ctx.Project(), err))
	}
	c.FailureEmail = strings.TrimSpace(cfg.Get("failureEmail"))
	if err := cfg.TryObject("externalBucketKmsKeyArns", &c.ExternalBucketKMSKeyArns); err != nil && !errors.Is(err, config.ErrMissingVar) {
		errs = append(errs, fmt.Sprintf("config %s:externalBucketKmsKeyArns: %v (want a list of KMS key ARNs)", ctx.Project(), err))
	}
	if v, err := cfg.TryBool("lakeFormation"); err == nil {
		c.LakeFormation = v
	} else if !errors.Is(err, config.ErrMissingVar) {
		errs = append(errs, fmt.Sprintf("config %s:lakeFormation: %v", ctx.Project(), err))
	}
	c.BallotsPrefix = strings.ReplaceAll(c.BallotsPrefix, "{environment}", c.Environment)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("stack %s: %s", ctx.Stack(), strings.Join(errs, "; "))
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("stack %s: %w", ctx.Stack(), err)
	}
	return c, nil
}

func (c Config) validate() error {
	if !slices.Contains(environments, c.Environment) {
		return fmt.Errorf("unknown environment %q: want one of %s", c.Environment, strings.Join(environments, ", "))
	}
	// Athena refuses a per-query cutoff under 10 MB.
	if c.AthenaBytesScannedCutoff < 10_000_000 {
		return fmt.Errorf("athenaBytesScannedCutoff %d is below Athena's minimum of 10000000 bytes", c.AthenaBytesScannedCutoff)
	}
	if c.AthenaResultsExpireDays < 1 {
		return fmt.Errorf("athenaResultsExpireDays %d must be at least 1", c.AthenaResultsExpireDays)
	}
	if !slices.Contains(logRetentions, c.LogRetentionDays) {
		return fmt.Errorf("logRetentionDays %d is not a CloudWatch retention period (%v)", c.LogRetentionDays, logRetentions)
	}
	for key, v := range map[string]string{"addressbaseBucket": c.AddressBaseBucket, "eeBucket": c.EEBucket, "addressbaseRelease": c.AddressBaseRelease} {
		if v == "" || strings.ContainsAny(v, "/{}'\" ") {
			return fmt.Errorf("%s %q must be a plain, non-empty name", key, v)
		}
	}
	if !ballotsPrefix.MatchString(c.BallotsPrefix) {
		return fmt.Errorf("ballotsPrefix %q must be a relative S3 prefix ending in /, e.g. ballots-with-wkt-{environment}/", c.BallotsPrefix)
	}
	// Either folder containing the other would let one environment's table
	// read the other's ballots.
	if c.Environment != "production" && (strings.HasPrefix(c.BallotsPrefix, eeBallotsPrefix) || strings.HasPrefix(eeBallotsPrefix, c.BallotsPrefix)) {
		return fmt.Errorf("ballotsPrefix %q overlaps %s, EveryElection's own folder that production reads: a %s stack needs a folder outside it, e.g. ballots-with-wkt-%s/",
			c.BallotsPrefix, eeBallotsPrefix, c.Environment, c.Environment)
	}
	for _, k := range c.ExternalBucketKMSKeyArns {
		if !kmsKeyArn.MatchString(k) {
			return fmt.Errorf("externalBucketKmsKeyArns: %q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; an alias will not do, IAM matches the key ARN)", k)
		}
	}
	for key, v := range map[string]string{"eeDbHostParam": c.EEDBHostParam, "eeDbUserParam": c.EEDBUserParam, "eeDbNameParam": c.EEDBNameParam, "eeDbPasswordParam": c.EEDBPasswordParam} {
		if !ssmParamName.MatchString(v) {
			return fmt.Errorf("%s %q must be an SSM parameter name such as /dc-data-baker/ee-db/host (a name, not a value)", key, v)
		}
	}
	if !scheduleExpr.MatchString(c.CurrentElectionsSchedule) {
		return fmt.Errorf("currentElectionsSchedule %q must be an EventBridge cron(...) or rate(...) expression", c.CurrentElectionsSchedule)
	}
	// SQS delays a message by at most 15 minutes.
	if c.RebuildDelaySeconds < 0 || c.RebuildDelaySeconds > 900 {
		return fmt.Errorf("rebuildDelaySeconds %d must be between 0 and 900", c.RebuildDelaySeconds)
	}
	if err := c.EEDatabaseVPC.validate(); err != nil {
		return fmt.Errorf("eeDatabaseVpc: %w", err)
	}
	if c.ExportEphemeralStorageMB < 512 || c.ExportEphemeralStorageMB > 10240 {
		return fmt.Errorf("exportEphemeralStorageMb %d must be between 512 and 10240 (Lambda's limits)", c.ExportEphemeralStorageMB)
	}
	if c.RawHistoryDays < 1 {
		return fmt.Errorf("rawHistoryDays %d must be at least 1", c.RawHistoryDays)
	}
	for key, days := range map[string]int{"ballotsLookbackDays": c.BallotsLookbackDays, "boundaryReviewsLookbackDays": c.BoundaryReviewsLookbackDays} {
		// The exports refuse more (a typo must not export all of EE's history).
		if days < 0 || days > layer.MaxLookbackDays {
			return fmt.Errorf("%s %d must be between 0 and %d", key, days, layer.MaxLookbackDays)
		}
	}
	if c.FailureEmail != "" {
		if _, err := mail.ParseAddress(c.FailureEmail); err != nil {
			return fmt.Errorf("failureEmail %q: %w", c.FailureEmail, err)
		}
	} else if c.Environment == "production" {
		return errors.New("failureEmail is required in production: without a subscriber a failed run reaches nobody")
	}
	return nil
}

// validate checks a VPC config: nil (not configured) is fine; otherwise
// 1 to 16 subnets and 1 to 5 security groups (Lambda's limits), each an ID.
func (v *VPCConfig) validate() error {
	if v == nil {
		return nil
	}
	if n := len(v.SubnetIDs); n < 1 || n > 16 {
		return fmt.Errorf("subnetIds has %d subnets, want 1 to 16", n)
	}
	if n := len(v.SecurityGroupIDs); n < 1 || n > 5 {
		return fmt.Errorf("securityGroupIds has %d security groups, want 1 to 5", n)
	}
	for i, id := range v.SubnetIDs {
		if !subnetID.MatchString(id) {
			return fmt.Errorf("subnetIds[%d] %q is not a subnet ID (subnet-0123456789abcdef0)", i, id)
		}
	}
	for i, id := range v.SecurityGroupIDs {
		if !securityGroup.MatchString(id) {
			return fmt.Errorf("securityGroupIds[%d] %q is not a security group ID (sg-0123456789abcdef0)", i, id)
		}
	}
	return nil
}
