package steps_test

import (
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestAssertions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(
		st(`Goto URL "`+e.page("links.html")+`"`),
		st(`I can see "Tom & Jerry" on page`),
		st(`I can see "Tom &amp; Jerry"`),
		st(`I can see a link with "Go to second"`),
		st(`Goto URL "`+e.page("dynamic.html")+`"`),
		// Checks poll: these become true only after the page has moved on.
		st(`wait until I can see "I came late" on page`),
		st(`wait until "#late" is loaded`),
		st(`I can see element with css selector "span#late"`),
		st(`I cannot see element with selector "#hides"`),
		st(`There is no coincidence with css selector "#loading"`),
		st(`BrowserTitle is "Dynamic done"`),
		st(`Check if "#box" contains "auto" in "overflow-y"`),
		st(`Check if "#cover" contains "rgba(255, 0, 0" in "backgroundColor"`),
		st(`Check if "#late" contains "caseInsensitive:i CAME" in JS property "innerText"`),
		st(`Assert "same" to be same as "same"`),
		st(`Assert "a longer text" to contain "longer"`),
		st(`Compare "32 €" and "28,5 €" with a "5"`),
	)
}

func TestAssertionFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(st(`Goto URL "` + e.page("dynamic.html") + `"`))
	short := func(content string) steps.Step { return steps.Step{Content: content, Timeout: time.Second} }
	tests := []struct {
		step steps.Step
		want string
	}{
		{short(`I can see "Never there" on page`), `could not find "Never there" on the page within 1s (the search is case-sensitive)`},
		{short(`wait until "#nope" is loaded`), `could not find an element for "#nope"`},
		{short(`I can see element with css selector "#hides"`), `could not find a visible element for "#hides"`},
		{short(`I cannot see element with selector "#bottom"`), `"#bottom" is still visible`},
		{short(`There is no coincidence with css selector "#hides"`), `"#hides" is still in the page`},
		{short(`Check if "#count" contains "7" in JS property "innerText"`), `"#count" property "innerText" is "0", expected it to contain "7"`},
		{short(`Check if "#count" contains "7" in JS property "noSuchProperty"`), `"#count" has no property "noSuchProperty"`},
		{short(`Check if "#box" contains "scroll" in "overflow-y"`), `"#box" CSS property "overflow-y" is "auto", expected it to contain "scroll"`},
		{short(`Assert "a" to be same as "b"`), `"a" does not match "b"`},
		{short(`Assert "abc" to contain "x"`), `"abc" does not contain "x"`},
		{short(`Compare "10" and "20" with a "5"`), `the difference 10 is greater than the variance 5`},
		{short(`Throw an error with "Custom stop" and leave`), `Custom stop`},
		{short(`I can see element with css selector "css@@div["`), `invalid selector "css@@div[" (css: Failed to execute 'querySelectorAll' on 'Document': 'div[' is not a valid selector.)`},
	}
	for _, tc := range tests {
		if msg := e.mustFail(tc.step); msg != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.step.Content, msg, tc.want)
		}
	}
}
