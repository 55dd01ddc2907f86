package steps_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/runner/steps"
)

// exampleOf returns the example sentence of an action's description.
func exampleOf(t *testing.T, a steps.Action) string {
	t.Helper()
	_, ex, ok := strings.Cut(a.Description, "Example: ")
	if !ok {
		t.Fatalf("%q has no example in its description", a.Name)
	}
	return ex
}

// Every step parses, counts its values like Cometa, and its own example
// matches it.
func TestCatalogueExamplesMatch(t *testing.T) {
	t.Parallel()
	c := steps.NewCatalogue()
	actions := c.Actions()
	if len(actions) < 70 {
		t.Fatalf("only %d actions", len(actions))
	}
	for _, a := range actions {
		if a.StepType != steps.StepTypeBrowser || a.Description == "" {
			t.Errorf("%q: type %q, description %q", a.Name, a.StepType, a.Description)
		}
		if a.Values != strings.Count(a.Name, "{") {
			t.Errorf("%q: values %d", a.Name, a.Values)
		}
		ex := exampleOf(t, a)
		m, err := c.Match(ex)
		if err != nil {
			t.Errorf("example %q of %q: %v", ex, a.Name, err)
			continue
		}
		if m.Pattern != a.Name {
			t.Errorf("example %q matched %q, want %q", ex, m.Pattern, a.Name)
		}
		if err := c.Validate(ex); err != nil {
			t.Errorf("example %q does not validate: %v", ex, err)
		}
	}
}

func TestMatchCorpus(t *testing.T) {
	t.Parallel()
	c := steps.NewCatalogue()
	tests := []struct {
		sentence, pattern string
		values            map[string]string
	}{
		{`Goto URL "http://127.0.0.1:8080/a?b=c"`, `Goto URL "{url}"`, map[string]string{"url": "http://127.0.0.1:8080/a?b=c"}},
		{`StartBrowser and call URL "$TODO_URL"`, `StartBrowser and call URL "{url}"`, map[string]string{"url": "$TODO_URL"}},
		{`I can see "Buy milk" on page`, `I can see "{something}" on page`, map[string]string{"something": "Buy milk"}},
		{`I can see "Buy milk"`, `I can see "{something}"`, map[string]string{"something": "Buy milk"}},
		{`wait until I can see "Buy bread" on page`, `wait until I can see "{something}" on page`, nil},
		{`Check if "#todo-count" contains "2 items left" in JS property "innerText"`,
			`Check if "{css_selector}" contains "{value}" in JS property "{js_property}"`,
			map[string]string{"css_selector": "#todo-count", "value": "2 items left", "js_property": "innerText"}},
		{`Check if "#h" contains "red" in "color"`, `Check if "{css_selector}" contains "{value}" in "{css_property}"`, nil},
		{`Set value "x" on "#a"`, `Set value "{text}" on "{selector}"`, nil},
		{`Set value "x" on "#a" and do not check the value`, `Set value "{text}" on "{selector}" and do not check the value`,
			map[string]string{"text": "x", "selector": "#a"}},
		{`Set value "" on "#a"`, `Set value "{text}" on "{selector}"`, map[string]string{"text": ""}},
		{`I move mouse to "//button[@id="x"]" and click`, `I move mouse to "{css_selector}" and click`,
			map[string]string{"css_selector": `//button[@id="x"]`}},
		{`I move mouse to "#a" and double click`, `I move mouse to "{selector}" and double click`, nil},
		{`I move mouse to "#a" and right-click`, `I move mouse to "{css_selector}" and right-click`, nil},
		{`I click on "Completed"`, `I click on "{linktext}"`, nil},
		{`I can click on button "Save"`, `I can click on button "{button_name}"`, nil},
		{`I can click on button with title "Close"`, `I can click on button with title "{button_title}"`, nil},
		{`Press the following set of keys "CTRL+A;DELETE"`, `Press the following set of keys "{keySet}"`, nil},
		{`Loop "3" times starting at "0" and do`, `Loop "{x}" times starting at "{index}" and do`, map[string]string{"x": "3", "index": "0"}},
		{`If "%index" "==" "2"`, `If "{value1}" "{condition}" "{value2}"`, map[string]string{"value1": "%index", "condition": "==", "value2": "2"}},
		{`#just a note`, `#{comment}`, nil},
		{`################ Login ################`, `################ {comment} ################`, nil},
		{`Run feature with id "12" before continuing`, `Run feature with id "{feature_id}" before continuing`, nil},
		{`Define Custom Error Message for next step: "Login broken"`, `Define Custom Error Message for next step: "{error_message}"`, nil},
		{`I use selector "2" and select option "contains:spa"`, `I use selector "{css_selector}" and select option "{value}"`, nil},
		{`Scroll to "100"px on element ".list"`, `Scroll to "{amount}"px on element "{selector}"`, nil},
		{`Scroll to "100"px`, `Scroll to "{amount}"px`, nil},
		{"Run Javascript function \"let a = 1;\nreturn a + 1;\"", `Run Javascript function "{function}"`,
			map[string]string{"function": "let a = 1;\nreturn a + 1;"}},
		{"  Press Enter  ", `Press Enter`, nil},
		{"Press\u00a0Enter", `Press Enter`, nil},
	}
	for _, tc := range tests {
		m, err := c.Match(tc.sentence)
		if err != nil {
			t.Errorf("Match(%q): %v", tc.sentence, err)
			continue
		}
		if m.Pattern != tc.pattern {
			t.Errorf("Match(%q) = %q, want %q", tc.sentence, m.Pattern, tc.pattern)
		}
		for k, v := range tc.values {
			if m.Values[k] != v {
				t.Errorf("Match(%q).Values[%q] = %q, want %q", tc.sentence, k, m.Values[k], v)
			}
		}
	}
}

func TestMatchDocstring(t *testing.T) {
	t.Parallel()
	c := steps.NewCatalogue()
	content := "Run Javascript function \"// code below\"\n\"\"\"\n    const n = 2;\n    return n * 21;\n\"\"\""
	m, err := c.Match(content)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sentence != `Run Javascript function "// code below"` {
		t.Fatalf("Sentence = %q", m.Sentence)
	}
	if m.Docstring != "const n = 2;\nreturn n * 21;" {
		t.Fatalf("Docstring = %q", m.Docstring)
	}
}

func TestUnknownStepsGiveTheClosest(t *testing.T) {
	t.Parallel()
	c := steps.NewCatalogue()
	tests := []struct{ sentence, closest string }{
		{`Goto ULR "https://x"`, `Goto URL "{url}"`},
		{`goto url "https://x"`, `Goto URL "{url}"`},
		{`I can se "Buy milk" on page`, `I can see "{something}" on page`},
		{`Press enter`, `Press Enter`},
		{`I move the mouse to "#a" and click`, `I move mouse to "{css_selector}" and click`},
		{`Set value "a" in "#b"`, `Set value "{text}" on "{selector}"`},
		{`Loop "3" times and do`, `Loop "{x}" times starting at "{index}" and do`},
	}
	for _, tc := range tests {
		err := c.Validate(tc.sentence)
		var unknown *steps.UnknownStepError
		if !errors.As(err, &unknown) || !errors.Is(err, steps.ErrUnknownStep) {
			t.Errorf("Validate(%q) = %v, want an UnknownStepError", tc.sentence, err)
			continue
		}
		if unknown.Closest != tc.closest || c.Closest(tc.sentence) != tc.closest {
			t.Errorf("closest to %q = %q, want %q", tc.sentence, unknown.Closest, tc.closest)
		}
		if !strings.Contains(err.Error(), tc.closest) {
			t.Errorf("error %q does not name the closest step", err)
		}
	}
	if err := c.Validate(`Goto URL "https://example.org/"`); err != nil {
		t.Fatalf("Validate of a known step: %v", err)
	}
}

// Validate refuses values a step can never run with; values holding
// variables are checked as far as they are literal.
func TestValidateValues(t *testing.T) {
	t.Parallel()
	c := steps.NewCatalogue()
	valid := []string{
		`Goto URL "https://example.org/a?b=%20c"`,
		`StartBrowser and call URL "http://127.0.0.1:8080/"`,
		`Goto URL "$BASE_URL/login"`,
		`Goto URL "https://$HOST/"`,
		`Goto URL "http%index"`,
		`StartBrowser and call URL "${URL}" with javascript`,
		`Upload a file by clicking on "#f" using file "a.txt;docs/b.pdf"`,
		`Upload a file by clicking on "#f" using file "a.txt;../$NAME"`,
		`Loop "0" times starting at "-3" and do`,
		`Loop "10000" times starting at "1" and do`,
		`Loop "%count" times starting at "$START" and do`,
		`I sleep "0.5" seconds`,
		`I can sleep "$WAIT" seconds`,
		`If "$A" "$CONDITION" "b"`,
		`If "%index" ">=" "2"`,
		`I resize the browser to "1280" x "$HEIGHT"`,
		`Scroll to "-20.5"px`,
		`Generate random "EMAIL" and store in "E"`,
	}
	for _, s := range valid {
		if err := c.Validate(s); err != nil {
			t.Errorf("Validate(%q): %v", s, err)
		}
	}
	invalid := []struct{ sentence, want string }{
		{`StartBrowser and call URL "file:///root/.cometa/encryption-passphrase"`,
			`the URL "file:///root/.cometa/encryption-passphrase" has scheme "file": only http and https URLs can be opened`},
		{`Goto URL "file:///$DATA_DIR/encryption-passphrase"`, `has scheme "file"`},
		{`Goto URL "view-source:$URL"`, `has scheme "view-source"`},
		{`Goto URL "about:blank"`, `has scheme "about"`},
		{`Goto URL "x"`, `the URL "x" is not absolute`},
		{`StartBrowser and call URL "javascript:alert(1)" with javascript`, `has scheme "javascript"`},
		{`Upload a file by clicking on "#f" using file "/etc/passwd"`, `file "/etc/passwd" is outside the uploads folder`},
		{`Upload a file by clicking on "#f" using file "a.txt;../../data/x;$F"`, `file "../../data/x" is outside`},
		{`Upload a file by clicking on "#f" using file " ; "`, `no file given`},
		{`Loop "-5" times starting at "1" and do`, `the loop count -5 is not between 0 and 10000`},
		{`Loop "999999999999" times starting at "0" and do`, `the loop count 999999999999 is not between 0 and 10000`},
		{`Loop "3" times starting at "first" and do`, `the loop start "first" is not a whole number`},
		{`I sleep "abc" seconds`, `"abc" is not a number of seconds`},
		{`I can sleep "-1" seconds`, `"-1" is not a number of seconds`},
		{`I sleep "NaN" seconds`, `"NaN" is not a number of seconds`},
		{`I sleep "99999" seconds`, `a sleep of 99999 seconds is longer than the longest step timeout (7200 seconds)`},
		{`I resize the browser to "0" x "600"`, `width "0" is not a number of pixels from 1 to 10000`},
		{`I can resize the browser to "800" x "tall"`, `height "tall" is not a number of pixels from 1 to 10000`},
		{`Scroll to "far"px`, `amount "far" is not a number of pixels`},
		{`If "a" "equal" "b"`, `unknown condition "equal": use one of equals, not equals`},
		{`Create a string of random "0" numbers and save to "PIN"`, `the number of digits 0 is not between 1 and 1000`},
		{`Generate random "colour" and store in "C"`, `unknown kind "colour"`},
	}
	for _, tc := range invalid {
		err := c.Validate(tc.sentence)
		var ve *steps.ValueError
		if !errors.Is(err, steps.ErrInvalidValue) || !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%q) = %v, want a ValueError with %q", tc.sentence, err, tc.want)
			continue
		}
		if ve.Sentence != tc.sentence || ve.Name == "" {
			t.Errorf("Validate(%q): %+v", tc.sentence, ve)
		}
	}
}

func TestValidateFlow(t *testing.T) {
	t.Parallel()
	c := steps.NewCatalogue()
	ok := [][]string{
		{`Loop "2" times starting at "1" and do`, `If "%index" "==" "1"`, `Break Loop`, `Else`, `Continue Loop`, `End If`, `End Loop`},
		{`If "a" "equals" "a"`, `If "b" "equals" "b"`, `End If`, `Else`, `End If`},
	}
	for _, list := range ok {
		if err := c.ValidateFlow(list); err != nil {
			t.Errorf("ValidateFlow(%q): %v", list, err)
		}
	}
	bad := []struct {
		list []string
		want string
	}{
		{[]string{`Loop "2" times starting at "1" and do`, `Loop "2" times starting at "1" and do`, `End Loop`, `End Loop`}, "step 2"},
		{[]string{`End If`}, "End If without an open If"},
		{[]string{`If "a" "equals" "a"`}, "If without End If"},
		{[]string{`Loop "2" times starting at "1" and do`}, "Loop without End Loop"},
		{[]string{`Break Loop`}, "outside of a Loop"},
		{[]string{`If "a" "equals" "a"`, `Loop "2" times starting at "1" and do`, `End If`, `End Loop`}, "End If without an open If"},
		{[]string{`If "a" "equals" "a"`, `Else`, `Else`, `End If`}, "second Else"},
		{[]string{`Goto URL "x"`, `Frobnicate`}, "step 2"},
	}
	for _, tc := range bad {
		err := c.ValidateFlow(tc.list)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateFlow(%q) = %v, want an error with %q", tc.list, err, tc.want)
		}
	}
}

func TestParseSubfeature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		content string
		ref     steps.SubfeatureRef
		ok      bool
		err     bool
	}{
		{`Run feature with id "12" before continuing`, steps.SubfeatureRef{ID: 12}, true, false},
		{`Run feature with name "Login flow" before continuing`, steps.SubfeatureRef{Name: "Login flow"}, true, false},
		{`Run feature with id "x" before continuing`, steps.SubfeatureRef{}, true, true},
		{`Run feature with name "" before continuing`, steps.SubfeatureRef{}, true, true},
		{`Goto URL "x"`, steps.SubfeatureRef{}, false, false},
	}
	for _, tc := range tests {
		ref, ok, err := steps.ParseSubfeature(tc.content)
		if ref != tc.ref || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("ParseSubfeature(%q) = %+v, %v, %v", tc.content, ref, ok, err)
		}
	}
}
