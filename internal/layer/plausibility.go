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
// the live manifest, write the staged one, list the AddressBase source
// (sourcePrefix, recorded as an input) and read the areas CSV
// (areasBucket/areasKey). The splits write their letters' stats into the
// staged manifest's folder, and the publish copies the staged manifest
// live after the files, so it reads the one and writes the other.
//
// Every folder a role reads or writes is also one it may list: without
// ListBucket, S3 answers a missing key with 403, not 404, and a first run
// (no previous manifest) or a first write (blob.S3.Put heads the key to
// skip unchanged bytes) would fail.
func PlausibilityGrants(bucket, stagingPrefix, outcodePrefix, sourcePrefix, areasBucket, areasKey string) []Grant {
	staged, live, stats := manifest.Dir(stagingPrefix), manifest.Dir(outcodePrefix), manifest.StatsPrefix(stagingPrefix)
	return []Grant{
		List(Plausibility, "ListBucket", bucket, stagingPrefix, outcodePrefix, staged, live, sourcePrefix),
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
			// Each letter's split writes its files' stats for the gate;
			// GetObject covers the HeadObject of blob.S3.Put.
			Role: OutcodeSplit, Sid: "WriteStats", Actions: []string{"s3:GetObject", "s3:PutObject"},
			Resources: []Resource{Objects(bucket, stats)}, WildcardReason: ObjectsUnderPrefix,
		},
		List(OutcodeSplit, "ListStats", bucket, stats),
		List(Publish, "ListManifests", bucket, staged, live),
		{Role: Publish, Sid: "ReadStagedManifest", Actions: []string{"s3:GetObject"}, Resources: []Resource{Objects(bucket, staged)}, WildcardReason: ObjectsUnderPrefix},
		{
			// GetObject covers the HeadObject of blob.S3.Put.
			Role: Publish, Sid: "PublishManifest", Actions: []string{"s3:GetObject", "s3:PutObject"},
			Resources: []Resource{Objects(bucket, live)}, WildcardReason: ObjectsUnderPrefix,
		},
	}
}
