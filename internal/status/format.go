package status

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Human formats d for people: "42s", "3m12s", "5h07m", "2d04h".
func Human(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

const timeLayout = "2006-01-02 15:04:05Z"

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// WriteText writes r as aligned tables: executions, then outputs, then
// warnings.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Stack %s, checked %s\n\n", r.Stack, r.CheckedAt.Format(timeLayout))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tEXECUTION\tSTATUS\tSTARTED\tDURATION")
	for _, l := range r.Layers {
		if len(l.Executions) == 0 {
			fmt.Fprintf(tw, "%s\t-\tno executions\t-\t-\n", l.Layer)
		}
		for _, e := range l.Executions {
			d := Human(time.Duration(e.DurationSeconds * float64(time.Second)))
			if e.Running() {
				d = "running for " + d
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Layer, e.Name, e.Status, e.StartDate.Format(timeLayout), d)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("format executions: %w", err)
	}
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "OUTPUT\tLOCATION\tOBJECTS\tNEWEST\tAGE\n")
	for _, f := range r.Outputs {
		newest, age := "-", "-"
		if f.Newest != nil {
			newest = f.Newest.Format(timeLayout)
			age = Human(time.Duration(f.AgeSeconds * float64(time.Second)))
			if f.Stale {
				age += " STALE"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", f.Output, f.Location, f.Objects, newest, age)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("format outputs: %w", err)
	}
	for _, f := range r.Outputs {
		if f.LastRun == nil {
			continue
		}
		fmt.Fprintf(&b, "\nLast published run of %s (%s):\n  %s\n", f.Output, f.LastRun.Key, strings.ReplaceAll(f.LastRun.Summary, "\n", "\n  "))
		for _, a := range f.LastRun.Accepted {
			fmt.Fprintf(&b, "  accepted on purpose: %s\n", a)
		}
	}
	for _, msg := range r.Warnings {
		fmt.Fprintf(&b, "\nWARNING: %s", msg)
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
