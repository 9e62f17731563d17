// Command testprogress reads `go test -json` on stdin and prints each
// package's result line ("ok  pkg 3.1s", "FAIL pkg ...") the moment that
// package finishes. Plain `go test ./...` prints results in package order,
// so one slow package early in the list hides every later result until it
// ends; with -json the go command streams events as they happen. A failed
// package's whole output is printed, as go test would; passing packages
// show only their result line. It exits 1 if any package or build failed.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// event is the part of a test2json event that this command reads.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail events
}

func main() {
	failed, err := format(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testprogress:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// format copies a go test -json stream as package results; it reports
// whether anything failed.
func format(r io.Reader, w io.Writer) (failed bool, err error) {
	outputs := map[string]*strings.Builder{} // package -> its output so far
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || (e.Action == "" && e.Package == "") {
			fmt.Fprintf(w, "%s\n", line) // not an event: pass it on
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
			continue
		case "build-fail":
			failed = true
			continue
		}
		if e.Package == "" {
			continue
		}
		b := outputs[e.Package]
		if b == nil {
			b = &strings.Builder{}
			outputs[e.Package] = b
		}
		if e.Action == "output" {
			b.WriteString(e.Output)
		}
		if e.Test != "" || (e.Action != "pass" && e.Action != "fail" && e.Action != "skip") {
			continue
		}
		// The package has finished: its last output lines are go test's
		// own result ("ok ...", "FAIL ...", "? ... [no test files]").
		stamp := time.Now().Format("15:04:05")
		if e.Action == "fail" {
			failed = true
			fmt.Fprintf(w, "%s %s", stamp, b.String())
		} else {
			fmt.Fprintf(w, "%s %s", stamp, lastLine(b.String()))
		}
		delete(outputs, e.Package)
	}
	return failed, sc.Err()
}

// lastLine returns the last non-empty line of s, with its newline.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s + "\n"
}
