// Package layers is the list of layers, in the order they run: each one's
// cloud declaration (deployed by program.go) and local engine (run by
// databaker bake) come from its own package. Adding a layer is its package
// and one line here; the Pulumi program, the bake and the tests all read
// this one list, so they cannot disagree about which layers exist.
package layers

import (
	"github.com/DemocracyClub/dc-data-baker/internal/bake"
	"github.com/DemocracyClub/dc-data-baker/internal/layer"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/addressbase"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/boundaryreviews"
	"github.com/DemocracyClub/dc-data-baker/internal/layers/currentelections"
)

// Layer is one layer's two renderings.
type Layer struct {
	Spec func(layer.Settings) (layer.Spec, error)
	Bake bake.Layer
}

// All are the layers, each after those it reads.
var All = []Layer{
	{addressbase.Spec, addressbase.Bake},
	{currentelections.Spec, currentelections.Bake},
	{boundaryreviews.Spec, boundaryreviews.Bake},
}

// Bake returns the layers' local engines, in order.
func Bake() []bake.Layer {
	out := make([]bake.Layer, len(All))
	for i, l := range All {
		out[i] = l.Bake
	}
	return out
}

// Specs declares every layer for a stack.
func Specs(s layer.Settings) ([]layer.Spec, error) {
	out := make([]layer.Spec, len(All))
	for i, l := range All {
		spec, err := l.Spec(s)
		if err != nil {
			return nil, err
		}
		out[i] = spec
	}
	return out, nil
}
