package manifest

import (
	"context"
	"fmt"
	"strings"
)

// Thresholds bound how far a run may move from the previous one before the
// plausibility gate refuses it. Each is a fraction (0.1 is 10%); a
// negative value switches its check off.
type Thresholds struct {
	// ShareMove bounds the change, in points, of the share of UPRNs whose
	// list is not empty (0.1: from 40% to 29% is refused).
	ShareMove float64 `json:"max_share_move"`
	// ChangedOutcodes bounds the share of outcodes whose content changes.
	ChangedOutcodes float64 `json:"max_changed_outcodes"`
	// InvalidPieces bounds the share of the input's geometry pieces that
	// are not OGC-valid (the contract's default is 0.1%).
	InvalidPieces float64 `json:"max_invalid_pieces"`
}

// DefaultThresholds are the gate's defaults: the one place they live.
var DefaultThresholds = Thresholds{ShareMove: 0.10, ChangedOutcodes: 0.25, InvalidPieces: 0.001}

// OrDefault replaces zero fields with their defaults.
func (t Thresholds) OrDefault() Thresholds {
	if t.ShareMove == 0 {
		t.ShareMove = DefaultThresholds.ShareMove
	}
	if t.ChangedOutcodes == 0 {
		t.ChangedOutcodes = DefaultThresholds.ChangedOutcodes
	}
	if t.InvalidPieces == 0 {
		t.InvalidPieces = DefaultThresholds.InvalidPieces
	}
	return t
}

// Check is the plausibility gate: it returns what is implausible about
// next (whose Changes Compare has filled), compared with the last published
// run prev (nil on a first run). Each finding says what was seen.
func Check(prev *Manifest, next *Manifest, th Thresholds) []string {
	th = th.OrDefault()
	var out []string
	t := next.Totals
	if t.Areas > 0 && t.UPRNs > 0 && t.RowsWithItems == 0 {
		out = append(out, fmt.Sprintf("the input has %d areas with geometry (%d pieces) but none of the %d addresses is inside any: swapped longitude and latitude, or the wrong file?",
			t.Areas, t.Pieces, t.UPRNs))
	}
	if th.InvalidPieces >= 0 && t.Pieces > 0 {
		// The count comes from the input's validation (InvalidPieces).
		if share := float64(t.InvalidPieces) / float64(t.Pieces); share > th.InvalidPieces {
			out = append(out, fmt.Sprintf("%d of %d input pieces (%s) are not OGC-valid, more than the %s allowed",
				t.InvalidPieces, t.Pieces, pct(share), pct(th.InvalidPieces)))
		}
	}
	if prev == nil {
		return out
	}
	c := next.Changes
	if move := c.ShareAfter - c.ShareBefore; th.ShareMove >= 0 && abs(move) > th.ShareMove {
		out = append(out, fmt.Sprintf("the share of UPRNs with %s moved from %s (%d of %d) to %s (%d of %d), by %.1f points, more than the %.1f allowed",
			next.ListColumn, pct(c.ShareBefore), prev.Totals.RowsWithItems, prev.Totals.UPRNs,
			pct(c.ShareAfter), t.RowsWithItems, t.UPRNs, 100*move, 100*th.ShareMove))
	}
	if th.ChangedOutcodes >= 0 && c.ChangedShare > th.ChangedOutcodes {
		out = append(out, fmt.Sprintf("%d of %d outcodes (%s) changed content (%d added, %d removed), more than the %s allowed",
			c.OutcodesChanged, t.Outcodes+c.OutcodesRemoved, pct(c.ChangedShare), c.OutcodesAdded, c.OutcodesRemoved, pct(th.ChangedOutcodes)))
	}
	return out
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Refused is the gate's error: nothing was published.
type Refused struct {
	Product  string
	Findings []string
}

func (r *Refused) Error() string {
	return fmt.Sprintf("plausibility gate refused %s, nothing was published, the previous output is kept:\n  - %s\n"+
		"If this change is intended, run again with --accept-change (databaker bake) or {\"accept_change\": true} in the state machine's input.",
		r.Product, strings.Join(r.Findings, "\n  - "))
}

// Run is one product's new files and the last published ones.
type Run struct {
	// Published are the files consumers see now; the previous manifest is
	// Key(Published.Prefix) in the same store.
	Published Side
	// New are the files about to be published.
	New        Side
	ListColumn string
	Source     Source
	Inputs     []Input
	Thresholds Thresholds
	// Accept publishes a run the gate finds implausible, recording the
	// findings in the manifest.
	Accept bool
}

// Prepare builds the new files' manifest, compares it with the previous
// one and applies the gate. It returns the manifest to publish with the
// files, or a *Refused error. The bake and the state machine's gate Lambda
// both call it.
func Prepare(ctx context.Context, r Run) (Manifest, error) {
	next, err := Build(ctx, r.New.Store, r.New.Prefix, r.ListColumn, r.Source)
	if err != nil {
		return next, err
	}
	if r.Inputs != nil {
		next.Inputs = r.Inputs
	}
	prev, err := Load(ctx, r.Published.Store, Key(r.Published.Prefix))
	if err != nil {
		return next, err
	}
	if err := Compare(ctx, prev, r.Published, &next, r.New); err != nil {
		return next, err
	}
	if findings := Check(prev, &next, r.Thresholds); len(findings) > 0 {
		if !r.Accept {
			return next, &Refused{Product: next.Product, Findings: findings}
		}
		next.Accepted = findings
	}
	return next, nil
}
