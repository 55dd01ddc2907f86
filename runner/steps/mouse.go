package steps

import (
	"context"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

func mouseSteps() []definition {
	return []definition{
		{pattern: `I can click on element with css selector "{css_selector}"`, run: clickStep("css_selector", 1, proto.InputMouseButtonLeft, 0),
			description: `Clicks the element like a user would (any selector: CSS, XPath, type@@value).<br>Example: I can click on element with css selector "#submit"`},
		{pattern: `I move mouse to "{css_selector}" and click`, run: clickStep("css_selector", 1, proto.InputMouseButtonLeft, 0),
			description: `Moves the mouse over the element and clicks.<br>Example: I move mouse to "//button[text()='Save']" and click`},
		{pattern: `I move mouse to "{selector}" and double click`, run: clickStep("selector", 2, proto.InputMouseButtonLeft, 0),
			description: `Moves the mouse over the element and double-clicks.<br>Example: I move mouse to "#todo-list li label" and double click`},
		{pattern: `I move mouse to "{css_selector}" and right-click`, run: clickStep("css_selector", 1, proto.InputMouseButtonRight, 0),
			description: `Moves the mouse over the element and clicks the right button.<br>Example: I move mouse to ".file" and right-click`},
		{pattern: `I can Control Click at "{element}"`, run: clickStep("element", 1, proto.InputMouseButtonLeft, modCtrl),
			description: `Clicks the element while holding Control.<br>Example: I can Control Click at "a.open"`},
		{pattern: `I move mouse over "{css_selector}"`, run: stepHover,
			description: `Moves the mouse over the element (hover).<br>Example: I move mouse over "nav .menu"`},
		{pattern: `I click on "{linktext}"`, run: stepClickText,
			description: `Clicks a link, a button or an element by its text (or an id or CSS selector).<br>Example: I click on "Completed"`},
		{pattern: `click on element with xpath "{xpath}"`, run: stepClickXPath,
			description: `Clicks the element the XPath finds.<br>Example: click on element with xpath "//button[@id='login']"`},
		{pattern: `I can click on button "{button_name}"`, run: stepClickButton,
			description: `Clicks a button by its text or by the value of any of its attributes.<br>Example: I can click on button "Sign in"`},
		{pattern: `I can click on button with title "{button_title}"`, run: stepClickButtonTitle,
			description: `Clicks the button whose title starts with the text.<br>Example: I can click on button with title "Close"`},
		{pattern: `I click on element with classname "{classname}"`, run: stepClickClass,
			description: `Clicks the first element with this class name.<br>Example: I click on element with classname "btn-primary"`},
	}
}

func clickStep(param string, count int, button proto.InputMouseButton, mods int) handler {
	return func(ctx context.Context, x *stepRun) error {
		return x.s.click(ctx, x, parseSelector(x.arg(param)), button, count, mods)
	}
}

func stepClickText(ctx context.Context, x *stepRun) error {
	return x.s.click(ctx, x, textLookup(x.arg("linktext")), proto.InputMouseButtonLeft, 1, 0)
}

func stepClickXPath(ctx context.Context, x *stepRun) error {
	return x.s.click(ctx, x, single(byXPath, x.arg("xpath")), proto.InputMouseButtonLeft, 1, 0)
}

func stepClickButton(ctx context.Context, x *stepRun) error {
	return x.s.click(ctx, x, single(byButton, x.arg("button_name")), proto.InputMouseButtonLeft, 1, 0)
}

func stepClickButtonTitle(ctx context.Context, x *stepRun) error {
	l := single(byCSS, "button[title^="+cssString(x.arg("button_title"))+"]")
	l.raw = x.arg("button_title")
	return x.s.click(ctx, x, l, proto.InputMouseButtonLeft, 1, 0)
}

func stepClickClass(ctx context.Context, x *stepRun) error {
	return x.s.click(ctx, x, single(byClass, x.arg("classname")), proto.InputMouseButtonLeft, 1, 0)
}

func stepHover(ctx context.Context, x *stepRun) error {
	l := parseSelector(x.arg("css_selector"))
	var coveredSince time.Time
	return x.s.act(ctx, l, true, func(el *rod.Element) (bool, error) {
		pt, by, err := clickPoint(ctx, el)
		if err != nil {
			return false, err
		}
		if pt != nil {
			return true, mouseMove(ctx, el.Page(), *pt, 0)
		}
		if coveredSince.IsZero() {
			coveredSince = time.Now()
		}
		if time.Since(coveredSince) < coverGrace(x.timeout) {
			return false, retryf("%s is covered by %s", quoteSel(l.raw), by)
		}
		_, err = evalOn(el, jsHover)
		return true, err
	})
}

// cssString quotes s as a CSS string.
func cssString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// coverGrace is how long a click waits for something covering its target
// to go away (a loading overlay) before it clicks through it (a badge or
// decoration drawn over the element).
func coverGrace(timeout time.Duration) time.Duration {
	return min(time.Second, timeout/4)
}

// click clicks the element like a user: it scrolls the element into view,
// picks a point of it that is not covered by another element, moves the
// mouse there and presses the button. When every point of the element
// stays covered for coverGrace, the click is delivered to the element
// itself.
func (s *Session) click(ctx context.Context, x *stepRun, l lookup, button proto.InputMouseButton, count, mods int) error {
	var coveredSince time.Time
	return s.act(ctx, l, true, func(el *rod.Element) (bool, error) {
		pt, by, err := clickPoint(ctx, el)
		if err != nil {
			return false, err
		}
		if pt != nil {
			err := mouseClick(ctx, el.Page(), *pt, button, count, mods)
			settle(ctx, el.Page())
			return true, err
		}
		if coveredSince.IsZero() {
			coveredSince = time.Now()
		}
		if time.Since(coveredSince) < coverGrace(x.timeout) {
			return false, retryf("%s is covered by %s", quoteSel(l.raw), by)
		}
		s.log.DebugContext(ctx, "clicking a covered element directly", "step", x.index)
		_, err = evalOn(el, jsClick, string(button), count, mods)
		settle(ctx, el.Page())
		return true, err
	})
}

// settle gives the page a moment (a frame and the tasks queued behind it,
// 100 ms at most) to react to an input, such as the hashchange a link
// click queues, so that the next step sees the page after the reaction.
// A page that navigated away is not waited for.
func settle(ctx context.Context, p *rod.Page) {
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, _ = p.Context(ctx).Evaluate(rod.Eval(`() => new Promise(r => {
  requestAnimationFrame(() => setTimeout(r, 0));
  setTimeout(r, 100);
})`).ByPromise())
}

// hitJS finds a point of the element (as fractions of its box) where a
// click reaches the element: the element or one of its descendants is
// topmost there, or a label for it. Covered: it names what is on top.
//
// It first waits (a few frames at most) until the element stops moving, so
// that a page still re-rendering after the previous step does not move the
// target between this check and the click.
const hitJS = `async function() {
  const frame = () => new Promise(res => { requestAnimationFrame(() => res()); setTimeout(res, 50); });
  const pos = () => { const b = this.getBoundingClientRect(); return [b.left, b.top, b.width, b.height].join(); };
  let last = pos();
  for (let i = 0; i < 10; i++) {
    await frame();
    const now = pos();
    if (now === last) break;
    last = now;
  }
  const r = this.getBoundingClientRect();
  if (r.width <= 0 || r.height <= 0) return {state: 'invisible'};
  const reaches = hit => hit && (hit === this || this.contains(hit) ||
    (hit.closest && hit.closest('label') && hit.closest('label').control === this));
  const points = [[.5,.5],[.25,.25],[.75,.25],[.25,.75],[.75,.75],[.5,.2],[.5,.8],[.2,.5],[.8,.5],[.1,.1],[.9,.9]];
  for (const [fx, fy] of points) {
    const x = r.left + r.width * fx, y = r.top + r.height * fy;
    if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) continue;
    if (reaches(document.elementFromPoint(x, y))) return {state: 'ok', fx, fy};
  }
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  if (!top) return {state: 'outside'};
  let d = '<' + top.tagName.toLowerCase();
  if (top.id) d += ' id="' + top.id + '"';
  if (typeof top.className === 'string' && top.className) d += ' class="' + top.className + '"';
  return {state: 'covered', by: d + '>'};
}`

// clickPoint scrolls the element into view and returns a point (in the
// window's viewport) where a click reaches it, or nil and what covers it.
//
// TODO(runner): content quads of elements in out-of-process (cross-site)
// iframes are relative to their own frame; the local launcher disables
// site isolation so all frames share a process, a remote browser may not.
func clickPoint(ctx context.Context, el *rod.Element) (*proto.Point, string, error) {
	if err := (proto.DOMScrollIntoViewIfNeeded{ObjectID: el.Object.ObjectID}).Call(el); err != nil {
		return nil, "", err
	}
	res, err := el.Evaluate(rod.Eval(hitJS).ByPromise())
	if err != nil {
		return nil, "", err
	}
	v := res.Value
	switch v.Get("state").Str() {
	case "ok":
	case "covered":
		return nil, v.Get("by").Str(), nil
	default:
		return nil, "", retryf("the element is not visible")
	}
	shape, err := el.Shape()
	if err != nil {
		return nil, "", err
	}
	if len(shape.Quads) == 0 {
		return nil, "", retryf("the element is not visible")
	}
	box := shape.Box()
	pt := proto.Point{X: box.X + box.Width*v.Get("fx").Num(), Y: box.Y + box.Height*v.Get("fy").Num()}
	return &pt, "", nil
}

// jsClick delivers a click to the element itself with the events a real
// one fires, for an element that something stays drawn over.
const jsClick = `function(button, count, mods) {
  const r = this.getBoundingClientRect();
  const b = button === 'right' ? 2 : button === 'middle' ? 1 : 0;
  const o = {bubbles: true, cancelable: true, composed: true, view: window,
    clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, button: b,
    ctrlKey: !!(mods & 2), altKey: !!(mods & 1), metaKey: !!(mods & 4), shiftKey: !!(mods & 8)};
  for (let i = 1; i <= count; i++) {
    const e = Object.assign({}, o, {detail: i});
    this.dispatchEvent(new PointerEvent('pointerdown', e));
    this.dispatchEvent(new MouseEvent('mousedown', e));
    if (i === 1 && this.focus) this.focus();
    this.dispatchEvent(new PointerEvent('pointerup', e));
    this.dispatchEvent(new MouseEvent('mouseup', e));
    if (b === 0 && !o.ctrlKey && !o.altKey && !o.metaKey && !o.shiftKey) this.click();
    else if (b === 0) this.dispatchEvent(new MouseEvent('click', e));
    else if (b === 2) this.dispatchEvent(new MouseEvent('contextmenu', e));
  }
  if (count === 2 && b === 0) this.dispatchEvent(new MouseEvent('dblclick', Object.assign({}, o, {detail: 2})));
}`

const jsHover = `function() {
  const o = {bubbles: true, cancelable: true, composed: true, view: window};
  this.dispatchEvent(new PointerEvent('pointerover', o));
  this.dispatchEvent(new MouseEvent('mouseover', o));
  this.dispatchEvent(new MouseEvent('mouseenter', Object.assign({}, o, {bubbles: false})));
  this.dispatchEvent(new MouseEvent('mousemove', o));
}`
