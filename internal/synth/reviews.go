package synth

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/boundaryexport"
	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
)

// Boundary reviews: each review is over one organisation of the lattice.
// Its old division set has a division per cell (as the ballots' wards,
// cells (0,0) and (2,0) joined when the organisation's ballots join them);
// its new set, when it has one, changes the old one so that each change
// scenario occurs where addresses are:
//   - the two most populated old divisions merge under the first's slug:
//     its addresses are BOUNDARY_CHANGED, the second's BOTH_CHANGED;
//   - the others are kept (NO_CHANGE) or renamed (NAME_CHANGED), in turn.
//
// Every fifth review (and the last, when there are from 2 to 4) has no new
// set yet: an organisation-only review, its rows the organisation's area.
//
// A division is written as EE exports its subdivided geography: one row
// per piece. Each cell is cut into five pieces, a quadrilateral around its
// centre and one piece between each wiggly side and that quadrilateral, so
// a piece has at most a side's vertices plus four (see maxPieceVertices).

// maxPieceVertices is EE's bound on a subdivided piece's vertices.
const maxPieceVertices = 256

const kindReview uint64 = 0x7e71e5

// reviewEffectiveDate is when the reviews' new division sets take effect.
const reviewEffectiveDate = "2027-05-06"

// centre is one outcode's centre and address count, recorded while the
// addresses are written, so reviews go where addresses are.
type centre struct {
	lon, lat float64
	count    int
}

// division is one division of a set: its cells (0..8 within the
// organisation) and the names the CSV gives it.
type division struct {
	slug, name, gss string
	cells           []int
	people          int // estimated addresses
}

// reviewPlan is one review.
type reviewPlan struct {
	id       int
	org      orgPlan
	old, new []division // new is nil for an organisation-only review
}

// checkReviewOptions refuses reviews the lattice cannot give.
func checkReviewOptions(o Options) error {
	if o.Reviews < 0 {
		return fmt.Errorf("synth options: Reviews (%d) must not be negative", o.Reviews)
	}
	if o.Reviews > 0 && o.MaxVertices/4+4 > maxPieceVertices {
		return fmt.Errorf("synth options: with reviews, MaxVertices %d must be at most %d so a division piece has at most %d vertices",
			o.MaxVertices, (maxPieceVertices-4)*4, maxPieceVertices)
	}
	return nil
}

// planReviews picks opts.Reviews organisations, those with addresses
// first, in an order derived from the seed, and plans each review.
// GenerateWithReviews has checked there are enough organisations.
func planReviews(opts Options, l *lattice, centres []centre) []reviewPlan {
	// Estimated addresses per division cell, from the outcode centres.
	cells := make([]int, l.nx*l.ny)
	for _, c := range centres {
		i := min(max(int((c.lon-boxMinLon)/l.dx), 0), l.nx-1)
		j := min(max(int((c.lat-boxMinLat)/l.dy), 0), l.ny-1)
		cells[j*l.nx+i] += c.count
	}
	type cand struct {
		oi, oj, people int
		h              uint64
	}
	var cands []cand
	for oj := range l.gy {
		for oi := range l.gx {
			c := cand{oi: oi, oj: oj, h: hash3(l.seed, kindReview, uint64(oi), uint64(oj))}
			for k := range orgCells * orgCells {
				c.people += cells[(oj*orgCells+k/orgCells)*l.nx+oi*orgCells+k%orgCells]
			}
			cands = append(cands, c)
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if (a.people > 0) != (b.people > 0) {
			if a.people > 0 {
				return -1
			}
			return 1
		}
		return cmpUint(a.h, b.h)
	})
	plans := make([]reviewPlan, opts.Reviews)
	for k := range plans {
		c := cands[k]
		o := l.org(c.oi, c.oj)
		people := func(cell int) int {
			return cells[(c.oj*orgCells+cell/orgCells)*l.nx+c.oi*orgCells+cell%orgCells]
		}
		orgOnly := k%5 == 4 || (k == opts.Reviews-1 && opts.Reviews >= 2 && opts.Reviews < 5)
		plans[k] = planReview(l, o, 101+k, k, people, orgOnly)
	}
	return plans
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// planReview plans review id (the k-th) over organisation o.
func planReview(l *lattice, o orgPlan, id, k int, people func(cell int) int, orgOnly bool) reviewPlan {
	_, divPrefix := geographyPrefix(l, o)
	words := len(divisionWords)
	p := reviewPlan{id: id, org: o}
	for c := range orgCells * orgCells {
		if o.merged && c == 2 {
			continue // part of cell 0's division, as in the ballots
		}
		d := division{slug: divisionWords[(c+o.index)%words], cells: []int{c}, people: people(c)}
		if o.merged && c == 0 {
			d.slug += "-and-" + divisionWords[(2+o.index)%words]
			d.cells = append(d.cells, 2)
			d.people += people(2)
		}
		d.name = titleCase(d.slug)
		d.gss = divPrefix + pad6(100000+id*20+len(p.old))
		p.old = append(p.old, d)
	}
	if orgOnly {
		return p
	}
	order := make([]int, len(p.old)) // old divisions by estimated addresses, most first
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return p.old[b].people - p.old[a].people })
	merged := map[int]bool{}
	var news []division
	if p.old[order[1]].people > 0 {
		a, b := p.old[order[0]], p.old[order[1]]
		news = append(news, division{slug: a.slug, name: a.name, cells: slices.Concat(a.cells, b.cells)})
		merged[order[0]], merged[order[1]] = true, true
	}
	turn := k % 2
	for _, i := range order {
		if merged[i] {
			continue
		}
		d := p.old[i]
		n := division{slug: d.slug, name: d.name, cells: d.cells}
		if turn%2 == 1 {
			n.slug = o.slug + "-" + d.slug
			n.name = titleCase(n.slug)
		}
		turn++
		news = append(news, n)
	}
	// The new set in the old set's cell order, with new GSS codes.
	slices.SortFunc(news, func(a, b division) int { return slices.Min(a.cells) - slices.Min(b.cells) })
	for i := range news {
		news[i].gss = divPrefix + pad6(200000+id*20+i)
	}
	p.new = news
	return p
}

// titleCase turns a slug into a name: "castle-and-abbey" -> "Castle and Abbey".
func titleCase(slug string) string {
	parts := strings.Split(slug, "-")
	for i, w := range parts {
		if w != "and" && w != "" {
			parts[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(parts, " ")
}

// reviewFields are the columns a review repeats on each of its rows.
type reviewFields struct {
	id, slug, status, event, consultation, legislation, effective string
	orgName, orgOfficial, orgGSS                                  string
	divisionType                                                  string
	oldSet, newSet                                                int64
	oldPMTiles, newPMTiles                                        string
}

func (l *lattice) reviewFields(p reviewPlan, k int) reviewFields {
	o := p.org
	orgPrefix, _ := geographyPrefix(l, o)
	name := titleCase(o.slug)
	f := reviewFields{
		id: strconv.Itoa(p.id), slug: o.slug + "-" + reviewEffectiveDate[:4],
		orgName: name, orgGSS: orgPrefix + pad3(o.index%1000),
		oldSet: int64(300 + 2*k), newSet: int64(301 + 2*k),
	}
	switch orgPrefix[0] {
	case 'S':
		f.orgOfficial, f.divisionType = name+" Council", "UTW"
		f.consultation = "https://boundaries.scot/reviews/" + o.slug + "-ward-boundary-review"
	case 'N':
		f.orgOfficial, f.divisionType = name+" District Council", "LGE" // no LGBCE consultation
	default:
		f.orgOfficial, f.divisionType = name+" Borough Council", "DIW"
		if o.index%2 == 1 {
			f.orgOfficial = name + " District Council"
		}
		f.consultation = "https://www.lgbce.org.uk/all-reviews/" + o.slug
	}
	switch {
	case p.new == nil:
		f.status, f.event = "CURRENT", "Consultation on warding arrangements"
	case k%3 == 0:
		f.status, f.event = "COMPLETED", "Electoral changes order made"
		f.legislation = "The " + name + " (Electoral Changes) Order " + strconv.Itoa(2026)
		f.effective = reviewEffectiveDate
	default:
		f.status, f.event = "CURRENT", "Final recommendations published"
		if k%3 == 1 {
			f.effective = reviewEffectiveDate
		}
	}
	if k%2 == 0 { // EE has pmtiles for some older division sets only
		f.oldPMTiles = boundaryexport.PMTilesURL(o.slug, f.oldSet, md5Hex(o.slug, f.oldSet))
	}
	f.newPMTiles = boundaryexport.PMTilesURL(o.slug, f.newSet, md5Hex(o.slug, f.newSet))
	return f
}

func md5Hex(slug string, set int64) string {
	h := md5.Sum([]byte(slug + "/" + strconv.FormatInt(set, 10)))
	return hex.EncodeToString(h[:])
}

// reviewWriter writes review rows.
type reviewWriter struct {
	l   *lattice
	st  *Stats
	rec []string
	wkt []byte
	rb  ringBuilder
	pc  []pt
}

// writeReviews writes the reviews CSV (boundaryexport.Header, CRLF, as
// the export writes it) for plans.
func writeReviews(w io.Writer, l *lattice, plans []reviewPlan, st *Stats) error {
	cw, err := eeexport.NewCSV(w, boundaryexport.Header)
	if err != nil {
		return err
	}
	rw := &reviewWriter{l: l, st: st, rec: make([]string, len(boundaryexport.Header))}
	for k, p := range plans {
		f := l.reviewFields(p, k)
		st.Reviews++
		if p.new == nil {
			st.OrganisationOnlyReviews++
			all := division{}
			for c := range orgCells * orgCells {
				all.cells = append(all.cells, c)
			}
			if err := rw.writeDivision(cw.Write, f, p.org, boundaryexport.GenerationOrganisation, all); err != nil {
				return err
			}
			continue
		}
		for _, d := range p.old {
			if err := rw.writeDivision(cw.Write, f, p.org, boundaryexport.GenerationOld, d); err != nil {
				return err
			}
		}
		for _, d := range p.new {
			if err := rw.writeDivision(cw.Write, f, p.org, boundaryexport.GenerationNew, d); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeDivision writes one row per piece of d's cells.
func (rw *reviewWriter) writeDivision(write func([]string) error, f reviewFields, o orgPlan, generation string, d division) error {
	r := rw.rec
	r[0], r[1], r[2], r[3], r[4], r[5], r[6] = f.id, f.slug, f.status, f.event, f.consultation, f.legislation, f.effective
	r[7], r[8], r[9], r[10] = f.orgName, f.orgOfficial, f.orgGSS, generation
	r[11], r[12], r[13], r[14], r[15], r[16] = "", "", "", "", "", ""
	switch generation {
	case boundaryexport.GenerationOld:
		r[11], r[12] = strconv.FormatInt(f.oldSet, 10), f.oldPMTiles
	case boundaryexport.GenerationNew:
		r[11], r[12] = strconv.FormatInt(f.newSet, 10), f.newPMTiles
	}
	if generation != boundaryexport.GenerationOrganisation {
		r[13], r[14], r[15], r[16] = f.divisionType, d.slug, d.name, d.gss
	}
	for _, c := range d.cells {
		ci, cj := o.oi*orgCells+c%orgCells, o.oj*orgCells+c/orgCells
		for piece := range 5 {
			rw.pc = rw.l.cellPiece(&rw.rb, rw.pc[:0], ci, cj, piece)
			rw.st.MaxPieceVertices = max(rw.st.MaxPieceVertices, len(rw.pc))
			rw.wkt = appendRing(append(rw.wkt[:0], "POLYGON("...), rw.pc)
			rw.wkt = append(rw.wkt, ')')
			r[17] = string(rw.wkt)
			if err := write(r); err != nil {
				return err
			}
			rw.st.ReviewRows++
		}
	}
	return nil
}

// cellPiece returns piece 0-4 of cell (ci, cj) as a closed counter-clockwise
// ring: pieces 0-3 lie between the bottom, right, top and left side and
// the inner quadrilateral, piece 4 is that quadrilateral. The inner corners
// are halfway from the cell's corners to its centre, farther in than any
// side's wiggle reaches (wiggleAmp of its length at most, tapering to its
// ends), so each piece is a simple polygon and the five tile the cell.
func (l *lattice) cellPiece(rb *ringBuilder, dst []pt, ci, cj, piece int) []pt {
	corners := [4]pt{l.point(ci, cj), l.point(ci+1, cj), l.point(ci+1, cj+1), l.point(ci, cj+1)}
	var mx, my float64
	for _, c := range corners {
		mx, my = mx+float64(c.x)/4, my+float64(c.y)/4
	}
	var inner [4]pt
	for i, c := range corners {
		inner[i] = pt{int64(math.Round((float64(c.x) + mx) / 2)), int64(math.Round((float64(c.y) + my) / 2))}
	}
	if piece == 4 {
		return append(dst, inner[0], inner[1], inner[2], inner[3], inner[0])
	}
	switch piece {
	case 0:
		rb.tmp = l.hSide(rb.tmp[:0], ci, cj)
	case 1:
		rb.tmp = l.vSide(rb.tmp[:0], ci+1, cj)
	case 2:
		rb.tmp = l.hSide(rb.tmp[:0], ci, cj+1)
		slices.Reverse(rb.tmp)
	case 3:
		rb.tmp = l.vSide(rb.tmp[:0], ci, cj)
		slices.Reverse(rb.tmp)
	}
	dst = append(dst, rb.tmp...)
	return append(dst, inner[(piece+1)%4], inner[piece], rb.tmp[0])
}
