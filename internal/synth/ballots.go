package synth

import (
	"bufio"
	"math"
)

// The UK-ish box the tiling covers, in micro-degrees.
const (
	boxMinLon, boxMaxLon = -8.0, 2.0
	boxMinLat, boxMaxLat = 50.0, 59.0
	micro                = 1e6
	orgCells             = 3 // an organisation is orgCells x orgCells division cells
	electionDate         = "2026-05-07"
	wiggleAmp            = 0.15 // max perpendicular wiggle as a fraction of the edge length
	latticeJitter        = 0.1  // max lattice-point displacement as a fraction of a cell
)

// Hash "kinds" keep the derived streams of values independent.
const (
	kindPoint uint64 = iota + 1
	kindHEdge
	kindVEdge
	kindOrg
	kindEnclave
	kindEdgeK
)

type pt struct{ x, y int64 } // micro-degrees

// lattice is a jittered grid of division cells over the box. Each cell side
// is a wiggly polyline derived from a hash of the side's position, so the
// two cells sharing a side produce identical coordinates and tile exactly.
type lattice struct {
	seed       uint64
	nx, ny     int // division cells
	gx, gy     int // organisations
	dx, dy     float64
	kmin, kmax int // segments per cell side
	none       bool
}

func newLattice(o Options) *lattice {
	// About 11 ballots per organisation with elections (1 org + ~9 divisions
	// + an occasional enclave or parl ballot), and 1 in 8 have none.
	orgs := max(1, int(math.Round(float64(o.Ballots)/(11*7.0/8))))
	gx := max(1, int(math.Round(math.Sqrt(float64(orgs)*10/9))))
	gy := max(1, (orgs+gx-1)/gx)
	l := &lattice{
		seed: mix(uint64(o.Seed) ^ 0x5eed),
		gx:   gx, gy: gy,
		nx: gx * orgCells, ny: gy * orgCells,
		kmin: max(1, o.MinVertices/4), kmax: max(1, o.MaxVertices/4),
		none: o.Ballots == 0,
	}
	l.dx = (boxMaxLon - boxMinLon) / float64(l.nx)
	l.dy = (boxMaxLat - boxMinLat) / float64(l.ny)
	return l
}

// point returns lattice vertex (i, j); vertices on the box edge are not jittered.
func (l *lattice) point(i, j int) pt {
	x := boxMinLon + float64(i)*l.dx
	y := boxMinLat + float64(j)*l.dy
	if i > 0 && i < l.nx && j > 0 && j < l.ny {
		h := hash3(l.seed, kindPoint, uint64(i), uint64(j))
		x += (unit(h) - 0.5) * 2 * latticeJitter * l.dx
		y += (unit(mix(h)) - 0.5) * 2 * latticeJitter * l.dy
	}
	return pt{int64(math.Round(x * micro)), int64(math.Round(y * micro))}
}

// side returns the wiggly polyline from a to b (both included). The wiggle
// is tapered to zero at both ends, keeping neighbouring sides apart.
func (l *lattice) side(dst []pt, kind uint64, i, j int, a, b pt) []pt {
	h := hash3(l.seed, kind, uint64(i), uint64(j))
	k := l.kmin + int(mix(h^kindEdgeK)%uint64(l.kmax-l.kmin+1))
	ax, ay, bx, by := float64(a.x), float64(a.y), float64(b.x), float64(b.y)
	ex, ey := bx-ax, by-ay
	length := math.Hypot(ex, ey)
	nx, ny := -ey/length, ex/length
	f1, f2 := float64(1+h%3), float64(4+(h>>8)%9)
	p1, p2 := unit(mix(h+1))*2*math.Pi, unit(mix(h+2))*2*math.Pi
	dst = append(dst, a)
	last := a
	for s := 1; s < k; s++ {
		hs := mix(h + uint64(s)*0x9e37)
		t := (float64(s) + 0.3*(unit(hs)-0.5)) / float64(k)
		noise := 0.6*math.Sin(2*math.Pi*f1*t+p1) + 0.3*math.Sin(2*math.Pi*f2*t+p2) + 0.1*(2*unit(mix(hs))-1)
		off := wiggleAmp * length * 2 * min(t, 1-t) * noise
		p := pt{int64(math.Round(ax + t*ex + off*nx)), int64(math.Round(ay + t*ey + off*ny))}
		if p != last {
			dst = append(dst, p)
			last = p
		}
	}
	if b != last {
		dst = append(dst, b)
	}
	return dst
}

func (l *lattice) hSide(dst []pt, i, j int) []pt {
	return l.side(dst, kindHEdge, i, j, l.point(i, j), l.point(i+1, j))
}

func (l *lattice) vSide(dst []pt, i, j int) []pt {
	return l.side(dst, kindVEdge, i, j, l.point(i, j), l.point(i, j+1))
}

// ringBuilder concatenates sides into a closed ring without repeating the
// shared endpoints.
type ringBuilder struct {
	ring, tmp []pt
}

func (rb *ringBuilder) reset() { rb.ring = rb.ring[:0] }

func (rb *ringBuilder) add(side []pt, reverse bool) {
	if reverse {
		for i, j := 0, len(side)-1; i < j; i, j = i+1, j-1 {
			side[i], side[j] = side[j], side[i]
		}
	}
	if len(rb.ring) > 0 {
		side = side[1:]
	}
	rb.ring = append(rb.ring, side...)
}

// cellRing returns the counter-clockwise closed ring of division cell (ci, cj).
func (l *lattice) cellRing(rb *ringBuilder, ci, cj int) []pt {
	rb.reset()
	rb.tmp = l.hSide(rb.tmp[:0], ci, cj)
	rb.add(rb.tmp, false)
	rb.tmp = l.vSide(rb.tmp[:0], ci+1, cj)
	rb.add(rb.tmp, false)
	rb.tmp = l.hSide(rb.tmp[:0], ci, cj+1)
	rb.add(rb.tmp, true)
	rb.tmp = l.vSide(rb.tmp[:0], ci, cj)
	rb.add(rb.tmp, true)
	return rb.ring
}

// orgRing returns the counter-clockwise closed outer ring of organisation (oi, oj).
func (l *lattice) orgRing(rb *ringBuilder, oi, oj int) []pt {
	i0, j0 := oi*orgCells, oj*orgCells
	rb.reset()
	for i := 0; i < orgCells; i++ {
		rb.tmp = l.hSide(rb.tmp[:0], i0+i, j0)
		rb.add(rb.tmp, false)
	}
	for j := 0; j < orgCells; j++ {
		rb.tmp = l.vSide(rb.tmp[:0], i0+orgCells, j0+j)
		rb.add(rb.tmp, false)
	}
	for i := orgCells - 1; i >= 0; i-- {
		rb.tmp = l.hSide(rb.tmp[:0], i0+i, j0+orgCells)
		rb.add(rb.tmp, true)
	}
	for j := orgCells - 1; j >= 0; j-- {
		rb.tmp = l.vSide(rb.tmp[:0], i0, j0+j)
		rb.add(rb.tmp, true)
	}
	return rb.ring
}

// enclaveRing returns a small star-shaped counter-clockwise ring around the
// middle of cell (ci, cj), well inside the cell's wiggly sides.
func (l *lattice) enclaveRing(dst []pt, ci, cj int) []pt {
	a, b, c, d := l.point(ci, cj), l.point(ci+1, cj), l.point(ci+1, cj+1), l.point(ci, cj+1)
	cx := float64(a.x+b.x+c.x+d.x) / 4
	cy := float64(a.y+b.y+c.y+d.y) / 4
	r := 0.1 * math.Min(l.dx, l.dy) * micro
	h := hash3(l.seed, kindEnclave, uint64(ci), uint64(cj))
	n := max(8, l.kmin*2)
	phase := unit(h) * 2 * math.Pi
	dst = dst[:0]
	for s := 0; s < n; s++ {
		th := 2 * math.Pi * float64(s) / float64(n)
		rad := r * (0.7 + 0.2*math.Sin(3*th+phase) + 0.1*unit(mix(h+uint64(s))))
		p := pt{int64(math.Round(cx + rad*math.Cos(th))), int64(math.Round(cy + rad*math.Sin(th)))}
		if len(dst) == 0 || p != dst[len(dst)-1] {
			dst = append(dst, p)
		}
	}
	return append(dst, dst[0])
}

// orgPlan is what one organisation holds, derived from a hash.
type orgPlan struct {
	oi, oj    int
	index     int
	slug      string
	elections bool
	mode      int // 0: one POLYGON row; 1: one row per cell; 2: two checkerboard MULTIPOLYGON rows
	merged    bool
	enclave   bool // cell (1,1) has an enclave division
	parl      bool
	none      bool // also emit a None row
}

func (l *lattice) org(oi, oj int) orgPlan {
	h := hash3(l.seed, kindOrg, uint64(oi), uint64(oj))
	idx := oj*l.gx + oi
	return orgPlan{
		oi: oi, oj: oj, index: idx, slug: placeName(idx),
		elections: h%8 != 0 || idx == 0,  // the first always votes, so tiny runs have ballots
		mode:      int((h >> 8) % 4 % 3), // 0 half the time
		merged:    (h>>16)%4 == 0,
		enclave:   (h>>24)%3 == 0,
		parl:      (h>>32)%6 == 0,
		none:      (h>>40)%25 == 0,
	}
}

// ballotWriter formats ballot rows.
type ballotWriter struct {
	w   *bufio.Writer
	st  *Stats
	row []byte
	wkt []byte
	rb  ringBuilder
	r2  []pt
}

func (bw *ballotWriter) writeRow(electionID, geoID string, wkt []byte, source string) error {
	bw.row = append(bw.row[:0], electionID...)
	bw.row = append(bw.row, ',')
	bw.row = appendField(bw.row, []byte(geoID))
	bw.row = append(bw.row, ',')
	bw.row = appendField(bw.row, wkt)
	bw.row = append(bw.row, ',')
	bw.row = append(bw.row, source...)
	bw.row = append(bw.row, '\r', '\n')
	bw.st.BallotRows++
	_, err := bw.w.Write(bw.row)
	return err
}

func (bw *ballotWriter) noteRing(r []pt) {
	bw.st.MaxRingVertices = max(bw.st.MaxRingVertices, len(r))
}

func appendRing(dst []byte, r []pt) []byte {
	dst = append(dst, '(')
	for i, p := range r {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendFixed(dst, p.x, 6, true)
		dst = append(dst, ' ')
		dst = appendFixed(dst, p.y, 6, true)
	}
	return append(dst, ')')
}

func reversed(r []pt) []pt {
	out := make([]pt, len(r))
	for i := range r {
		out[i] = r[len(r)-1-i]
	}
	return out
}

// geographyIDs returns GSS-like code prefixes for a location: Northern
// Ireland, Scotland or England.
func geographyPrefix(l *lattice, o orgPlan) (org, div string) {
	p := l.point(o.oi*orgCells+1, o.oj*orgCells+1)
	lon, lat := float64(p.x)/micro, float64(p.y)/micro
	switch {
	case lon < -5.4 && lat > 54 && lat < 55.4:
		return "N09000", "N08"
	case lat > 55.8:
		return "S12000", "S13"
	}
	return "E07000", "E05"
}

func writeBallots(w *bufio.Writer, l *lattice, st *Stats) error {
	if _, err := w.WriteString("election_id,geography_id,geography_text,source_table\r\n"); err != nil {
		return err
	}
	if l.none {
		return nil // Options.Ballots == 0: header only
	}
	bw := &ballotWriter{w: w, st: st}
	divSeq := 0
	for oj := 0; oj < l.gy; oj++ {
		for oi := 0; oi < l.gx; oi++ {
			o := l.org(oi, oj)
			st.Organisations++
			if !o.elections {
				st.OrgsWithoutVotes++
				continue
			}
			if err := bw.writeOrg(l, o, &divSeq); err != nil {
				return err
			}
		}
	}
	return nil
}

func (bw *ballotWriter) writeOrg(l *lattice, o orgPlan, divSeq *int) error {
	orgPrefix, divPrefix := geographyPrefix(l, o)
	orgGSS := orgPrefix + pad3(o.index%1000)
	orgID := "mayor." + o.slug + "." + electionDate
	i0, j0 := o.oi*orgCells, o.oj*orgCells
	bw.st.Ballots++

	// Organisation ballot.
	switch o.mode {
	case 0:
		r := l.orgRing(&bw.rb, o.oi, o.oj)
		bw.noteRing(r)
		bw.wkt = appendRing(append(bw.wkt[:0], "POLYGON("...), r)
		bw.wkt = append(bw.wkt, ')')
		if err := bw.writeRow(orgID, orgGSS, bw.wkt, "Organisation"); err != nil {
			return err
		}
	case 1: // one row per cell, as EE's subdivision does
		bw.st.SplitBallots++
		for c := 0; c < orgCells*orgCells; c++ {
			r := l.cellRing(&bw.rb, i0+c%orgCells, j0+c/orgCells)
			bw.noteRing(r)
			bw.wkt = appendRing(append(bw.wkt[:0], "POLYGON("...), r)
			bw.wkt = append(bw.wkt, ')')
			if err := bw.writeRow(orgID, orgGSS, bw.wkt, "Organisation"); err != nil {
				return err
			}
		}
	case 2: // two rows, each a MULTIPOLYGON of cells touching only at corners
		bw.st.SplitBallots++
		for colour := 0; colour < 2; colour++ {
			bw.wkt = append(bw.wkt[:0], "MULTIPOLYGON("...)
			first := true
			for c := 0; c < orgCells*orgCells; c++ {
				ci, cj := c%orgCells, c/orgCells
				if (ci+cj)%2 != colour {
					continue
				}
				if !first {
					bw.wkt = append(bw.wkt, ',')
				}
				first = false
				r := l.cellRing(&bw.rb, i0+ci, j0+cj)
				bw.noteRing(r)
				bw.wkt = append(bw.wkt, '(')
				bw.wkt = appendRing(bw.wkt, r)
				bw.wkt = append(bw.wkt, ')')
			}
			bw.wkt = append(bw.wkt, ')')
			bw.st.MultiPolygonRows++
			if err := bw.writeRow(orgID, orgGSS, bw.wkt, "Organisation"); err != nil {
				return err
			}
		}
	}

	// Division ballots: one per cell, except that a merged org joins cells
	// (0,0) and (2,0) into one MULTIPOLYGON division, and an enclave org has
	// a small division inside cell (1,1), which is a hole in that cell's.
	words := len(divisionWords)
	for c := 0; c < orgCells*orgCells; c++ {
		ci, cj := c%orgCells, c/orgCells
		if o.merged && c == 2 {
			continue // part of cell 0's division
		}
		name := divisionWords[(c+o.index)%words]
		parts := [][2]int{{ci, cj}}
		if o.merged && c == 0 {
			name += "-and-" + divisionWords[(2+o.index)%words]
			parts = append(parts, [2]int{2, 0})
		}
		*divSeq++
		gss := divPrefix + pad6(5000+*divSeq)
		id := "local." + o.slug + "." + name + "." + electionDate
		bw.st.Ballots++
		multi := len(parts) > 1
		// A two-part division is written as one MULTIPOLYGON row or, half
		// the time, as two POLYGON rows.
		asRows := multi && (o.index%2 == 0)
		if asRows {
			bw.st.SplitBallots++
		}
		if multi && !asRows {
			bw.wkt = append(bw.wkt[:0], "MULTIPOLYGON("...)
			bw.st.MultiPolygonRows++
		}
		for pi, part := range parts {
			if asRows || !multi {
				bw.wkt = append(bw.wkt[:0], "POLYGON"...)
			} else if pi > 0 {
				bw.wkt = append(bw.wkt, ',')
			}
			pci, pcj := i0+part[0], j0+part[1]
			r := l.cellRing(&bw.rb, pci, pcj)
			bw.noteRing(r)
			bw.wkt = append(bw.wkt, '(')
			bw.wkt = appendRing(bw.wkt, r)
			if o.enclave && part == [2]int{1, 1} {
				bw.r2 = l.enclaveRing(bw.r2, pci, pcj)
				bw.wkt = append(bw.wkt, ',')
				bw.wkt = appendRing(bw.wkt, reversed(bw.r2)) // holes run clockwise
				bw.st.HoleRows++
			}
			bw.wkt = append(bw.wkt, ')')
			if asRows || !multi {
				if err := bw.writeRow(id, gss, bw.wkt, "Division"); err != nil {
					return err
				}
			}
		}
		if multi && !asRows {
			bw.wkt = append(bw.wkt, ')')
			if err := bw.writeRow(id, gss, bw.wkt, "Division"); err != nil {
				return err
			}
		}
	}
	if o.enclave {
		*divSeq++
		r := l.enclaveRing(bw.r2, i0+1, j0+1)
		bw.noteRing(r)
		bw.wkt = appendRing(append(bw.wkt[:0], "POLYGON("...), r)
		bw.wkt = append(bw.wkt, ')')
		bw.st.Ballots++
		id := "local." + o.slug + ".town-centre." + electionDate
		if err := bw.writeRow(id, divPrefix+pad6(5000+*divSeq), bw.wkt, "Division"); err != nil {
			return err
		}
	}
	if o.parl {
		r := l.orgRing(&bw.rb, o.oi, o.oj)
		bw.wkt = appendRing(append(bw.wkt[:0], "POLYGON("...), r)
		bw.wkt = append(bw.wkt, ')')
		bw.st.Ballots++
		id := "parl." + o.slug + "-and-" + placeName(o.index+1) + "." + electionDate
		if err := bw.writeRow(id, "E14001"+pad3(o.index%1000), bw.wkt, "Division"); err != nil {
			return err
		}
	}
	if o.none {
		bw.st.NoneRows++
		id := "ref." + o.slug + "." + electionDate
		if err := bw.writeRow(id, "", nil, "None"); err != nil {
			return err
		}
	}
	return nil
}

func pad3(v int) string { return padN(v, 3) }
func pad6(v int) string { return padN(v, 6) }

func padN(v, n int) string {
	s := itoa(v)
	for len(s) < n {
		s = "0" + s
	}
	return s
}
