package steps

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-rod/rod"
)

func scrollSteps() []definition {
	return []definition{
		{pattern: `Scroll to "{amount}"px`, run: stepScrollPage,
			checks:      map[string]check{"amount": anyPixels("amount")},
			description: `Scrolls the page to this vertical position in pixels.<br>Example: Scroll to "600"px`},
		{pattern: `Scroll to "{amount}"px on element "{selector}"`, run: stepScrollElementTo,
			checks:      map[string]check{"amount": anyPixels("amount")},
			description: `Scrolls inside the element to this vertical position in pixels.<br>Example: Scroll to "200"px on element ".list"`},
		{pattern: `Scroll element "{selector}" by "{x_amount}"px on x-axis and "{y_amount}"px on y-axis`, run: stepScrollElementBy,
			checks:      map[string]check{"x_amount": anyPixels("x amount"), "y_amount": anyPixels("y amount")},
			description: `Scrolls inside the element by the given pixels horizontally and vertically.<br>Example: Scroll element ".table" by "100"px on x-axis and "50"px on y-axis`},
		{pattern: `Scroll to element with css selector "{selector}"`, run: stepScrollIntoView,
			description: `Scrolls until the element is in the middle of the view.<br>Example: Scroll to element with css selector "#footer"`},
		{pattern: `Highlight element with "{selector}"`, run: stepHighlight,
			description: `Draws a red outline around the element, e.g. before a screenshot.<br>Example: Highlight element with "#total"`},
	}
}

func pixels(s, what string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, failf("%s %q is not a number of pixels", what, s)
	}
	return v, nil
}

func stepScrollPage(ctx context.Context, x *stepRun) error {
	y, err := pixels(x.arg("amount"), "amount")
	if err != nil {
		return err
	}
	p, err := x.s.scope(ctx)
	if err != nil {
		return err
	}
	_, err = p.Eval(`y => window.scrollTo(window.scrollX, y)`, y)
	return err
}

func (s *Session) onElement(ctx context.Context, sel, js string, args ...any) error {
	return s.act(ctx, parseSelector(sel), false, func(el *rod.Element) (bool, error) {
		_, err := evalOn(el, js, args...)
		return err == nil, err
	})
}

func stepScrollElementTo(ctx context.Context, x *stepRun) error {
	y, err := pixels(x.arg("amount"), "amount")
	if err != nil {
		return err
	}
	return x.s.onElement(ctx, x.arg("selector"), `function(y) { this.scrollTo(this.scrollLeft, y) }`, y)
}

func stepScrollElementBy(ctx context.Context, x *stepRun) error {
	dx, err := pixels(x.arg("x_amount"), "x amount")
	if err != nil {
		return err
	}
	dy, err := pixels(x.arg("y_amount"), "y amount")
	if err != nil {
		return err
	}
	return x.s.onElement(ctx, x.arg("selector"), `function(dx, dy) { this.scrollBy(dx, dy) }`, dx, dy)
}

func stepScrollIntoView(ctx context.Context, x *stepRun) error {
	return x.s.onElement(ctx, x.arg("selector"),
		`function() { this.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'}) }`)
}

func stepHighlight(ctx context.Context, x *stepRun) error {
	return x.s.onElement(ctx, x.arg("selector"),
		`function() { this.style.outline = '2px solid #f00'; this.style.outlineOffset = '1px'; }`)
}
