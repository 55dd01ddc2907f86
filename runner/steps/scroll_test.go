package steps_test

import (
	"testing"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestScroll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("dynamic.html") + `"`),
			st(`Scroll to "500"px`),
		},
		js(`return window.scrollY`, "500"),
		[]steps.Step{st(`Scroll to "120"px on element "#box"`)},
		js(`return document.getElementById('box').scrollTop`, "120"),
		[]steps.Step{st(`Scroll element "#box" by "30"px on x-axis and "-20"px on y-axis`)},
		js(`const b = document.getElementById('box'); return b.scrollLeft + ',' + b.scrollTop`, "30,100"),
		[]steps.Step{st(`Scroll to element with css selector "#bottom"`)},
		js(`return window.scrollY > 2000`, "true"),
		[]steps.Step{st(`Highlight element with "#bottom"`)},
		js(`return document.getElementById('bottom').style.outline`, "rgb(255, 0, 0) solid 2px"),
	)...)
	if msg := e.mustFail(st(`Scroll to "far"px`)); msg != `amount "far" is not a number of pixels` {
		t.Fatalf("bad amount: %q", msg)
	}
}
