package steps

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-rod/rod"
)

func windowSteps() []definition {
	return []definition{
		{pattern: `I can switch to new Window`, run: stepNewWindow,
			description: `Acts on the window opened last (waiting for it to open).<br>Example: I can switch to new Window`},
		{pattern: `I can switch to main Window`, run: stepMainWindow,
			description: `Acts on the first window again.<br>Example: I can switch to main Window`},
		{pattern: `I can close the window`, run: stepCloseWindow,
			description: `Closes the current window and goes back to the first one.<br>Example: I can close the window`},
		{pattern: `I can switch to iFrame with id "{iframe_id}"`, run: stepFrameByID,
			description: `Acts inside the iframe with this id, or the n-th iframe (1-based) for a number.<br>Example: I can switch to iFrame with id "payment"`},
		{pattern: `I can switch to iFrame with name "{iframe_name}"`, run: stepFrameByName,
			description: `Acts inside the iframe with this name attribute.<br>Example: I can switch to iFrame with name "editor"`},
		{pattern: `I can switch to iFrame with selector "{selector}"`, run: stepFrameBySelector,
			description: `Acts inside the iframe the selector finds.<br>Example: I can switch to iFrame with selector "iframe.preview"`},
		{pattern: `I switch to defaultContent`, run: stepDefaultContent,
			description: `Acts on the window's own document again, outside any iframe.<br>Example: I switch to defaultContent`},
	}
}

func stepNewWindow(ctx context.Context, x *stepRun) error {
	w := x.s.windows
	if _, err := w.page(ctx); err != nil {
		return err
	}
	return poll(ctx, func() (bool, error) {
		ids, err := w.list(ctx)
		if err != nil {
			return false, err
		}
		w.mu.Lock()
		current := w.current
		w.mu.Unlock()
		if len(ids) < 2 || ids[len(ids)-1] == current {
			if len(ids) >= 2 {
				// Already on the newest window.
				return true, nil
			}
			return false, notFoundf("no new window was opened")
		}
		if _, err := w.attach(ctx, ids[len(ids)-1]); err != nil {
			return false, err
		}
		x.s.frame = nil
		return true, nil
	})
}

func stepMainWindow(ctx context.Context, x *stepRun) error {
	ids, err := x.s.windows.list(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return failf("there is no open window")
	}
	if _, err := x.s.windows.attach(ctx, ids[0]); err != nil {
		return err
	}
	x.s.frame = nil
	return nil
}

func stepCloseWindow(ctx context.Context, x *stepRun) error {
	if err := x.s.windows.closeCurrent(ctx); err != nil {
		return err
	}
	x.s.frame = nil
	ids, err := x.s.windows.list(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	_, err = x.s.windows.attach(ctx, ids[0])
	return err
}

func stepFrameByID(ctx context.Context, x *stepRun) error {
	id := x.arg("iframe_id")
	l := single(byID, id)
	if n, err := strconv.Atoi(strings.TrimSpace(id)); err == nil && n > 0 {
		// An iframe with this id, else the n-th iframe.
		l.tries = append(l.tries, [2]string{string(byXPath), "(//iframe|//frame)[" + strconv.Itoa(n) + "]"})
		l.explicit = false
	}
	return enterFrame(ctx, x, l)
}

func stepFrameByName(ctx context.Context, x *stepRun) error {
	return enterFrame(ctx, x, single(byName, x.arg("iframe_name")))
}

func stepFrameBySelector(ctx context.Context, x *stepRun) error {
	return enterFrame(ctx, x, parseSelector(x.arg("selector")))
}

func stepDefaultContent(_ context.Context, x *stepRun) error {
	x.s.frame = nil
	return nil
}

// enterFrame makes the iframe found by l (in the current document, so
// iframes nest) the document later steps act on.
func enterFrame(ctx context.Context, x *stepRun, l lookup) error {
	var frame *rod.Page
	err := x.s.act(ctx, l, false, func(el *rod.Element) (bool, error) {
		tag, err := evalOn(el, `function() { return this.tagName }`)
		if err != nil {
			return false, err
		}
		if t := tag.Value.Str(); t != "IFRAME" && t != "FRAME" {
			return true, failf("%q is a %s, not an iframe", l.raw, strings.ToLower(t))
		}
		f, err := el.Frame()
		if err != nil {
			return false, err
		}
		// The frame's document must exist before steps look into it.
		if _, err := f.Context(ctx).Eval(`() => document.readyState`); err != nil {
			return false, err
		}
		frame = f
		return true, nil
	})
	if err != nil {
		return err
	}
	x.s.frame = frame.Context(context.Background())
	return nil
}
