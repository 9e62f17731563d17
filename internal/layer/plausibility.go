package layer

import "github.com/DemocracyClub/dc-data-baker/internal/manifest"

// PlausibilityFunction is plausibility_gate, as a layer with outcode files
// owns it: it runs the split of every letter into its temporary folder, so
// it gets the split's time and more memory.
func PlausibilityFunction() Function {
	return Function{
		Role: Plausibility, Source: "plausibility_gate",
		Description: "Compares the outcode files about to be published with the last manifest and refuses an implausible change",
		Timeout:     900, MemorySize: 2048, ExternalObjects: true,
	}
}

// PlausibilityGrants are what it needs in bucket: list it, read the joined
// table and the published outcode files, read and write the manifest
// beside them; and read the areas CSV (areasBucket/areasKey).
func PlausibilityGrants(bucket, joinedPrefix, outcodePrefix, areasBucket, areasKey string) []Grant {
	return []Grant{
		{Role: Plausibility, Sid: "ListBucket", Actions: []string{"s3:ListBucket"}, Resources: []Resource{Bucket(bucket)}},
		{
			Role: Plausibility, Sid: "ReadJoinedAndPublished", Actions: []string{"s3:GetObject"},
			Resources: []Resource{Objects(bucket, joinedPrefix), Objects(bucket, outcodePrefix)}, WildcardReason: ObjectsUnderPrefix,
		},
		{
			// GetObject also covers HeadObject, used to skip an unchanged manifest.
			Role: Plausibility, Sid: "WriteManifest", Actions: []string{"s3:GetObject", "s3:PutObject"},
			Resources: []Resource{Objects(bucket, manifestPrefix(outcodePrefix))}, WildcardReason: ObjectsUnderPrefix,
		},
		{Role: Plausibility, Sid: "ReadAreas", Actions: []string{"s3:GetObject"}, Resources: []Resource{Object(areasBucket, areasKey)}},
	}
}

// manifestPrefix is the folder of manifest.Key(outcodePrefix).
func manifestPrefix(outcodePrefix string) string {
	k := manifest.Key(outcodePrefix)
	return k[:len(k)-len(manifest.FileName)]
}
