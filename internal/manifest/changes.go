package manifest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/DemocracyClub/dc-data-baker/internal/blob"
	"github.com/DemocracyClub/dc-data-baker/internal/outcodes"
)

// Changes compares a run with the previous manifest.
type Changes struct {
	// Previous is false on a first run: nothing was compared.
	Previous bool `json:"previous"`
	// OutcodesChanged counts outcodes whose content hash differs, added
	// and removed ones included; the share is of the outcodes of both runs.
	OutcodesChanged int     `json:"outcodes_changed"`
	OutcodesAdded   int     `json:"outcodes_added"`
	OutcodesRemoved int     `json:"outcodes_removed"`
	ChangedShare    float64 `json:"outcodes_changed_share"`
	// UPRNsGained counts UPRNs that hold an item they did not hold before,
	// UPRNsLost those that no longer hold one they held.
	UPRNsGained int64 `json:"uprns_gained_item"`
	UPRNsLost   int64 `json:"uprns_lost_item"`
	// ItemsAdded and ItemsRemoved are the items (keys of Items) held by no
	// row before, or by none now, sorted.
	ItemsAdded   []string `json:"items_added"`
	ItemsRemoved []string `json:"items_removed"`
	// ShareBefore and ShareAfter are Totals.Share of the two runs.
	ShareBefore float64 `json:"share_with_items_before"`
	ShareAfter  float64 `json:"share_with_items_after"`
}

// Side is one run's files: the store and the product prefix they are under.
type Side struct {
	Store  blob.Store
	Prefix string
}

// Compare fills next.Changes against prev (nil on a first run). It reads
// the files of the outcodes whose hash differs from both sides, to count
// the UPRNs that gained or lost an item.
func Compare(ctx context.Context, prev *Manifest, prevFiles Side, next *Manifest, nextFiles Side) error {
	ch := Changes{ItemsAdded: []string{}, ItemsRemoved: []string{}, ShareAfter: next.Totals.Share()}
	if prev == nil {
		next.Changes = ch
		return nil
	}
	ch.Previous, ch.ShareBefore = true, prev.Totals.Share()
	all := map[string]bool{}
	for oc := range prev.Outcodes {
		all[oc] = true
	}
	for oc := range next.Outcodes {
		all[oc] = true
	}
	ocs := make([]string, 0, len(all))
	for oc := range all {
		ocs = append(ocs, oc)
	}
	slices.Sort(ocs)
	for _, oc := range ocs {
		before, hadBefore := prev.Outcodes[oc]
		after, hasAfter := next.Outcodes[oc]
		if hadBefore && hasAfter && before.SHA256 == after.SHA256 {
			continue
		}
		ch.OutcodesChanged++
		switch {
		case !hadBefore:
			ch.OutcodesAdded++
		case !hasAfter:
			ch.OutcodesRemoved++
		}
		var old, cur map[string][]string
		var err error
		if hadBefore && before.RowsWithItems > 0 {
			if old, err = itemsByUPRN(ctx, prevFiles, prev.ListColumn, oc); err != nil {
				return fmt.Errorf("compare with previous run: %w", err)
			}
		}
		if hasAfter && after.RowsWithItems > 0 {
			if cur, err = itemsByUPRN(ctx, nextFiles, next.ListColumn, oc); err != nil {
				return fmt.Errorf("compare with previous run: %w", err)
			}
		}
		for u, items := range cur {
			if !subset(items, old[u]) {
				ch.UPRNsGained++
			}
		}
		for u, items := range old {
			if !subset(items, cur[u]) {
				ch.UPRNsLost++
			}
		}
	}
	ch.ChangedShare = float64(ch.OutcodesChanged) / float64(max(len(all), 1))
	for it := range next.Items {
		if _, ok := prev.Items[it]; !ok {
			ch.ItemsAdded = append(ch.ItemsAdded, it)
		}
	}
	for it := range prev.Items {
		if _, ok := next.Items[it]; !ok {
			ch.ItemsRemoved = append(ch.ItemsRemoved, it)
		}
	}
	slices.Sort(ch.ItemsAdded)
	slices.Sort(ch.ItemsRemoved)
	next.Changes = ch
	return nil
}

// itemsByUPRN reads one outcode file and returns the sorted items of each
// row that has any.
func itemsByUPRN(ctx context.Context, side Side, listColumn, outcode string) (map[string][]string, error) {
	key := outcodes.FileKey(side.Prefix, outcode)
	data, err := readAll(ctx, side.Store, key)
	if err != nil {
		return nil, err
	}
	rows, err := outcodes.DecodeRows(listColumn, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	m := make(map[string][]string, len(rows))
	for _, r := range rows {
		if len(r.List) > 0 {
			m[r.UPRN] = slices.Sorted(slices.Values(r.List))
		}
	}
	return m, nil
}

// subset reports whether every element of a (sorted) is in b (sorted).
func subset(a, b []string) bool {
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			return false
		}
	}
	return true
}

// Summary is the change summary the bake prints and databaker status
// shows: one line per kind of change, naming a few items.
func (c Changes) Summary(m *Manifest) string {
	if !c.Previous {
		return fmt.Sprintf("%s: first run, no previous manifest to compare with: %d outcodes, %d of %d UPRNs (%s) with %s",
			m.Product, m.Totals.Outcodes, m.Totals.RowsWithItems, m.Totals.UPRNs, pct(c.ShareAfter), m.ListColumn)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d of %d outcodes changed (%d added, %d removed); %d UPRNs gained and %d lost an item of %s; UPRNs with %s %s -> %s",
		m.Product, c.OutcodesChanged, m.Totals.Outcodes+c.OutcodesRemoved, c.OutcodesAdded, c.OutcodesRemoved,
		c.UPRNsGained, c.UPRNsLost, m.ListColumn, m.ListColumn, pct(c.ShareBefore), pct(c.ShareAfter))
	if len(c.ItemsAdded)+len(c.ItemsRemoved) > 0 {
		fmt.Fprintf(&b, "\n  %s added (%d): %s; removed (%d): %s", m.ListColumn, len(c.ItemsAdded), examples(c.ItemsAdded),
			len(c.ItemsRemoved), examples(c.ItemsRemoved))
	}
	return b.String()
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// examples names up to five items.
func examples(items []string) string {
	if len(items) == 0 {
		return "-"
	}
	s := strings.Join(items[:min(len(items), 5)], ", ")
	if len(items) > 5 {
		s += fmt.Sprintf(", and %d more", len(items)-5)
	}
	return s
}
