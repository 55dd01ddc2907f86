package steps_test

import (
	"strings"
	"testing"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestFrames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("frames.html") + `"`),
			st(`I can switch to iFrame with id "outer"`),
			st(`I can see "inside outer" on page`),
			st(`I can click on element with css selector "#frame-btn"`),
			st(`I can see "clicked in frame" on page`),
			st(`Set value "typed in a frame" on "#frame-input"`),
			st(`Check if "#frame-input" contains "typed in a frame" in JS property "value"`),
			st(`I can switch to iFrame with id "inner"`),
			st(`I can see element with css selector "#in-inner"`),
			st(`I switch to defaultContent`),
			st(`I can see element with css selector "#top"`),
			st(`There is no coincidence with css selector "#in-outer"`),
			st(`I can switch to iFrame with name "other"`),
			st(`I can see "This is the second page" on page`),
			st(`I switch to defaultContent`),
			st(`I can switch to iFrame with selector "iframe#outer"`),
			st(`I can see element with css selector "#in-outer"`),
			st(`I switch to defaultContent`),
			// A number is an id first, else the n-th iframe.
			st(`I can switch to iFrame with id "2"`),
			st(`I can see element with css selector "#second"`),
			st(`I switch to defaultContent`),
		},
	)...)

	msg := e.mustFail(st(`I can switch to iFrame with id "missing"`))
	if msg != `could not find an element for "missing"` {
		t.Fatalf("missing iframe: %q", msg)
	}
	msg = e.mustFail(st(`I can switch to iFrame with selector "#top"`))
	if msg != `"#top" is a p, not an iframe` {
		t.Fatalf("not an iframe: %q", msg)
	}
}

func TestWindows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(
		st(`Goto URL "`+e.page("links.html")+`"`),
		st(`I can click on element with css selector "#new-tab"`),
		st(`I can switch to new Window`),
		st(`I can see "This is the second page" on page`),
		st(`BrowserTitle is "Second"`),
		st(`I can switch to main Window`),
		st(`BrowserTitle is "Links page"`),
		st(`I can click on element with css selector "#opener"`),
		st(`I can switch to new Window`),
		st(`BrowserTitle is "Second"`),
		st(`I can close the window`),
		st(`BrowserTitle is "Links page"`),
	)
	msg := e.mustFail(st(`Close the browser`), st(`Goto URL "`+e.page("links.html")+`"`), st(`I can switch to new Window`))
	if !strings.Contains(msg, "no new window was opened") {
		t.Fatalf("no new window: %q", msg)
	}
}
