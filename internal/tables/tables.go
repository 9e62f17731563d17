// Package tables is the model of a Glue table as a plain Go value: name,
// location, format, columns, partition keys and the named query that
// populates it. Each layer's package declares its own tables with it; the
// Pulumi component turns them into resources. Nothing here depends on
// Pulumi or AWS.
package tables

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Format is a table's storage format.
type Format int

const (
	CSV Format = iota + 1
	Parquet
)

func (f Format) String() string {
	switch f {
	case CSV:
		return "CSV"
	case Parquet:
		return "PARQUET"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Column is one Glue column; Type is a Hive type such as string or array<string>.
type Column struct {
	Name    string
	Type    string
	Comment string
}

// Table declares one Glue table.
type Table struct {
	Name        string
	Description string
	Bucket      string
	// Prefix is the key prefix under Bucket, ending in "/". It may name
	// {environment} and {release}, filled by Location.
	Prefix        string
	Format        Format
	Columns       []Column
	PartitionKeys []Column
	// SkipHeader is true only when the CSV files have a header line: the
	// AddressBase CSV has none, and skipping would drop one address per object.
	SkipHeader bool
	// Query is the named query that populates the table.
	Query string
	// RunScoped is true for a table partitioned by first_letter that each
	// run writes under its own prefix (RunPrefix) and that readers find by
	// partition projection at its Glue location, which a run switches only
	// once its gates have passed against the table's Staging twin.
	RunScoped bool
	// StagingOf names the table whose staging twin this is (Staging).
	StagingOf string
}

// RunsFolder is the folder, under a run-scoped table's prefix, that holds
// one prefix per run.
const RunsFolder = "runs/"

// RunPrefix is where the run called run writes a run-scoped table whose
// prefix (or s3:// location) is prefix.
func RunPrefix(prefix, run string) string { return prefix + RunsFolder + run + "/" }

// Staging is a run-scoped table's twin: the same columns, pointed by each
// run at its own prefix, so the gates can read what the run wrote before
// the table itself is switched to it.
func (t Table) Staging() Table {
	s := t
	s.Name = t.Name + "_staging"
	s.Description = "What the running execution wrote for " + t.Name + ", for its gates"
	s.Query = ""
	s.StagingOf = t.Name
	return s
}

// Letters are the first letters of UK postcodes, A–Z: the values a
// run-scoped table's first_letter partition projection enumerates.
func Letters() []string {
	out := make([]string, 0, 26)
	for c := 'A'; c <= 'Z'; c++ {
		out = append(out, string(c))
	}
	return out
}

// Projection is the Glue table parameters of a run-scoped table: partition
// projection of first_letter over Letters, with no storage.location.template,
// so Athena reads <location>first_letter=X/ and the location alone says
// which run the table shows. Other tables have none.
func (t Table) Projection() map[string]string {
	if !t.RunScoped {
		return nil
	}
	return map[string]string{
		"projection.enabled":             "true",
		"projection.first_letter.type":   "enum",
		"projection.first_letter.values": strings.Join(Letters(), ","),
	}
}

// Vars are the values a prefix may name.
type Vars struct {
	Environment string
	Release     string
	// BallotsPrefix is where the ballots CSV lives in the EE bucket; a
	// development stack uses its own, so it never overwrites production's.
	BallotsPrefix string
}

var prefixVar = regexp.MustCompile(`\{([a-z_]+)\}`)

// KeyPrefix returns the prefix with its variables filled. An unknown or empty
// variable is an error.
func (t Table) KeyPrefix(v Vars) (string, error) {
	values := map[string]string{"environment": v.Environment, "release": v.Release, "ballots_prefix": strings.TrimSuffix(v.BallotsPrefix, "/")}
	var err error
	p := prefixVar.ReplaceAllStringFunc(t.Prefix, func(m string) string {
		name := m[1 : len(m)-1]
		val, ok := values[name]
		if !ok || val == "" {
			err = fmt.Errorf("table %s: prefix %q names {%s}, which has no value", t.Name, t.Prefix, name)
		}
		return val
	})
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(p, "/") || strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("table %s: prefix %q must be relative and end in /", t.Name, p)
	}
	return p, nil
}

// Location returns the table's s3://bucket/prefix/ URI.
func (t Table) Location(v Vars) (string, error) {
	p, err := t.KeyPrefix(v)
	if err != nil {
		return "", err
	}
	return "s3://" + t.Bucket + "/" + p, nil
}

// Buckets names the buckets the tables live in. The project owns neither.
type Buckets struct {
	AddressBase string // pollingstations.private.data
	EE          string // ee.data-cache.production
}

// String is a string column.
func String(name string) Column { return Column{Name: name, Type: "string"} }

// FirstLetter is the partition key of the tables split by the first
// character of the postcode.
var FirstLetter = []Column{{Name: "first_letter", Type: "string", Comment: "first character of the postcode"}}

// HiddenKey is where a writer stages an object before copying it over key:
// the same folder, under a name that starts with a dot, because Athena (and
// Hive) skip objects whose names start with "." or "_", so a query over the
// table never sees a half-published copy.
func HiddenKey(key, runID string) string {
	dir, base := path.Split(key)
	return dir + "." + base + ".tmp-" + runID
}
