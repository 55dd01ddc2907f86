package steps

import (
	"context"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

func javascriptSteps() []definition {
	return []definition{
		{pattern: `Run Javascript function "{function}"`, run: stepRunJS,
			docstring: "function", lenient: []string{"function"},
			description: `Runs JavaScript in the page as a function body (return and await work); a docstring may hold the code. The returned value is kept as %js_return.<br>Example: Run Javascript function "return document.querySelectorAll('li').length"`},
		{pattern: `On element "{selector}" run javascript function "{function}"`, run: stepRunJSOnElement,
			docstring: "function", lenient: []string{"function"},
			description: `Runs JavaScript with the element as arguments[0]; the returned value is kept as %js_return.<br>Example: On element "#price" run javascript function "return arguments[0].dataset.amount"`},
	}
}

// userFunction wraps user code as the body of an async function, so that
// both `return x` and `await p` work, with the call's arguments passed on.
func userFunction(code string) string {
	return "function() { return (async function() {\n" + code + "\n}).apply(this, arguments) }"
}

func stepRunJS(ctx context.Context, x *stepRun) error {
	code := x.arg("function")
	if strings.TrimSpace(code) == "" {
		return failf("no JavaScript code given")
	}
	p, err := x.s.scope(ctx)
	if err != nil {
		return err
	}
	return runUserJS(ctx, x, p, rod.Eval(userFunction(code)))
}

func stepRunJSOnElement(ctx context.Context, x *stepRun) error {
	code := x.arg("function")
	if strings.TrimSpace(code) == "" {
		return failf("no JavaScript code given")
	}
	el, err := x.s.find(ctx, parseSelector(x.arg("selector")), false)
	if err != nil {
		return err
	}
	return runUserJS(ctx, x, el.Page().Context(ctx), rod.Eval(userFunction(code), el.Object).This(el.Object))
}

// runUserJS evaluates user code and keeps its value as job parameter
// js_return ("" when it fails). Code still running when the step times
// out is terminated, so that it does not block the page for later steps.
func runUserJS(ctx context.Context, x *stepRun, p *rod.Page, opts *rod.EvalOptions) error {
	x.r.vars.SetParam("js_return", "")
	res, err := p.Evaluate(opts.ByPromise().ByUser())
	if err != nil {
		if ctx.Err() != nil {
			tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = proto.RuntimeTerminateExecution{}.Call(p.Context(tctx))
			cancel()
		}
		return err
	}
	x.r.vars.SetParam("js_return", jsValueString(res))
	return nil
}

func jsValueString(res *proto.RuntimeRemoteObject) string {
	switch res.Type {
	case proto.RuntimeRemoteObjectTypeUndefined:
		return ""
	case proto.RuntimeRemoteObjectTypeString:
		return res.Value.Str()
	}
	if res.Value.Nil() {
		return ""
	}
	return res.Value.JSON("", "")
}
