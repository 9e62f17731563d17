package boundaryreviews

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/paulmach/orb"

	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/manifest"
	"github.com/DemocracyClub/dc-data-baker/internal/reviewcsv"
)

// ReviewsInput is the bake's flag for the boundary reviews CSV.
const ReviewsInput = "boundary-reviews"

// Bake is the layer's local engine: the join of every address with the
// reviews' divisions as boundary-review-address-changes.sql does it, the
// JSON elements as uprn-to-boundary-reviews-first-letter.sql builds them,
// the quality gates, the outcode split and the stale deletion. Without
// --boundary-reviews it is skipped.
var Bake = bake.Layer{
	Name:    "boundary reviews layer",
	Inputs:  []bake.Input{{Flag: ReviewsInput, Usage: "EE boundary reviews `csv` (with header row)"}},
	Folders: []string{ChangesName, JoinedName, OutputFolder},
	Bake:    bakeLayer,
	Product: &bake.OutcodeFiles{
		Dir: OutputFolder, Column: ListColumn, Heading: "BOUNDARY REVIEWS", None: "no boundary reviews",
		Output: OutputLocation, Cell: reviewSlugs,
		// The addresses split, for the share of UPRNs with a review. No
		// areas: a review whose area holds none of the addresses baked is
		// not implausible, so the no-address-inside rule stays off.
		Source: func(s bake.Summary) manifest.Source {
			if s.BoundaryReviews == nil {
				return manifest.Source{}
			}
			return manifest.Source{UPRNs: s.BoundaryReviews.OutputRows}
		},
	},
}

// reviewSlugs shows an address's reviews in lookup's table by slug.
func reviewSlugs(elements []string) string {
	out := make([]string, len(elements))
	for i, e := range elements {
		var v struct {
			Slug string `json:"slug"`
		}
		out[i] = e
		if json.Unmarshal([]byte(e), &v) == nil && v.Slug != "" {
			out[i] = v.Slug
		}
	}
	return strings.Join(out, ", ")
}

// JoinedRow is one row of the joined table.
type JoinedRow struct {
	UPRN              string   `parquet:"uprn"`
	Address           string   `parquet:"address"`
	Postcode          string   `parquet:"postcode"`
	AddressbaseSource string   `parquet:"addressbase_source"`
	BoundaryReviews   []string `parquet:"boundary_reviews,list"`
}

// ChangeRow is one row of boundary_review_address_changes (Changes'
// columns; first_letter is the folder): the division columns are NULL
// on an organisation-only review's row.
type ChangeRow struct {
	UPRN                          string  `parquet:"uprn"`
	Longitude                     float64 `parquet:"longitude"`
	Latitude                      float64 `parquet:"latitude"`
	BoundaryReviewID              int64   `parquet:"boundary_review_id"`
	Slug                          string  `parquet:"slug"`
	Status                        string  `parquet:"status"`
	ConsultationURL               string  `parquet:"consultation_url"`
	LegislationTitle              string  `parquet:"legislation_title"`
	EffectiveDate                 string  `parquet:"effective_date"`
	OrganisationName              string  `parquet:"organisation_name"`
	OrganisationOfficialName      string  `parquet:"organisation_official_name"`
	OrganisationGSS               string  `parquet:"organisation_gss"`
	DivisionType                  *string `parquet:"division_type,optional"`
	OldDivisionSlug               *string `parquet:"old_division_slug,optional"`
	OldDivisionName               *string `parquet:"old_division_name,optional"`
	OldDivisionOfficialIdentifier *string `parquet:"old_division_official_identifier,optional"`
	OldDivisionsetPMTilesURL      *string `parquet:"old_divisionset_pmtiles_url,optional"`
	NewDivisionSlug               *string `parquet:"new_division_slug,optional"`
	NewDivisionName               *string `parquet:"new_division_name,optional"`
	NewDivisionOfficialIdentifier *string `parquet:"new_division_official_identifier,optional"`
	NewDivisionsetPMTilesURL      *string `parquet:"new_divisionset_pmtiles_url,optional"`
	ChangeScenario                *string `parquet:"change_scenario,optional"`
}

// The change scenarios (docs/data-contract.md).
const (
	NoChange        = "NO_CHANGE"
	NameChanged     = "NAME_CHANGED"
	BoundaryChanged = "BOUNDARY_CHANGED"
	BothChanged     = "BOTH_CHANGED"
)

func bakeLayer(ctx context.Context, j *bake.Job) error {
	rs, err := ReadReviewsFile(j.Input(ReviewsInput))
	if err != nil {
		return fmt.Errorf("boundary reviews: %w", err)
	}
	sum := &bake.BoundaryReviewsSummary{Rows: rs.rows, Pieces: rs.rows, Reviews: len(rs.reviews), Divisions: len(rs.divisions)}
	j.Summary.BoundaryReviews = sum

	jn := newJoiner(rs)
	// Whether a division's UPRN set changed needs all of its UPRNs, under
	// every first letter, before any letter's changes: two passes.
	if err := jn.collectSets(ctx, j); err != nil {
		return err
	}
	sp, err := j.NewSplitter(bake.SplitSpec{Output: OutputFolder, ListColumn: ListColumn}, &sum.Split)
	if err != nil {
		return err
	}
	g, err := j.NewJoinGates(JoinedName)
	if err != nil {
		return err
	}
	if err := jn.joinLetters(ctx, j, g, sp, sum); err != nil {
		return addressbase.NameConflictLines(j, err)
	}
	j.Done(sum.JoinedRows)
	if err := j.CheckJoin(g, addressbase.PartitionedName, JoinedName, addressbase.EachUPRN(j)); err != nil {
		return addressbase.NameConflictLines(j, err)
	}
	return sp.Finish(ctx, g)
}

// setKey identifies an old or new division's UPRN set, as the SQL's
// uprn_sets groups them.
type setKey struct {
	review     int
	generation string
	typ, slug  string
}

// joiner joins addresses with the reviews' divisions.
type joiner struct {
	rs    *ReviewSet
	setOf []int // per division: its UPRN set's index, or -1 (organisation)
	nSets int
	// sets holds each set's UPRNs during collectSets; digests their
	// sorted, distinct UPRNs' SHA-256 afterwards (equal exactly when the
	// sets are).
	sets    [][]string
	digests [][sha256.Size]byte

	prefix   []string // per review: its element's JSON up to "changes":[
	old, new []string // per division: its old_... or new_... JSON members
}

func newJoiner(rs *ReviewSet) *joiner {
	jn := &joiner{rs: rs, setOf: make([]int, len(rs.divisions))}
	keys := map[setKey]int{}
	jn.old, jn.new = make([]string, len(rs.divisions)), make([]string, len(rs.divisions))
	for i, d := range rs.divisions {
		jn.setOf[i] = -1
		if d.generation == reviewcsv.GenerationOrganisation {
			continue
		}
		k := setKey{d.review, d.generation, d.typ, d.slug}
		s, ok := keys[k]
		if !ok {
			s = len(keys)
			keys[k] = s
		}
		jn.setOf[i] = s
		members := func(side string) string {
			return `"` + side + `_division_slug":` + jsonString(d.slug) +
				`,"` + side + `_division_name":` + jsonString(d.name) +
				`,"` + side + `_division_official_identifier":` + jsonString(d.identifier) +
				`,"` + side + `_divisionset_pmtiles_url":` + jsonString(d.pmtiles)
		}
		jn.old[i], jn.new[i] = members("old"), members("new")
	}
	jn.nSets = len(keys)
	jn.sets = make([][]string, jn.nSets)
	for _, r := range rs.reviews {
		f := r.fields
		jn.prefix = append(jn.prefix, `{"boundary_review_id":`+strconv.FormatInt(r.id, 10)+
			`,"slug":`+jsonString(f[0])+`,"status":`+jsonString(f[1])+
			`,"boundary_review_details":{"consultation_url":`+jsonString(f[2])+
			`,"legislation_title":`+jsonString(f[3])+`,"effective_date":`+jsonString(f[4])+
			`,"organisation_name":`+jsonString(f[5])+`,"organisation_official_name":`+jsonString(f[6])+
			`,"organisation_gss":`+jsonString(f[7])+`},"changes":[`)
	}
	return jn
}

// containing appends to dst the divisions whose pieces contain p (a
// point on an edge is outside), each once.
func (jn *joiner) containing(p orb.Point, ids []string, dst []int) ([]string, []int) {
	ids = jn.rs.index.Containing(p, ids[:0])
	dst = dst[:0]
	for _, id := range ids {
		i, _ := strconv.Atoi(id) // ids are divisionKey's
		dst = append(dst, i)
	}
	return ids, dst
}

// collectSets finds every old and new division's UPRNs, over all letters,
// and keeps a digest of each set.
func (jn *joiner) collectSets(ctx context.Context, j *bake.Job) error {
	var mu sync.Mutex
	err := j.ForEachLetter(ctx, func(l string) error {
		addrs, err := addressbase.ReadLetter(j, l)
		if err != nil {
			return err
		}
		local := map[int][]string{}
		var ids []string
		var divs []int
		for i := range addrs {
			a := &addrs[i]
			ids, divs = jn.containing(orb.Point{a.Longitude, a.Latitude}, ids, divs)
			for _, d := range divs {
				if s := jn.setOf[d]; s >= 0 {
					local[s] = append(local[s], strings.Clone(a.UPRN))
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for s, uprns := range local {
			jn.sets[s] = append(jn.sets[s], uprns...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	jn.digests = make([][sha256.Size]byte, jn.nSets)
	for s, uprns := range jn.sets {
		slices.Sort(uprns)
		h := sha256.New()
		for _, u := range slices.Compact(uprns) {
			h.Write(strconv.AppendInt(nil, int64(len(u)), 10))
			h.Write([]byte{':'})
			h.Write([]byte(u))
		}
		h.Sum(jn.digests[s][:0])
	}
	jn.sets = nil
	return nil
}

// scenario is the change between old division o and new division n.
func (jn *joiner) scenario(o, n int) string {
	sameSlug := jn.rs.divisions[o].slug == jn.rs.divisions[n].slug
	sameSet := jn.digests[jn.setOf[o]] == jn.digests[jn.setOf[n]]
	switch {
	case sameSlug && sameSet:
		return NoChange
	case sameSet:
		return NameChanged
	case sameSlug:
		return BoundaryChanged
	}
	return BothChanged
}

// pointKey is how the SQL matches an address with its changes.
type pointKey struct {
	uprn     string
	lon, lat float64
}

// pointResult is one distinct point's elements and change rows.
type pointResult struct {
	elements []string // never nil
	changes  []ChangeRow
	changed  bool // at least one element has a change
}

// change is one change of an address, before it becomes JSON.
type change struct {
	review, old, new int
	json             string
}

// join computes the elements and change rows of the address at k inside
// divs.
func (jn *joiner) join(k pointKey, divs []int) pointResult {
	res := pointResult{elements: []string{}}
	if len(divs) == 0 {
		return res
	}
	var changes []change
	var orgs []int // reviews whose organisation area holds the address
	for _, o := range divs {
		od := jn.rs.divisions[o]
		switch od.generation {
		case reviewcsv.GenerationOrganisation:
			if !slices.Contains(orgs, od.review) {
				orgs = append(orgs, od.review)
			}
			continue
		case reviewcsv.GenerationNew:
			continue
		}
		for _, n := range divs {
			nd := jn.rs.divisions[n]
			if nd.generation != reviewcsv.GenerationNew || nd.review != od.review || nd.typ != od.typ {
				continue
			}
			sc := jn.scenario(o, n)
			changes = append(changes, change{review: od.review, old: o, new: n, json: `{"division_type":` + jsonString(od.typ) +
				"," + jn.old[o] + "," + jn.new[n] + `,"change_scenario":"` + sc + `"}`})
		}
	}
	reviews := slices.Clone(orgs)
	for _, c := range changes {
		if !slices.Contains(reviews, c.review) {
			reviews = append(reviews, c.review)
		}
	}
	// By review, then as the SQL orders a review's changes: by
	// division_type, then by the change's JSON. Nothing depends on the
	// CSV's row order.
	slices.SortFunc(changes, func(a, b change) int {
		return cmp.Or(cmp.Compare(jn.rs.reviews[a.review].id, jn.rs.reviews[b.review].id),
			cmp.Compare(jn.rs.divisions[a.old].typ, jn.rs.divisions[b.old].typ), strings.Compare(a.json, b.json))
	})
	slices.SortFunc(orgs, func(a, b int) int { return cmp.Compare(jn.rs.reviews[a].id, jn.rs.reviews[b].id) })
	for _, ri := range reviews {
		var b strings.Builder
		b.WriteString(jn.prefix[ri])
		n := 0
		for _, c := range changes {
			if c.review != ri {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteString(c.json)
			n++
			res.changed = true
		}
		b.WriteString("]}")
		res.elements = append(res.elements, b.String())
	}
	slices.SortFunc(res.elements, func(a, b string) int {
		return strings.Compare(a, b) // ties broken as the SQL does: by the element
	})
	slices.SortStableFunc(res.elements, func(a, b string) int { return cmp.Compare(elementID(a), elementID(b)) })

	for _, c := range changes {
		res.changes = append(res.changes, jn.changeRow(k, c.review, c.old, c.new))
	}
	for _, ri := range orgs {
		res.changes = append(res.changes, jn.changeRow(k, ri, -1, -1))
	}
	return res
}

// elementID is the boundary_review_id at the start of an element.
func elementID(e string) int64 {
	const p = `{"boundary_review_id":`
	end := strings.IndexByte(e[len(p):], ',')
	id, _ := strconv.ParseInt(e[len(p):len(p)+end], 10, 64)
	return id
}

// changeRow is the changes table's row for review ri at k: a change from
// old division o to new division n, or (o < 0) the organisation's area.
func (jn *joiner) changeRow(k pointKey, ri, o, n int) ChangeRow {
	r := jn.rs.reviews[ri]
	f := r.fields
	row := ChangeRow{
		UPRN: k.uprn, Longitude: k.lon, Latitude: k.lat, BoundaryReviewID: r.id,
		Slug: f[0], Status: f[1], ConsultationURL: f[2], LegislationTitle: f[3], EffectiveDate: f[4],
		OrganisationName: f[5], OrganisationOfficialName: f[6], OrganisationGSS: f[7],
	}
	if o < 0 {
		return row
	}
	od, nd := jn.rs.divisions[o], jn.rs.divisions[n]
	sc := jn.scenario(o, n)
	row.DivisionType = &od.typ
	row.OldDivisionSlug, row.OldDivisionName, row.OldDivisionOfficialIdentifier, row.OldDivisionsetPMTilesURL = &od.slug, &od.name, &od.identifier, &od.pmtiles
	row.NewDivisionSlug, row.NewDivisionName, row.NewDivisionOfficialIdentifier, row.NewDivisionsetPMTilesURL = &nd.slug, &nd.name, &nd.identifier, &nd.pmtiles
	row.ChangeScenario = &sc
	return row
}

// joinLetters joins each letter, like the changes query's partitions and
// the per-letter aggregation, and splits its joined rows into outcode
// files; with --keep-intermediate it writes the changes and joined tables.
func (jn *joiner) joinLetters(ctx context.Context, j *bake.Job, g *bake.JoinGates, sp *bake.Splitter, sum *bake.BoundaryReviewsSummary) error {
	var mu sync.Mutex
	return j.ForEachLetter(ctx, func(l string) error {
		addrs, err := addressbase.ReadLetter(j, l)
		if err != nil {
			return err
		}
		points := map[pointKey]*pointResult{}
		var order []pointKey // first appearance, so the changes file's order is the input's
		rows := make([]JoinedRow, len(addrs))
		var ids []string
		var divs []int
		var with, changed int64
		for i := range addrs {
			a := &addrs[i]
			k := pointKey{a.UPRN, a.Longitude, a.Latitude}
			pr, ok := points[k]
			if !ok {
				ids, divs = jn.containing(orb.Point{a.Longitude, a.Latitude}, ids, divs)
				r := jn.join(k, divs)
				pr = &r
				points[k] = pr
				order = append(order, k)
			}
			rows[i] = JoinedRow{UPRN: a.UPRN, Address: a.Address, Postcode: a.Postcode, AddressbaseSource: a.AddressbaseSource, BoundaryReviews: pr.elements}
			if len(pr.elements) > 0 {
				with++
			}
			if pr.changed {
				changed++
			}
			if i%4096 == 4095 {
				j.Add(4096)
			}
		}
		j.Add(int64(len(addrs) % 4096))
		var changes []ChangeRow
		for _, k := range order {
			changes = append(changes, points[k].changes...)
		}
		// UNLOAD writes no partition for a letter without rows.
		if dir := j.TableDir(ChangesName); dir != "" && len(changes) > 0 {
			if err := bake.WritePartition(dir, l, changes); err != nil {
				return err
			}
		}
		if dir := j.TableDir(JoinedName); dir != "" {
			if err := bake.WritePartition(dir, l, rows); err != nil {
				return err
			}
		}
		lt, err := sp.NewLetter(l)
		if err != nil {
			return err
		}
		for i, r := range rows {
			if err := lt.AddIDs([]byte(r.UPRN), []byte(r.Address), []byte(r.Postcode), r.BoundaryReviews, []byte(r.AddressbaseSource)); err != nil {
				return fmt.Errorf("%s letter %s row %d %w", JoinedName, l, i+1, err)
			}
		}
		if _, err := sp.Letter(ctx, lt, l); err != nil {
			return err
		}
		if err := g.Add(l, len(addrs), func(i int) string { return addrs[i].UPRN },
			len(rows), func(i int) (string, string) { return rows[i].UPRN, rows[i].AddressbaseSource }, lt.UPRNHashes()); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		sum.JoinedRows += int64(len(rows))
		sum.RowsWithReviews += with
		sum.RowsWithChanges += changed
		sum.ChangeRows += int64(len(changes))
		return nil
	})
}

// jsonString is s as json_format(CAST(nullif(s, ”) AS JSON)) writes it,
// or null for "": quoted, with " \ and control characters escaped
// (\b \f \n \r \t, others \u00xx) and everything else, non-ASCII and
// < > & included, as is.
func jsonString(s string) string {
	if s == "" {
		return "null"
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = fmt.Appendf(b, `\u%04x`, c)
			} else {
				b = append(b, c)
			}
		}
	}
	return string(append(b, '"'))
}
