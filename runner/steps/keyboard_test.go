package steps_test

import (
	"testing"

	"github.com/cometa-es/cometa/runner/steps"
)

func TestKeyboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(join(
		[]steps.Step{
			st(`Goto URL "` + e.page("keys.html") + `"`),
			st(`I can click on element with css selector "#field"`),
			st(`Send keys "Home, sweet home"`),
		},
		js(`return document.getElementById('field').value`, "Home, sweet home"),
		[]steps.Step{
			st(`Press the following set of keys "CTRL+A;BACKSPACE"`),
			st(`Send keys "Olá, 世界"`),
			st(`Send keys "HOME"`),
			st(`Send keys ">"`),
			st(`Press Enter`),
			st(`BrowserTitle is "entered >Olá, 世界"`),
			st(`Send keys "ENTER"`),
			st(`Press TAB`),
		},
		js(`return document.activeElement === document.body || document.activeElement.id !== 'field'`, "true"),
		js(`return document.getElementById('keys').textContent.includes('Control;ctrl+a;Backspace;')`, "true"),
		// Key names are keys, not text: ENTER and TAB press them.
		js(`return document.getElementById('field').value`, ">Olá, 世界"),
		js(`return document.getElementById('keys').textContent.endsWith('Enter;Enter;Tab;')`, "true"),
		[]steps.Step{
			st(`I can click on element with css selector "#field"`),
			st(`Send keys "TAB"`),
		},
		js(`return document.activeElement.id !== 'field' && document.getElementById('keys').textContent.endsWith('Enter;Tab;Tab;')`, "true"),
		js(`return document.getElementById('field').value`, ">Olá, 世界"),
		[]steps.Step{
			st(`I can click on element with css selector "#field"`),
			{Content: "Send keys \"ignored\"\n\"\"\"\nline one\n\"\"\"", Timeout: st("").Timeout},
		},
		js(`return document.getElementById('field').value.endsWith('line one')`, "true"),
	)...)
	msg := e.mustFail(st(`Press the following set of keys "CTRL+NOSUCHKEY"`))
	if msg != `unknown key "NOSUCHKEY" in "CTRL+NOSUCHKEY"` {
		t.Fatalf("unknown key: %q", msg)
	}
}
