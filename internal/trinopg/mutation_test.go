package trinopg_test

import (
	"strings"
	"testing"

	dcsql "github.com/DemocracyClub/dc-data-baker/sql"
)

// TestMutantsFail checks that the SQL can fail the tests: each mutant of a
// template makes the fixture scenarios (TestTemplatesOnFixtures) fail.
func TestMutantsFail(t *testing.T) {
	t.Parallel()
	for _, m := range []struct{ name, template, from, to string }{
		{"partition column not last", "addressbase/partition-addressbase-cleaned",
			"addressbase_source, first_letter\n    FROM (", "first_letter, addressbase_source\n    FROM ("},
		{"uprn rule not applied", "addressbase/partition-addressbase-cleaned", "regexp_like(coalesce(uprn, ''), '{{.uprn_pattern}}')", "regexp_like(coalesce(uprn, ''), '.*')"},
		{"postcode rule not applied", "addressbase/partition-addressbase-cleaned", "regexp_like(coalesce(postcode, ''), '{{.postcode_pattern}}')", "regexp_like(coalesce(postcode, ''), '.*')"},
		{"location range ignores latitude", "addressbase/partition-addressbase-cleaned", " AND latitude >= {{.min_lat}} AND latitude <= {{.max_lat}})", ")"},
		{"byte-order mark kept", "addressbase/partition-addressbase-cleaned", "CASE WHEN starts_with(uprn, U&'\\FEFF') THEN substr(uprn, 2) ELSE uprn END AS uprn", "uprn"},
		{"election_id rule not applied", "currentelections/uprn-to-ballots", "'{{.election_id_pattern}}'", "'.*'"},
		{"ballot range ignores longitude", "currentelections/uprn-to-ballots", "ST_XMin(ST_GeometryFromText(geometry)) >= {{.min_lon}} AND ST_XMax(ST_GeometryFromText(geometry)) <= {{.max_lon}}", "true"},
		{"location regex reads the wrong group", "addressbase/partition-addressbase-cleaned", `\)$', 2) AS double) AS latitude`, `\)$', 1) AS double) AS latitude`},
		{"location regex accepts anything", "addressbase/partition-addressbase-cleaned", `WHEN regexp_like(location, '^SRID=4326;POINT`, `WHEN regexp_like(location, '`},
		{"first letter from the outcode's second character", "addressbase/partition-addressbase-cleaned", "substr(postcode, 1, 1)", "substr(postcode, 2, 1)"},
		{"ST_Contains arguments swapped", "currentelections/uprn-to-ballots", "ST_Contains(b.geom, ST_Point(p.longitude, p.latitude))", "ST_Contains(ST_Point(p.longitude, p.latitude), b.geom)"},
		{"ST_Point coordinates swapped", "currentelections/uprn-to-ballots", "ST_Point(p.longitude, p.latitude)", "ST_Point(p.latitude, p.longitude)"},
		{"ballot list without DISTINCT", "currentelections/uprn-to-ballots", "array_agg(DISTINCT b.election_id)", "array_agg(b.election_id)"},
		{"division ballots dropped", "currentelections/uprn-to-ballots", "WHERE source_table IN ('Organisation', 'Division')", "WHERE source_table IN ('Organisation')"},
		{"inner join drops addresses without ballots", "currentelections/uprn-to-ballots", "LEFT JOIN hits", "JOIN hits"},
		{"NULL instead of [] without ballots", "currentelections/uprn-to-ballots", "coalesce(h.ballot_ids, CAST(ARRAY[] AS array(varchar)))", "h.ballot_ids"},
		{"rows under the wrong letter", "currentelections/uprn-to-ballots", "coalesce(h.ballot_ids, CAST(ARRAY[] AS array(varchar))) AS ballot_ids,\n        a.first_letter", "coalesce(h.ballot_ids, CAST(ARRAY[] AS array(varchar))) AS ballot_ids,\n        'Z' AS first_letter"},
		{"review join: ST_Contains arguments swapped", brChanges, "ST_Contains(d.geom, ST_Point(p.longitude, p.latitude))", "ST_Contains(ST_Point(p.longitude, p.latitude), d.geom)"},
		{"review join: NO_CHANGE ignores the UPRN sets", brChanges, "n.division_slug AND os.uprns = ns.uprns THEN 'NO_CHANGE'", "n.division_slug THEN 'NO_CHANGE'"},
		{"review join: NAME_CHANGED without comparing the sets", brChanges, "WHEN os.uprns = ns.uprns THEN 'NAME_CHANGED'", "WHEN o.division_type = n.division_type THEN 'NAME_CHANGED'"},
		{"review join: old and new divisions of different types paired", brChanges, "AND n.boundary_review_id = o.boundary_review_id AND n.division_type = o.division_type", "AND n.boundary_review_id = o.boundary_review_id"},
		{"review join: the old division's set read from the new set", brChanges, "ON os.generation = 'old'", "ON os.generation = 'new'"},
		{"review join: range ignores latitude", brChanges, "AND ST_YMin(ST_GeometryFromText(geometry)) >= {{.min_lat}} AND ST_YMax(ST_GeometryFromText(geometry)) <= {{.max_lat}})\n                    THEN fail(format('boundary reviews", ")\n                    THEN fail(format('boundary reviews"},
		{"review join: organisation-only reviews dropped", brChanges, "WHERE generation = 'organisation'", "WHERE generation = 'none'"},
		{"aggregate: elements sorted as strings", brAggregate, "ORDER BY boundary_review_id, element", "ORDER BY element"},
		{"aggregate: changes sorted backwards", brAggregate, "ORDER BY division_type, change", "ORDER BY division_type DESC, change"},
		{"aggregate: an empty field becomes \"\", not null", brAggregate, "nullif(effective_date, '')", "effective_date"},
		{"aggregate: inner join drops addresses without reviews", brAggregate, "LEFT JOIN hits", "JOIN hits"},
		{"aggregate: NULL instead of [] without reviews", brAggregate, "coalesce(h.boundary_reviews, CAST(ARRAY[] AS array(varchar)))", "h.boundary_reviews"},
		{"aggregate: wrong letter", brAggregate, "WHERE first_letter = '{first_letter}'\n        ),\n        quoted", "WHERE first_letter <> '{first_letter}'\n        ),\n        quoted"},
		{"one-source gate accepts two", "gates/gate-one-source", "count(DISTINCT addressbase_source) = 1", "count(DISTINCT addressbase_source) >= 1"},
		{"UPRN gate ignores the checksum", "gates/gate-uprns", "source.c = target.c", "source.c = source.c"},
		{"UPRN gate compares the wrong column", "gates/gate-uprns", "source.d = target.d AND source.c = target.c", "source.d = target.d AND source.n = target.n"},
		{"conflicts gate ignores postcodes", "gates/gate-conflicting-duplicates", "coalesce(postcode, ''), ", ""},
		{"conflicts gate counts rows, not distinct rows", "gates/gate-conflicting-duplicates", "HAVING count(DISTINCT concat_ws", "HAVING 0 * count(DISTINCT concat_ws"},
	} {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			src, err := dcsql.Source(m.template)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(src, m.from) != 1 {
				t.Fatalf("%s does not hold %q exactly once", m.template, m.from)
			}
			if err := runScenarios(t, map[string]string{m.template: strings.Replace(src, m.from, m.to, 1)}); err == nil {
				t.Errorf("the mutant survived: every fixture scenario passed with %q in place of %q", m.to, m.from)
			} else {
				t.Logf("killed: %v", firstLine(err.Error()))
			}
		})
	}
}

// The BoundaryReviews layer's templates.
const (
	brChanges   = "boundaryreviews/boundary-review-address-changes"
	brAggregate = "boundaryreviews/uprn-to-boundary-reviews-first-letter"
)

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
