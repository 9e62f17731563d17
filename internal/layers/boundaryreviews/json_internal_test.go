package boundaryreviews

import "testing"

// jsonString writes what the SQL's json_format(CAST(nullif(x, <empty string>) AS JSON))
// writes (internal/trinopg's TestFunctionsHaveTrinoSemantics checks the
// SQL side on the same input): control characters, quotes and backslashes
// escaped, non-ASCII and HTML characters as they are, "" as null.
func TestJSONStringMatchesJSONFormat(t *testing.T) {
	for in, want := range map[string]string{
		"Ynys Môn \"x\" \\ y\n\x01": `"Ynys Môn \"x\" \\ y\n\u0001"`,
		"":                          `null`,
		"East & <Riverside>":        `"East & <Riverside>"`,
		"a\tb\rc\bd\fe\x1f":         `"a\tb\rc\bd\fe\u001f"`,
		"– \u2028":                  "\"– \u2028\"",
	} {
		if got := jsonString(in); got != want {
			t.Errorf("jsonString(%q) = %s, want %s", in, got, want)
		}
	}
}
