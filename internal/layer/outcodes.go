package layer

import "github.com/DemocracyClub/dc-data-baker/internal/tables"

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
		List(OutcodeSplit, "ListBucket", bucket, joinedPrefix, outcodePrefix),
		{Role: OutcodeSplit, Sid: "ReadJoined", Actions: []string{"s3:GetObject"}, Resources: []Resource{Objects(bucket, joinedPrefix)}, WildcardReason: ObjectsUnderPrefix},
		{
			// GetObject also covers HeadObject, used to skip unchanged files.
			Role: OutcodeSplit, Sid: "WriteOutcodes", Actions: []string{"s3:GetObject", "s3:PutObject"},
			Resources: []Resource{Objects(bucket, outcodePrefix)}, WildcardReason: ObjectsUnderPrefix,
		},
		List(DeleteStale, "ListBucket", bucket, outcodePrefix),
		{Role: DeleteStale, Sid: "DeleteOutcodes", Actions: []string{"s3:DeleteObject"}, Resources: []Resource{Objects(bucket, outcodePrefix)}, WildcardReason: ObjectsUnderPrefix},
	}
}

// JoinedTable is a layer's joined table: every address with its list column
// (listColumn, described by listComment), partitioned by first letter under
// addressbase/<environment>/<name>/ and filled by query. The outcode split
// reads it.
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
	}
}

// OutcodeFolder is where a layer's per-outcode files go: not a Glue table,
// but located like one.
func OutcodeFolder(b tables.Buckets, folder string) tables.Table {
	return tables.Table{Name: folder, Bucket: b.AddressBase, Prefix: "addressbase/{environment}/" + folder + "/"}
}
