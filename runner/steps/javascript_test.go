package steps_test

import (
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestJavascript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("links.html") + `"`),
			st(`Save "'ok'" to runtime variable "TEMPLATE_VAR"`),
		},
		js(`return 6 * 7`, "42"),
		js(`return await new Promise(r => setTimeout(() => r('later'), 50))`, "later"),
		js(`return {a: 1}`, `{"a":1}`),
		js("const tpl = `t${1 + 1}`; return tpl + $TEMPLATE_VAR", "t2ok"),
		[]steps.Step{
			{Content: "Run Javascript function \"// code in the description\"\n\"\"\"\nconst items = document.querySelectorAll('a');\nreturn items.length;\n\"\"\"",
				Timeout: 5 * time.Second},
			st(`Assert "%js_return" to be same as "3"`),
			st(`On element "#h" run javascript function "return arguments[0].textContent + '/' + this.id"`),
			st(`Assert "%js_return" to be same as "Links & buttons/h"`),
		},
	)...)
}

func TestJavascriptFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(st(`Goto URL "` + e.page("links.html") + `"`))
	if msg := e.mustFail(st(`Run Javascript function "throw new Error('boom')"`)); msg != "JavaScript error: Error: boom" {
		t.Fatalf("throw: %q", msg)
	}
	if msg := e.mustFail(st(`Run Javascript function "return undefinedThing.x"`)); msg != "JavaScript error: ReferenceError: undefinedThing is not defined" {
		t.Fatalf("reference error: %q", msg)
	}
	if msg := e.mustFail(st(`Run Javascript function "return ("`)); msg != "JavaScript error: SyntaxError: Unexpected token '}'" {
		t.Fatalf("syntax error: %q", msg)
	}
	// Code that never returns is stopped at the timeout and the page stays
	// usable.
	spin := steps.Step{Content: `Run Javascript function "while (true) {}"`, Timeout: 2 * time.Second}
	if msg := e.mustFail(spin); msg != "Step took more than configured time: 2s." {
		t.Fatalf("endless loop: %q", msg)
	}
	e.mustPass(js(`return 1 + 1`, "2")...)
	if msg := e.mustFail(st(`On element "#nope" run javascript function "return 1"`)); msg != `could not find an element for "#nope"` {
		t.Fatalf("missing element: %q", msg)
	}
}
