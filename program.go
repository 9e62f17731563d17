package main

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/components/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// program is the body of the Pulumi program: config, Core, the layers and
// the stack outputs.
func program(ctx *pulumi.Context) error {
	cfg, err := configure(ctx)
	if err != nil {
		return err
	}
	if err := ctx.RegisterStackTransformation(tagEverything(cfg.Tags())); err != nil {
		return fmt.Errorf("register tagging: %w", err)
	}

	c, err := core.NewCore(ctx, "core", &core.CoreArgs{
		Environment:        cfg.Environment,
		ResultsExpireDays:  cfg.AthenaResultsExpireDays,
		BytesScannedCutoff: cfg.AthenaBytesScannedCutoff,
		FailureEmail:       cfg.FailureEmail,
		LogRetentionDays:   cfg.LogRetentionDays,
		AddressBaseBucket:  cfg.AddressBaseBucket,
		EEBucket:           cfg.EEBucket,

		ExternalBucketKMSKeyArns: cfg.ExternalBucketKMSKeyArns,
		LakeFormation:            cfg.LakeFormation,
	})
	if err != nil {
		return fmt.Errorf("core: %w", err)
	}

	vars := tables.Vars{Environment: cfg.Environment, Release: cfg.AddressBaseRelease, BallotsPrefix: cfg.BallotsPrefix}
	ab, err := layers.NewAddressBase(ctx, "addressbase", &layers.AddressBaseArgs{Core: c, Vars: vars})
	if err != nil {
		return fmt.Errorf("addressbase layer: %w", err)
	}

	ce, err := layers.NewCurrentElections(ctx, "current-elections", &layers.CurrentElectionsArgs{
		Core: c, Vars: vars, LogRetentionDays: cfg.LogRetentionDays,
		EEDatabase: layers.EEDatabaseParams{
			Host: cfg.EEDBHostParam, User: cfg.EEDBUserParam, Name: cfg.EEDBNameParam, Password: cfg.EEDBPasswordParam,
		},
		Schedule:            cfg.CurrentElectionsSchedule,
		TriggerDelaySeconds: cfg.RebuildDelaySeconds,
	})
	if err != nil {
		return fmt.Errorf("current elections layer: %w", err)
	}

	ctx.Export("glueDatabaseName", c.DatabaseName)
	ctx.Export("athenaWorkgroupName", c.WorkgroupName)
	ctx.Export("resultsBucketName", c.ResultsBucketName)
	ctx.Export("resultsBucketArn", c.ResultsBucketArn)
	ctx.Export("failureTopicArn", c.FailureTopicArn)
	ctx.Export("runAthenaQueryFunctionArn", c.Functions.Query.Arn)
	ctx.Export("emptyS3PrefixFunctionArn", c.Functions.EmptyPrefix.Arn)
	ctx.Export("checkStepFunctionRunningFunctionArn", c.Functions.Guard.Arn)
	ctx.Export("getGlueTableLocationFunctionArn", c.Functions.TableLocation.Arn)
	ctx.Export("addressbasePartitionedLocation", ab.PartitionedLocation)
	ctx.Export("addressbaseStateMachineArn", ab.StateMachineArn)
	ctx.Export("currentElectionsOutputLocation", ce.OutputLocation)
	ctx.Export("currentElectionsStateMachineArn", ce.StateMachineArn)
	ctx.Export("currentElectionsTriggerQueueUrl", ce.TriggerQueueUrl)
	return nil
}
