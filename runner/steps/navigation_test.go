package steps_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
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
		},
		// A reload loads the page anew: what the old one held is gone.
		js(`window.beforeReload = 1; return String(window.beforeReload)`, "1"),
		[]steps.Step{st(`Reload page`)},
		js(`return typeof window.beforeReload`, "undefined"),
		[]steps.Step{
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

// Navigation steps open http and https URLs only: a feature must not read
// the runner's files (the encryption passphrase in its data folder), the
// browser's own pages or run script through a URL.
func TestNavigationOpensOnlyHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret := filepath.Join(t.TempDir(), "encryption-passphrase")
	if err := os.WriteFile(secret, []byte("the-secret-passphrase"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, want string
	}{
		{"file://" + secret, `has scheme "file"`},
		{"FILE://" + secret, `has scheme "file"`},
		{" file://" + secret, `has scheme "file"`},
		{"view-source:file://" + secret, `has scheme "view-source"`},
		{"chrome://version", `has scheme "chrome"`},
		{"about:blank", `has scheme "about"`},
		{"data:text/html,<p>hi</p>", `has scheme "data"`},
		{"javascript:document.title='x'", `has scheme "javascript"`},
		{"ftp://127.0.0.1/x", `has scheme "ftp"`},
		{"second.html", "is not absolute"},
		{"//127.0.0.1/second.html", "is not absolute"},
		{"http:///second.html", "has no host"},
		{"", "the URL is empty"},
	}
	for _, tc := range tests {
		for _, pattern := range []string{`StartBrowser and call URL "%s"`, `Goto URL "%s"`,
			`StartBrowser and call URL "%s" with javascript`} {
			step := fmt.Sprintf(pattern, tc.url)
			sum, results, err := e.run([]steps.Step{st(step),
				st(`Save selector "body" value to environment variable "stolen"`)})
			if err != nil {
				t.Fatalf("%s: Run: %v", step, err)
			}
			if sum.Status != steps.StatusFailed || len(results) != 1 || results[0].Status != steps.StatusFailed ||
				!strings.Contains(results[0].Error, tc.want) {
				t.Errorf("%s: %+v, want the step failed with %q", step, results, tc.want)
			}
		}
	}
	// A variable is checked once substituted.
	_, results, err := e.run([]steps.Step{st(`Goto URL "$TARGET"`)},
		variables.Variable{Name: "TARGET", Value: "file://" + secret})
	if err != nil || len(results) != 1 || !strings.Contains(results[0].Error, `has scheme "file"`) {
		t.Errorf("a file URL in a variable: %v %+v", err, results)
	}
	if got := e.sink.get("stolen"); got != "" {
		t.Fatalf("a page saved %q", got)
	}
	e.mustPass(st(`Goto URL "`+e.page("second.html")+`"`), st(`I can see "second page" on page`))
}
