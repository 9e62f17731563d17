package layer

import "github.com/DemocracyClub/dc-data-baker/internal/tables"

// The per-outcode publish that every layer ending in outcode files shares:
// first_letter_to_outcode_parquet splits each letter of a joined table into
// <OUTCODE>.parquet files under a staging folder; once every letter has
// succeeded, publish_outcodes copies the changed ones to the folder
// consumers read and removes those no letter produced. A failure before
// the publish leaves that folder as it was. A layer owns its own copies,
// so each has its own role.

// OutcodeFunctions are the split and the publish, as a layer owns them.
func OutcodeFunctions() []Function {
	return []Function{
		{
			Role: OutcodeSplit, Source: "first_letter_to_outcode_parquet",
			Description: "Splits one first-letter partition into per-outcode parquet files",
			Timeout:     900, MemorySize: 1024, ExternalObjects: true,
		},
		{
			Role: Publish, Source: "publish_outcodes",
			Description: "Copies changed outcode files from staging to the live folder and deletes outcodes no longer in AddressBase",
			// Its copies read and write objects of the AddressBase bucket,
			// which may be SSE-KMS with a key the project does not own.
			Timeout: 120, ExternalObjects: true,
		},
	}
}

// OutcodeGrants are what those two need, all in bucket: the split reads
// the joined table under joinedPrefix and writes and skips files under
// stagingPrefix; the publish reads staged files, copies them to
// outcodePrefix and deletes stale files under both.
func OutcodeGrants(bucket, joinedPrefix, stagingPrefix, outcodePrefix string) []Grant {
	return []Grant{
		List(OutcodeSplit, "ListBucket", bucket, joinedPrefix, stagingPrefix),
		{Role: OutcodeSplit, Sid: "ReadJoined", Actions: []string{"s3:GetObject"}, Resources: []Resource{Objects(bucket, joinedPrefix)}, WildcardReason: ObjectsUnderPrefix},
		{
			// GetObject also covers HeadObject, used to skip unchanged files.
			Role: OutcodeSplit, Sid: "WriteStaged", Actions: []string{"s3:GetObject", "s3:PutObject"},
			Resources: []Resource{Objects(bucket, stagingPrefix)}, WildcardReason: ObjectsUnderPrefix,
		},
		List(Publish, "ListBucket", bucket, stagingPrefix, outcodePrefix),
		{
			// A copy's source needs GetObject; HeadObject compares digests.
			Role: Publish, Sid: "ReadAndTidyStaged", Actions: []string{"s3:GetObject", "s3:DeleteObject"},
			Resources: []Resource{Objects(bucket, stagingPrefix)}, WildcardReason: ObjectsUnderPrefix,
		},
		{
			Role: Publish, Sid: "PublishOutcodes", Actions: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
			Resources: []Resource{Objects(bucket, outcodePrefix)}, WildcardReason: ObjectsUnderPrefix,
		},
	}
}

// JoinedTable is a layer's joined table: every address with its list column
// (listColumn, described by listComment), partitioned by first letter under
// addressbase/<environment>/<name>/, filled by query, each run under its
// own prefix (RunScoped). The outcode split reads it.
func JoinedTable(b tables.Buckets, name, description, listColumn, listComment, query string) tables.Table {
	return tables.Table{
		Name:        name,
		Description: description,
		Bucket:      b.AddressBase,
		Prefix:      "addressbase/{environment}/" + name + "/",
		Format:      tables.Parquet,
		Columns: []tables.Column{
			tables.String("uprn"), tables.String("address"), tables.String("postcode"), tables.String("addressbase_source"),
			{Name: listColumn, Type: "array<string>", Comment: listComment},
		},
		PartitionKeys: tables.FirstLetter,
		Query:         query,
		RunScoped:     true,
	}
}

// OutcodeFolder is where a layer's per-outcode files go: not a Glue table,
// but located like one.
func OutcodeFolder(b tables.Buckets, folder string) tables.Table {
	return tables.Table{Name: folder, Bucket: b.AddressBase, Prefix: "addressbase/{environment}/" + folder + "/"}
}

// OutcodeStaging is where a layer's split writes the per-outcode files
// before they are published to OutcodeFolder: beside it, not inside, so
// consumers that sync the live folder never see a staged file.
func OutcodeStaging(b tables.Buckets, folder string) tables.Table {
	return tables.Table{Name: folder + "_staging", Bucket: b.AddressBase, Prefix: "addressbase/{environment}/staging/" + folder + "/"}
}
