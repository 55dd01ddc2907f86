package steps

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

func navigationSteps() []definition {
	return []definition{
		{pattern: `StartBrowser and call URL "{url}"`, run: stepGoto, checks: urlCheck,
			description: `Opens the URL in the browser and waits until the page has loaded.<br>Example: StartBrowser and call URL "https://example.org/"`},
		{pattern: `StartBrowser and call URL "{url}" with javascript`, run: stepGotoJS, checks: urlCheck,
			description: `Opens the URL by setting window.location from the current page, then waits for the load.<br>Example: StartBrowser and call URL "https://example.org/" with javascript`},
		{pattern: `Goto URL "{url}"`, run: stepGoto, checks: urlCheck,
			description: `Navigates to the URL and waits until the page has loaded.<br>Example: Goto URL "https://example.org/login"`},
		{pattern: `Reload page`, run: stepReload,
			description: `Reloads the current page and waits for it to load.<br>Example: Reload page`},
		{pattern: `Return to the previous page`, run: stepBack,
			description: `Goes one entry back in the browser history.<br>Example: Return to the previous page`},
		{pattern: `Close the browser`, run: stepCloseBrowser, noScreenshot: true,
			description: `Closes every window of the browser; a later navigation step opens a new one.<br>Example: Close the browser`},
		{pattern: `Maximize the browser`, run: stepMaximize,
			description: `Gives the page the full default window size.<br>Example: Maximize the browser`},
		{pattern: `I resize the browser to "{x}" x "{y}"`, run: stepResize,
			checks:      map[string]check{"x": pixelsIn("width", 10000), "y": pixelsIn("height", 10000)},
			description: `Resizes the browser viewport to x by y pixels.<br>Example: I resize the browser to "1280" x "800"`},
		{pattern: `I can resize the browser to "{x}" x "{y}"`, run: stepResize,
			checks:      map[string]check{"x": pixelsIn("width", 10000), "y": pixelsIn("height", 10000)},
			description: `Resizes the viewport to x by y pixels and checks the page sees that size.<br>Example: I can resize the browser to "1280" x "800"`},
		{pattern: `Delete all cookies`, run: stepDeleteCookies,
			description: `Deletes every cookie of the browser session.<br>Example: Delete all cookies`},
	}
}

// urlCheck is the check of every step that opens a URL: http and https
// only (see checkURL).
var urlCheck = map[string]check{"url": checkURL}

func stepGoto(ctx context.Context, x *stepRun) error {
	url := strings.TrimSpace(x.arg("url"))
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	x.s.frame = nil
	if err := p.Context(ctx).Navigate(url); err != nil {
		var nav *rod.NavigationError
		if errors.As(err, &nav) {
			return failf("could not open %q: %s", url, nav.Reason)
		}
		return err
	}
	return waitLoad(ctx, p)
}

func stepGotoJS(ctx context.Context, x *stepRun) error {
	url := strings.TrimSpace(x.arg("url"))
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	x.s.frame = nil
	return navigateBy(ctx, p, func() error {
		_, err := p.Context(ctx).Evaluate(rod.Eval(`u => { window.location.href = u }`, url).ByUser())
		return err
	})
}

// waitLoad waits until the page's document has loaded, retrying while a
// navigation replaces the document under the check.
func waitLoad(ctx context.Context, p *rod.Page) error {
	return poll(ctx, func() (bool, error) {
		err := p.Context(ctx).WaitLoad()
		return err == nil, err
	})
}

// navigateBy runs trigger, waits for the main frame to navigate (to a new
// document or within the same one) and then for the load.
func navigateBy(ctx context.Context, p *rod.Page, trigger func() error) error {
	pc := p.Context(ctx)
	wait := pc.EachEvent(
		func(e *proto.PageFrameNavigated) bool { return e.Frame.ParentID == "" },
		func(e *proto.PageNavigatedWithinDocument) bool { return e.FrameID == p.FrameID },
	)
	if err := trigger(); err != nil {
		return err
	}
	waited := make(chan struct{})
	go func() { wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return ctx.Err()
	}
	return waitLoad(ctx, p)
}

func stepReload(ctx context.Context, x *stepRun) error {
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	x.s.frame = nil
	return navigateBy(ctx, p, func() error {
		return proto.PageReload{}.Call(p.Context(ctx))
	})
}

func stepBack(ctx context.Context, x *stepRun) error {
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	x.s.frame = nil
	hist, err := proto.PageGetNavigationHistory{}.Call(p.Context(ctx))
	if err != nil {
		return err
	}
	if hist.CurrentIndex <= 0 {
		return failf("there is no previous page in this window")
	}
	entry := hist.Entries[hist.CurrentIndex-1]
	return navigateBy(ctx, p, func() error {
		return proto.PageNavigateToHistoryEntry{EntryID: entry.ID}.Call(p.Context(ctx))
	})
}

func stepCloseBrowser(ctx context.Context, x *stepRun) error {
	x.s.frame = nil
	return x.s.windows.closeAll(ctx)
}

func stepMaximize(ctx context.Context, x *stepRun) error {
	w, h := x.s.b.Size()
	return resize(ctx, x, w, h)
}

func stepResize(ctx context.Context, x *stepRun) error {
	w, err := strconv.Atoi(strings.TrimSpace(x.arg("x")))
	if err != nil || w <= 0 || w > 10000 {
		return failf("width %q is not a number of pixels", x.arg("x"))
	}
	h, err := strconv.Atoi(strings.TrimSpace(x.arg("y")))
	if err != nil || h <= 0 || h > 10000 {
		return failf("height %q is not a number of pixels", x.arg("y"))
	}
	if err := resize(ctx, x, w, h); err != nil {
		return err
	}
	if !strings.HasPrefix(x.match.Pattern, "I can resize") {
		return nil
	}
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	return poll(ctx, func() (bool, error) {
		res, err := p.Context(ctx).Eval(`() => [window.innerWidth, window.innerHeight]`)
		if err != nil {
			return false, err
		}
		gw, gh := res.Value.Get("0").Int(), res.Value.Get("1").Int()
		if gw == w && gh == h {
			return true, nil
		}
		return false, retryf("the page is %dx%d, expected %dx%d", gw, gh, w, h)
	})
}

// resize sets the viewport of the current window. Headless windows have
// no frame, so the viewport is the window.
func resize(ctx context.Context, x *stepRun, w, h int) error {
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	return proto.EmulationSetDeviceMetricsOverride{Width: w, Height: h, DeviceScaleFactor: 1}.Call(p.Context(ctx))
}

func stepDeleteCookies(ctx context.Context, x *stepRun) error {
	p, err := x.s.windows.page(ctx)
	if err != nil {
		return err
	}
	return proto.NetworkClearBrowserCookies{}.Call(p.Context(ctx))
}
