// Package tables declares the Glue tables of every layer as plain Go values:
// name, location, format, columns, partition keys and the named query that
// populates the table. Pulumi components turn them into resources; nothing
// here depends on Pulumi or AWS.
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
	// Query names the sql/ template whose named query populates the table.
	Query string
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

func str(name string) Column { return Column{Name: name, Type: "string"} }

var firstLetter = []Column{{Name: "first_letter", Type: "string", Comment: "first character of the postcode"}}

// AddressBaseCleanedRaw is the AddressBase cleaned CSV: no header row.
func AddressBaseCleanedRaw(b Buckets) Table {
	return Table{
		Name:        "addressbase_cleaned_raw",
		Description: "AddressBase cleaned CSV as produced for WDIV (no header row)",
		Bucket:      b.AddressBase,
		Prefix:      "addressbase/{release}/addressbase_cleaned/",
		Format:      CSV,
		Columns: []Column{
			{Name: "uprn", Type: "string", Comment: "kept as a string: leading zeros and ONSPD filler rows"},
			str("address"), str("postcode"),
			{Name: "location", Type: "string", Comment: "EWKT: SRID=4326;POINT(lon lat)"},
			str("address_type"),
		},
	}
}

// AddressBasePartitioned is AddressBase as parquet, partitioned by first letter.
func AddressBasePartitioned(b Buckets) Table {
	return Table{
		Name:        "addressbase_partitioned",
		Description: "AddressBase as parquet, partitioned by the first letter of the postcode",
		Bucket:      b.AddressBase,
		Prefix:      "addressbase/{environment}/addressbase_partitioned/",
		Format:      Parquet,
		Columns: []Column{
			str("outcode"), str("uprn"), str("address"), str("postcode"),
			{Name: "longitude", Type: "double"}, {Name: "latitude", Type: "double"},
			{Name: "addressbase_source", Type: "string", Comment: "s3:// URI of the source prefix"},
		},
		PartitionKeys: firstLetter,
		Query:         "partition-addressbase-cleaned",
	}
}

// CurrentBallots is EE's export of current ballots with their WKT. Its CSV
// has a header row (election_id,geography_id,geography_text,source_table).
func CurrentBallots(b Buckets) Table {
	return Table{
		Name:        "current_ballots",
		Description: "Current ballots and their division or organisation geography as WKT (EPSG:4326), from EveryElection",
		Bucket:      b.EE,
		Prefix:      "{ballots_prefix}/",
		Format:      CSV,
		Columns: []Column{
			str("election_id"), str("division_id"),
			{Name: "geometry", Type: "string", Comment: "WKT, no SRID; empty when source_table is None"},
			{Name: "source_table", Type: "string", Comment: "Organisation, Division or None"},
		},
		SkipHeader: true,
	}
}

// CurrentBallotsJoined is every address with its current ballot IDs.
func CurrentBallotsJoined(b Buckets) Table {
	return Table{
		Name:        "current_ballots_joined_to_address_base",
		Description: "Every address with the sorted, distinct IDs of the current ballots containing it",
		Bucket:      b.AddressBase,
		Prefix:      "addressbase/{environment}/current_ballots_joined_to_address_base/",
		Format:      Parquet,
		Columns: []Column{
			str("uprn"), str("address"), str("postcode"), str("addressbase_source"),
			{Name: "ballot_ids", Type: "array<string>", Comment: "sorted, distinct, [] when none"},
		},
		PartitionKeys: firstLetter,
		Query:         "uprn-to-ballots-first-letter",
	}
}

// CurrentElectionsOutputPrefix is where the per-outcode parquet files go.
const CurrentElectionsOutputPrefix = "addressbase/{environment}/current_elections_parquet/"

// HiddenKey is where a writer stages an object before copying it over key:
// the same folder, under a name that starts with a dot, because Athena (and
// Hive) skip objects whose names start with "." or "_", so a query over the
// table never sees a half-published copy.
func HiddenKey(key, runID string) string {
	dir, base := path.Split(key)
	return dir + "." + base + ".tmp-" + runID
}
