package layer

import (
	"path"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/tables"
)

// EEExport declares a Lambda that exports a CSV from EveryElection's
// database (functions/<source>, on internal/eeexport) to bucket/key, with
// its grants: it reads the database parameters by name, and publishes the
// file by staging it under a hidden temporary key and copying it over key.
// It also keeps a dated copy of each file in the raw-history bucket, under
// the key's base name without extension (current_elections/), and may
// write nowhere else there.
func EEExport(role Role, source, description, bucket, key string, db DatabaseParams) (Function, []Grant) {
	temp := tables.HiddenKey(key, "")
	const tempKeys = "temporary keys end in the run's request ID"
	history := strings.TrimSuffix(path.Base(key), path.Ext(key)) + "/"
	fn := Function{
		Role: role, Source: source, Description: description,
		Timeout: 300, MemorySize: 512, ExternalObjects: true,
		VPC: db.VPC, EphemeralStorage: db.EphemeralStorage, History: history,
		Env: map[string]string{
			"BUCKET": bucket, "KEY": key,
			"DB_HOST_PARAM": db.Host, "DB_USER_PARAM": db.User, "DB_NAME_PARAM": db.Name, "DB_PASSWORD_PARAM": db.Password,
			"DB_SSLMODE": "require",
		},
	}
	grants := []Grant{
		{
			// SecureStrings under the AWS-managed aws/ssm key decrypt
			// through SSM without a kms statement.
			Role: role, Sid: "ReadDatabaseParameters", Actions: []string{"ssm:GetParameters"},
			Resources: []Resource{Parameter(db.Host), Parameter(db.User), Parameter(db.Name), Parameter(db.Password)},
		},
		{
			// The export stages its file under a hidden temporary key
			// (tables.HiddenKey) and copies it over the real one.
			Role: role, Sid: "PublishCSV", Actions: []string{"s3:PutObject"},
			Resources:      []Resource{Object(bucket, key), Objects(bucket, temp)},
			WildcardReason: tempKeys,
		},
		{
			Role: role, Sid: "StageCSV", Actions: []string{"s3:GetObject", "s3:DeleteObject"},
			Resources: []Resource{Objects(bucket, temp)}, WildcardReason: tempKeys,
		},
		{
			Role: role, Sid: "KeepRawHistory", Actions: []string{"s3:PutObject"},
			Resources: []Resource{HistoryObjects(history)}, WildcardReason: "dated copies go under the export's history folder",
		},
	}
	return fn, grants
}
