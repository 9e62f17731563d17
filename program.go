package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/DemocracyClub/dc-data-baker/components/core"
	"github.com/DemocracyClub/dc-data-baker/components/failures"
	"github.com/DemocracyClub/dc-data-baker/components/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	layerlist "github.com/DemocracyClub/dc-data-baker/internal/layers"
	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// sharedFunctionOutputs name the stack outputs of Core's functions' ARNs.
var sharedFunctionOutputs = map[layer.Role]string{
	layer.Query:         "runAthenaQueryFunctionArn",
	layer.EmptyPrefix:   "emptyS3PrefixFunctionArn",
	layer.Guard:         "checkStepFunctionRunningFunctionArn",
	layer.TableLocation: "getGlueTableLocationFunctionArn",
}

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
		RawHistoryDays:     cfg.RawHistoryDays,
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
	ctx.Export("glueDatabaseName", c.DatabaseName)
	ctx.Export("athenaWorkgroupName", c.WorkgroupName)
	ctx.Export("resultsBucketName", c.ResultsBucketName)
	ctx.Export("resultsBucketArn", c.ResultsBucketArn)
	ctx.Export("rawHistoryBucketName", c.HistoryBucketName)
	ctx.Export("failureTopicArn", c.FailureTopicArn)
	for role, output := range sharedFunctionOutputs {
		ctx.Export(output, c.Functions[role].Arn)
	}

	settings := layer.Settings{
		Names:   c.Names,
		Vars:    tables.Vars{Environment: cfg.Environment, Release: cfg.AddressBaseRelease, BallotsPrefix: cfg.BallotsPrefix},
		Buckets: tables.Buckets{AddressBase: c.AddressBase.Name, EE: c.EE.Name},
		EEDatabase: layer.DatabaseParams{
			Host: cfg.EEDBHostParam, User: cfg.EEDBUserParam, Name: cfg.EEDBNameParam, Password: cfg.EEDBPasswordParam,
			EphemeralStorage: cfg.ExportEphemeralStorageMB,
		},
		Schedule:            cfg.CurrentElectionsSchedule,
		TriggerDelaySeconds: cfg.RebuildDelaySeconds,
		Selection: layer.Selection{
			BallotsLookbackDays: cfg.BallotsLookbackDays,
			ReviewsMapOnly:      cfg.BoundaryReviewsMapOnly,
			ReviewsLookbackDays: cfg.BoundaryReviewsLookbackDays,
		},
	}
	if v := cfg.EEDatabaseVPC; v != nil {
		settings.EEDatabase.VPC = &layer.VPC{SubnetIDs: v.SubnetIDs, SecurityGroupIDs: v.SecurityGroupIDs}
	}
	specs, err := layerlist.Specs(settings)
	if err != nil {
		return err
	}
	machines, alarms := pulumi.StringArray{}, pulumi.StringArray{}
	for _, spec := range specs {
		l, err := layers.New(ctx, spec, c)
		if err != nil {
			return fmt.Errorf("%s layer: %w", spec.Name, err)
		}
		for _, name := range slices.Sorted(maps.Keys(l.Outputs)) {
			ctx.Export(name, l.Outputs[name])
		}
		machines = append(machines, l.StateMachineArn)
		alarms = append(alarms, l.AlarmArns...)
	}
	// Every layer's machine, however it was started, and every layer's
	// alarm reach the failure topic.
	if _, err := failures.NewRouting(ctx, "failures", &failures.RoutingArgs{
		AccountID: c.AccountID, TopicArn: c.FailureTopicArn, StateMachineArns: machines, AlarmArns: alarms,
	}); err != nil {
		return fmt.Errorf("failure routing: %w", err)
	}
	return nil
}
