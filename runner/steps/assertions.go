package steps

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-rod/rod"
)

func assertionSteps() []definition {
	return []definition{
		{pattern: `I can see "{something}" on page`, run: stepSeeText,
			description: `Waits until the page shows the text (or has it in its source); case-sensitive.<br>Example: I can see "Welcome back" on page`},
		{pattern: `I can see "{something}"`, run: stepSeeText,
			description: `Waits until the page shows the text (or has it in its source); case-sensitive.<br>Example: I can see "Order confirmed"`},
		{pattern: `wait until I can see "{something}" on page`, run: stepSeeText,
			description: `Waits until the page shows the text, up to the step's timeout; case-sensitive.<br>Example: wait until I can see "Results" on page`},
		{pattern: `wait until "{selector}" is loaded`, run: stepLoaded,
			description: `Waits until an element for the selector exists in the page.<br>Example: wait until "#new-todo" is loaded`},
		{pattern: `I can see element with css selector "{css_selector}"`, run: stepSeeElement,
			description: `Waits until an element for the selector is visible.<br>Example: I can see element with css selector "#todo-list li.completed"`},
		{pattern: `I cannot see element with selector "{selector}"`, run: stepCannotSee,
			description: `Waits until no element for the selector is visible; fails if one still is at the timeout.<br>Example: I cannot see element with selector ".spinner"`},
		{pattern: `There is no coincidence with css selector "{selector}"`, run: stepNoElement,
			description: `Waits until no element for the selector exists; fails if one still does at the timeout.<br>Example: There is no coincidence with css selector ".error"`},
		{pattern: `I can see a link with "{linktext}"`, run: stepSeeLink,
			description: `Waits until a visible link has exactly this text.<br>Example: I can see a link with "Sign out"`},
		{pattern: `BrowserTitle is "{browserTitle}"`, run: stepTitle,
			description: `Waits until the window's title (trimmed) is exactly the text.<br>Example: BrowserTitle is "Dashboard - Example"`},
		{pattern: `Check if "{css_selector}" contains "{value}" in "{css_property}"`, run: stepCSSProperty,
			description: `Waits until the element's computed CSS property contains the value.<br>Example: Check if "#header" contains "rgb(255, 0, 0)" in "backgroundColor"`},
		{pattern: `Check if "{css_selector}" contains "{value}" in JS property "{js_property}"`, run: stepJSProperty,
			description: `Waits until the element's JavaScript property contains the value; prefix the value with "caseInsensitive:" to ignore case.<br>Example: Check if "#todo-count" contains "2 items left" in JS property "innerText"`},
		{pattern: `Assert "{value_one}" to be same as "{value_two}"`, run: stepAssertSame,
			description: `Fails unless both values are the same.<br>Example: Assert "$ORDER_STATUS" to be same as "paid"`},
		{pattern: `Assert "{value_one}" to contain "{value_two}"`, run: stepAssertContains,
			description: `Fails unless the first value contains the second.<br>Example: Assert "$GREETING" to contain "Hello"`},
		{pattern: `Compare "{value_one}" and "{value_two}" with a "{variance}"`, run: stepCompareVariance,
			description: `Fails when the numbers in the two values differ by more than the variance.<br>Example: Compare "32 €" and "30 €" with a "5"`},
		{pattern: `Throw an error with "{message}" and leave`, run: stepThrow,
			description: `Fails the step with the message.<br>Example: Throw an error with "This path must not be reached" and leave`},
	}
}

const pageHasTextJS = `v => {
  const html = document.documentElement ? document.documentElement.outerHTML : '';
  const text = document.body ? document.body.innerText : '';
  return html.includes(v) || text.includes(v);
}`

func stepSeeText(ctx context.Context, x *stepRun) error {
	want := x.arg("something")
	return poll(ctx, func() (bool, error) {
		p, err := x.s.scope(ctx)
		if err != nil {
			return false, err
		}
		res, err := p.Eval(pageHasTextJS, want)
		if err != nil {
			return false, err
		}
		if res.Value.Bool() {
			return true, nil
		}
		return false, notFoundf("could not find %q on the page within %ss (the search is case-sensitive)",
			want, seconds(x.timeout))
	})
}

func stepLoaded(ctx context.Context, x *stepRun) error {
	_, err := x.s.find(ctx, parseSelector(x.arg("selector")), false)
	return err
}

func stepSeeElement(ctx context.Context, x *stepRun) error {
	_, err := x.s.find(ctx, parseSelector(x.arg("css_selector")), true)
	return err
}

func stepSeeLink(ctx context.Context, x *stepRun) error {
	_, err := x.s.find(ctx, single(byLinkText, x.arg("linktext")), true)
	return err
}

// absent waits until the lookup finds nothing (visible, or at all).
func (s *Session) absent(ctx context.Context, l lookup, visible bool) error {
	return poll(ctx, func() (bool, error) {
		el, err := s.findOnce(ctx, l, visible)
		if err != nil {
			return false, err
		}
		if el == nil {
			return true, nil
		}
		if visible {
			return false, retryf("%s is still visible", quoteSel(l.raw))
		}
		return false, retryf("%s is still in the page", quoteSel(l.raw))
	})
}

func stepCannotSee(ctx context.Context, x *stepRun) error {
	return x.s.absent(ctx, parseSelector(x.arg("selector")), true)
}

func stepNoElement(ctx context.Context, x *stepRun) error {
	return x.s.absent(ctx, parseSelector(x.arg("selector")), false)
}

func stepTitle(ctx context.Context, x *stepRun) error {
	want := x.arg("browserTitle")
	return poll(ctx, func() (bool, error) {
		p, err := x.s.windows.page(ctx)
		if err != nil {
			return false, err
		}
		res, err := p.Context(ctx).Eval(`() => document.title`)
		if err != nil {
			return false, err
		}
		got := strings.TrimSpace(res.Value.Str())
		if got == want {
			return true, nil
		}
		return false, retryf("the browser title is %q, expected %q", got, want)
	})
}

// propertyCheck polls the element's property until it contains want.
func (s *Session) propertyCheck(ctx context.Context, l lookup, js, prop, want, what string) error {
	fold := false
	if rest, ok := strings.CutPrefix(want, "caseInsensitive:"); ok {
		want, fold = rest, true
	}
	return s.act(ctx, l, false, func(el *rod.Element) (bool, error) {
		res, err := evalOn(el, js, prop)
		if err != nil {
			return false, err
		}
		if res.Value.Get("missing").Bool() {
			return false, retryf("%s has no %s %q", quoteSel(l.raw), what, prop)
		}
		got := res.Value.Get("value").Str()
		g, w := got, want
		if fold {
			g, w = strings.ToLower(got), strings.ToLower(want)
		}
		if strings.Contains(g, w) {
			return true, nil
		}
		return false, retryf("%s %s %q is %q, expected it to contain %q", quoteSel(l.raw), what, prop, got, want)
	})
}

const jsPropertyJS = `function(p) {
  const v = this[p];
  if (v === undefined) return {missing: true};
  return {value: v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v)};
}`

const cssPropertyJS = `function(p) {
  const cs = getComputedStyle(this);
  let v = cs.getPropertyValue(p);
  if (!v && p in cs) v = cs[p];
  if (v === undefined || v === '') return (p in cs || p.includes('-')) ? {value: ''} : {missing: true};
  return {value: String(v)};
}`

func stepJSProperty(ctx context.Context, x *stepRun) error {
	return x.s.propertyCheck(ctx, parseSelector(x.arg("css_selector")), jsPropertyJS,
		x.arg("js_property"), x.arg("value"), "property")
}

func stepCSSProperty(ctx context.Context, x *stepRun) error {
	return x.s.propertyCheck(ctx, parseSelector(x.arg("css_selector")), cssPropertyJS,
		x.arg("css_property"), x.arg("value"), "CSS property")
}

func stepAssertSame(_ context.Context, x *stepRun) error {
	a, b := x.arg("value_one"), x.arg("value_two")
	x.noteVar("value_one", a)
	x.noteVar("value_two", b)
	if a != b {
		return failf("%q does not match %q", a, b)
	}
	return nil
}

func stepAssertContains(_ context.Context, x *stepRun) error {
	a, b := x.arg("value_one"), x.arg("value_two")
	x.noteVar("value_one", a)
	x.noteVar("value_two", b)
	if !strings.Contains(a, b) {
		return failf("%q does not contain %q", a, b)
	}
	return nil
}

var number = regexp.MustCompile(`[-+]?\d+(?:[.,]\d+)?`)

func firstNumber(s string) (float64, bool) {
	m := number.FindString(s)
	if m == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", "."), 64)
	return f, err == nil
}

func stepCompareVariance(_ context.Context, x *stepRun) error {
	a, okA := firstNumber(x.arg("value_one"))
	b, okB := firstNumber(x.arg("value_two"))
	v, okV := firstNumber(x.arg("variance"))
	if !okA || !okB || !okV {
		return failf("%q, %q and %q must each contain a number", x.arg("value_one"), x.arg("value_two"), x.arg("variance"))
	}
	if d := math.Abs(a - b); d > v {
		return failf("the difference %s is greater than the variance %s",
			strconv.FormatFloat(d, 'f', -1, 64), strconv.FormatFloat(v, 'f', -1, 64))
	}
	return nil
}

func stepThrow(_ context.Context, x *stepRun) error {
	return failf("%s", x.arg("message"))
}
