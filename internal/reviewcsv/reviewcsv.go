// Package reviewcsv is the shape of the boundary reviews CSV (the data
// contract's "Boundary reviews" input): its header and the values of its
// divisionset_generation column. Its writer (internal/boundaryexport, in a
// Lambda) and its reader (the BoundaryReviews layer's bake, linked into the
// Pulumi program) share it without either linking the other.
package reviewcsv

// Header is the CSV header row fixed by the data contract.
var Header = []string{
	"boundary_review_id", "slug", "status", "latest_event", "consultation_url",
	"legislation_title", "effective_date", "organisation_name",
	"organisation_official_name", "organisation_gss", "divisionset_generation",
	"divisionset_id", "divisionset_pmtiles_url", "division_type", "division_slug",
	"division_name", "division_official_identifier", "geometry",
}

// Values of the divisionset_generation column.
const (
	GenerationOld          = "old"          // the organisation's division set in force today
	GenerationNew          = "new"          // the review's own division set
	GenerationOrganisation = "organisation" // no new set yet: the organisation's area
)
