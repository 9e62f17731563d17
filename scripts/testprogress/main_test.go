package main

import (
	"strings"
	"testing"
)

func TestFormatPrintsEachPackageWhenItEnds(t *testing.T) {
	in := `{"Action":"start","Package":"p/slow"}
{"Action":"start","Package":"p/fast"}
{"Action":"output","Package":"p/fast","Output":"ok  \tp/fast\t0.01s\n"}
{"Action":"pass","Package":"p/fast","Elapsed":0.01}
{"Action":"output","Package":"p/bad","Test":"TestX","Output":"    x_test.go:3: boom\n"}
{"Action":"fail","Package":"p/bad","Test":"TestX"}
{"Action":"output","Package":"p/bad","Output":"FAIL\tp/bad\t0.02s\n"}
{"Action":"fail","Package":"p/bad"}
{"ImportPath":"p/broken","Action":"build-output","Output":"# p/broken\n"}
{"ImportPath":"p/broken","Action":"build-fail"}
{"Action":"output","Package":"p/slow","Output":"ok  \tp/slow\t9s\n"}
{"Action":"pass","Package":"p/slow"}
`
	var out strings.Builder
	failed, err := format(strings.NewReader(in), &out)
	if err != nil || !failed {
		t.Fatalf("failed=%v err=%v, want a failure reported", failed, err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if len(l) > 9 && l[2] == ':' && l[5] == ':' {
			l = l[9:] // drop the HH:MM:SS stamp
		}
		got = append(got, l)
	}
	want := []string{"ok  \tp/fast\t0.01s", "    x_test.go:3: boom", "FAIL\tp/bad\t0.02s", "# p/broken", "ok  \tp/slow\t9s"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
