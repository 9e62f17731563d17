package bake

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
)

func TestRepeatedAcross(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lists [][]uint64
		want  []uint64
	}{
		{"none", nil, nil},
		{"one list", [][]uint64{{1, 2, 3}}, nil},
		{"disjoint", [][]uint64{{1, 4}, {2, 5}, {3, 6}}, nil},
		{"in two", [][]uint64{{1, 4}, {2, 5}, {3, 4}}, []uint64{4}},
		{"in three, odd count", [][]uint64{{1, 9}, {9}, {2, 9}, {3}, {3, 7}}, []uint64{3, 9}},
		{"empty lists", [][]uint64{{}, {5}, {}, {5}}, []uint64{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var files []string
			for i, l := range tc.lists {
				f := filepath.Join(t.TempDir(), fmt.Sprint(i))
				if err := writeHashes(f, l); err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			dup, err := repeatedAcross(files)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(maps.Keys(dup))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
