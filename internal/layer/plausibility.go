package layer

import "github.com/DemocracyClub/dc-data-baker/internal/manifest"

// PlausibilityFunction is plausibility_gate, as a layer with outcode files
// owns it: it reads every staged and every changed live outcode file, so
// it gets the split's time and memory.
func PlausibilityFunction() Function {
	return Function{
		Role: Plausibility, Source: "plausibility_gate",
		Description: "Compares the staged outcode files with the last manifest, refuses an implausible change and stages the run's manifest",
		Timeout:     900, MemorySize: 1024, ExternalObjects: true,
	}
}

// PlausibilityGrants are what the gate needs in bucket: list and read the
// staged (stagingPrefix) and the live (outcodePrefix) outcode files, read
// the live manifest, write the staged one, and read the areas CSV
// (areasBucket/areasKey). The splits write their letters' stats into the
// staged manifest's folder, and the publish copies the staged manifest
// live after the files, so it reads the one and writes the other.
func PlausibilityGrants(bucket, stagingPrefix, outcodePrefix, areasBucket, areasKey string) []Grant {
	staged, live := manifest.Dir(stagingPrefix), manifest.Dir(outcodePrefix)
	return []Grant{
		List(Plausibility, "ListBucket", bucket, stagingPrefix, outcodePrefix),
		{
			Role: Plausibility, Sid: "ReadStagedAndLive", Actions: []string{"s3:GetObject"},
			Resources: []Resource{Objects(bucket, stagingPrefix), Objects(bucket, outcodePrefix), Objects(bucket, live)}, WildcardReason: ObjectsUnderPrefix,
		},
		{
			// GetObject also covers HeadObject, used to skip an unchanged manifest.
			Role: Plausibility, Sid: "StageManifest", Actions: []string{"s3:GetObject", "s3:PutObject"},
			Resources: []Resource{Objects(bucket, staged)}, WildcardReason: ObjectsUnderPrefix,
		},
		{Role: Plausibility, Sid: "ReadAreas", Actions: []string{"s3:GetObject"}, Resources: []Resource{Object(areasBucket, areasKey)}},
		{
			// Each letter's split writes its files' stats for the gate.
			Role: OutcodeSplit, Sid: "WriteStats", Actions: []string{"s3:PutObject"},
			Resources: []Resource{Objects(bucket, manifest.StatsPrefix(stagingPrefix))}, WildcardReason: ObjectsUnderPrefix,
		},
		{Role: Publish, Sid: "ReadStagedManifest", Actions: []string{"s3:GetObject"}, Resources: []Resource{Objects(bucket, staged)}, WildcardReason: ObjectsUnderPrefix},
		{Role: Publish, Sid: "PublishManifest", Actions: []string{"s3:PutObject"}, Resources: []Resource{Objects(bucket, live)}, WildcardReason: ObjectsUnderPrefix},
	}
}
