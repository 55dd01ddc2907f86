package steps_test

import (
	"testing"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestMouse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("links.html") + `"`),
			st(`I can click on button "Save"`),
			st(`I can click on button "primary-save"`),
			st(`I can click on button "Send it"`),
			st(`I can click on button with title "Save the"`),
			st(`I click on "Plain text target"`),
			st(`click on element with xpath "//div[@id='plain']"`),
			st(`I move mouse to "#dbl" and double click`),
			st(`I move mouse to "css@@#ctx" and right-click`),
			st(`I move mouse over "#hover"`),
			st(`I can Control Click at "#ctrl"`),
			st(`I click on element with classname "plain-target"`),
		},
		js(`return document.getElementById('log').textContent`, "save;save;send;save;plain;plain;dbl;ctx;hover;ctrl;plain;"),
		[]steps.Step{
			st(`I move mouse to "//a[@id='to-second']" and click`),
			st(`I can see "This is the second page" on page`),
		},
	)...)
}

// Every form of selector finds its element in the browser: a class and a
// compound selector as CSS, an id, link text and XPath without a prefix,
// and the type@@value prefixes.
func TestSelectorKinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("links.html") + `"`),
			st(`I can click on element with css selector ".plain-target"`),
			st(`I can click on element with css selector "#plain > span"`),
			st(`I can click on element with css selector "plain"`),
			st(`I can click on element with css selector "ctrl me"`),
			st(`I can click on element with css selector "//button[@title='Save the form']"`),
			st(`I can click on element with css selector "id@@save"`),
			st(`I can click on element with css selector "class@@plain-target"`),
			st(`I can click on element with css selector "xpath@@//div[@id='plain']"`),
			st(`I can click on element with css selector "link_text@@ctrl me"`),
		},
		js(`return document.getElementById('log').textContent`, "plain;plain;plain;noctrl;save;save;plain;plain;noctrl;"),
	)...)
}

// A button that the page replaces every few milliseconds is clicked all
// the same: it is looked up again when the node goes stale.
func TestClickRerenderedElement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	list := []steps.Step{st(`Goto URL "` + e.page("dynamic.html") + `"`)}
	for range 5 {
		list = append(list, st(`I can click on element with css selector "#rerendered"`))
	}
	list = append(list, st(`Check if "#count" contains "5" in JS property "innerText"`))
	e.mustPass(list...)
}

// A decoration drawn over a button does not stop a click on it; an overlay
// that goes away is waited for and the click is a real one.
func TestClickCoveredElement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("dynamic.html") + `"`),
			st(`I can click on element with css selector "#under-loading"`),
			st(`I can click on element with css selector "#covered"`),
		},
		js(`return document.getElementById('hits').textContent`, "under-loading;covered(synthetic);"),
	)...)
}

func TestMouseFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	msg := e.mustFail(st(`Goto URL "`+e.page("links.html")+`"`), st(`I can click on element with css selector "#nope"`))
	if msg != `could not find a visible element for "#nope"` {
		t.Fatalf("missing element: %q", msg)
	}
	msg = e.mustFail(st(`click on element with xpath "//div[@id="`))
	if msg == "" || msg[:16] != `invalid selector` {
		t.Fatalf("invalid xpath: %q", msg)
	}
	msg = e.mustFail(st(`I click on "No such text anywhere"`))
	if msg != `could not find a visible element for "No such text anywhere"` {
		t.Fatalf("missing text: %q", msg)
	}
}
