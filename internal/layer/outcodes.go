package layer

// The per-outcode publish that every layer ending in outcode files shares:
// first_letter_to_outcode_parquet splits each letter of a joined table into
// <OUTCODE>.parquet files, delete_stale_outcodes removes those no letter
// produced. A layer owns its own copies, so each has its own role.

// OutcodeFunctions are the split and the stale deletion, as a layer owns them.
func OutcodeFunctions() []Function {
	return []Function{
		{
			Role: OutcodeSplit, Source: "first_letter_to_outcode_parquet",
			Description: "Splits one first-letter partition into per-outcode parquet files",
			Timeout:     900, MemorySize: 1024, ExternalObjects: true,
		},
		{
			Role: DeleteStale, Source: "delete_stale_outcodes",
			Description: "Deletes outcode files whose outcode is no longer in AddressBase",
			Timeout:     120,
		},
	}
}

// OutcodeGrants are what those two need: read the joined table under
// joinedPrefix and write, skip and delete outcode files under
// outcodePrefix, all in bucket.
func OutcodeGrants(bucket, joinedPrefix, outcodePrefix string) []Grant {
	return []Grant{
		{Role: OutcodeSplit, Sid: "ListBucket", Actions: []string{"s3:ListBucket"}, Resources: []Resource{Bucket(bucket)}},
		{Role: OutcodeSplit, Sid: "ReadJoined", Actions: []string{"s3:GetObject"}, Resources: []Resource{Objects(bucket, joinedPrefix)}, WildcardReason: ObjectsUnderPrefix},
		{
			// GetObject also covers HeadObject, used to skip unchanged files.
			Role: OutcodeSplit, Sid: "WriteOutcodes", Actions: []string{"s3:GetObject", "s3:PutObject"},
			Resources: []Resource{Objects(bucket, outcodePrefix)}, WildcardReason: ObjectsUnderPrefix,
		},
		{Role: DeleteStale, Sid: "ListBucket", Actions: []string{"s3:ListBucket"}, Resources: []Resource{Bucket(bucket)}},
		{Role: DeleteStale, Sid: "DeleteOutcodes", Actions: []string{"s3:DeleteObject"}, Resources: []Resource{Objects(bucket, outcodePrefix)}, WildcardReason: ObjectsUnderPrefix},
	}
}
