package steps_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestNavigation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`StartBrowser and call URL "` + e.page("links.html") + `"`),
			st(`BrowserTitle is "Links page"`),
			st(`I click on "Go to second"`),
			st(`I can see "This is the second page" on page`),
			st(`Return to the previous page`),
			st(`BrowserTitle is "Links page"`),
			st(`Reload page`),
			st(`I can see element with css selector "#to-second"`),
			st(`Goto URL "` + e.page("second.html") + `"`),
			st(`BrowserTitle is "Second"`),
			st(`I resize the browser to "800" x "600"`),
			st(`I can resize the browser to "1024" x "700"`),
		},
		js(`return window.innerWidth + 'x' + window.innerHeight`, "1024x700"),
		[]steps.Step{st(`Maximize the browser`)},
		js(`return window.innerWidth + 'x' + window.innerHeight`, "1920x1080"),
		js(`document.cookie = 'a=1'; return document.cookie`, "a=1"),
		[]steps.Step{st(`Delete all cookies`)},
		js(`return document.cookie`, ""),
		[]steps.Step{
			st(`Close the browser`),
			st(`Goto URL "` + e.page("links.html") + `"`),
			st(`StartBrowser and call URL "` + e.page("second.html") + `" with javascript`),
			st(`BrowserTitle is "Second"`),
		},
	)...)
}

func TestNavigationFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	never := steps.Step{Content: `Goto URL "` + e.page("never-loads.html") + `"`, Timeout: 2 * time.Second}
	start := time.Now()
	msg := e.mustFail(never)
	if msg != "Step took more than configured time: 2s." {
		t.Fatalf("never-loading page: %q", msg)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Fatalf("the step ended after %v, before its timeout", d)
	}
	// The browser is still usable afterwards.
	e.mustPass(st(`Goto URL "`+e.page("second.html")+`"`), st(`I can see "second page" on page`))

	msg = e.mustFail(st(`Goto URL "http://nowhere.invalid/"`))
	if !strings.Contains(msg, "net::ERR_NAME_NOT_RESOLVED") || !strings.Contains(msg, "nowhere.invalid") {
		t.Fatalf("unresolvable host: %q", msg)
	}
	msg = e.mustFail(st(`Goto URL "`+e.page("links.html")+`"`), st(`BrowserTitle is "Other"`))
	if msg != `the browser title is "Links page", expected "Other"` {
		t.Fatalf("title: %q", msg)
	}
	msg = e.mustFail(st(`Close the browser`), st(`Return to the previous page`))
	if msg != "there is no previous page in this window" {
		t.Fatalf("back without history: %q", msg)
	}
	msg = e.mustFail(st(`I resize the browser to "wide" x "600"`))
	if !strings.Contains(msg, `"wide"`) {
		t.Fatalf("resize: %q", msg)
	}
}
