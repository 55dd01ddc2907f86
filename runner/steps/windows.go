package steps

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// windows tracks the browser's tabs in the order they were opened, as
// Selenium's window handles are, and which one steps act on.
type windows struct {
	b Browser

	mu      sync.Mutex
	order   []proto.TargetTargetID
	pages   map[proto.TargetTargetID]*rod.Page
	current proto.TargetTargetID
	stop    context.CancelFunc
}

func newWindows(b Browser) *windows {
	return &windows{b: b, pages: map[proto.TargetTargetID]*rod.Page{}}
}

// watch starts following target creation and destruction. Pages that the
// application opens (window.open, target=_blank) appear in order.
func (w *windows) watch() {
	if w.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	ctxID := w.b.Rod().BrowserContextID
	wait := w.b.Rod().Context(ctx).EachEvent(
		func(e *proto.TargetTargetCreated) {
			info := e.TargetInfo
			if info.Type != proto.TargetTargetInfoTypePage || (ctxID != "" && info.BrowserContextID != ctxID) {
				return
			}
			w.mu.Lock()
			if !slices.Contains(w.order, info.TargetID) {
				w.order = append(w.order, info.TargetID)
			}
			w.mu.Unlock()
		},
		func(e *proto.TargetTargetDestroyed) {
			w.forget(e.TargetID)
		},
	)
	go wait()
}

func (w *windows) forget(id proto.TargetTargetID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.order = slices.DeleteFunc(w.order, func(t proto.TargetTargetID) bool { return t == id })
	delete(w.pages, id)
	if w.current == id {
		w.current = ""
	}
}

// page returns the current window, opening one when there is none.
func (w *windows) page(ctx context.Context) (*rod.Page, error) {
	w.mu.Lock()
	id := w.current
	p := w.pages[id]
	several := len(w.order) > 1
	w.mu.Unlock()
	if p != nil {
		if several {
			// Another window (a popup the application opened) may have
			// come to the front; input to a window behind it would wait
			// for a frame that never comes.
			if err := (proto.PageBringToFront{}).Call(p.Context(ctx)); err != nil {
				return nil, err
			}
		}
		return p, nil
	}
	if id != "" {
		return w.attach(ctx, id)
	}
	return w.open(ctx)
}

// hasPage reports whether a window is open, without opening one.
func (w *windows) hasPage() *rod.Page {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pages[w.current]
}

// open creates a new tab and makes it current.
func (w *windows) open(ctx context.Context) (*rod.Page, error) {
	w.watch()
	target, err := proto.TargetCreateTarget{
		URL:              "about:blank",
		BrowserContextID: w.b.Rod().BrowserContextID,
	}.Call(w.b.Rod().Context(ctx))
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if !slices.Contains(w.order, target.TargetID) {
		w.order = append(w.order, target.TargetID)
	}
	w.mu.Unlock()
	return w.attach(ctx, target.TargetID)
}

// attach makes the target current, attaching rod to it if needed.
//
// TODO(runner): a JavaScript dialog (alert, confirm, prompt) blocks the page
// until the step times out; dialogs are not handled and Cometa's "I can
// click OK on alert, confirm or prompt message" step is not in the
// catalogue.
func (w *windows) attach(ctx context.Context, id proto.TargetTargetID) (*rod.Page, error) {
	w.mu.Lock()
	p := w.pages[id]
	w.mu.Unlock()
	if p == nil {
		var err error
		// PageFromTarget runs on the browser's unbounded context (the
		// page's own context must outlive this step), so bound it here.
		err = bounded(ctx, func() error {
			var perr error
			p, perr = w.b.Rod().PageFromTarget(id)
			return perr
		})
		if err != nil {
			return nil, err
		}
		width, height := w.b.Size()
		err = proto.EmulationSetDeviceMetricsOverride{
			Width: width, Height: height, DeviceScaleFactor: 1,
		}.Call(p.Context(ctx))
		if err != nil {
			return nil, err
		}
	}
	w.mu.Lock()
	switched := w.current != id
	w.mu.Unlock()
	if switched {
		// Input goes to the window in front: a background tab does not
		// paint, and mouse events sent to it wait for a frame for ever.
		if err := (proto.PageBringToFront{}).Call(p.Context(ctx)); err != nil {
			return nil, err
		}
	}
	w.mu.Lock()
	w.pages[id] = p
	w.current = id
	w.mu.Unlock()
	return p, nil
}

// list returns the open windows in opening order, checked against the
// browser's current targets.
func (w *windows) list(ctx context.Context) ([]proto.TargetTargetID, error) {
	res, err := proto.TargetGetTargets{}.Call(w.b.Rod().Context(ctx))
	if err != nil {
		return nil, err
	}
	alive := map[proto.TargetTargetID]bool{}
	ctxID := w.b.Rod().BrowserContextID
	for _, t := range res.TargetInfos {
		if t.Type == proto.TargetTargetInfoTypePage && (ctxID == "" || t.BrowserContextID == ctxID) {
			alive[t.TargetID] = true
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []proto.TargetTargetID
	for _, id := range w.order {
		if alive[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// closeCurrent closes the current window; no window is current afterwards.
func (w *windows) closeCurrent(ctx context.Context) error {
	w.mu.Lock()
	id := w.current
	w.mu.Unlock()
	if id == "" {
		return nil
	}
	_, err := proto.TargetCloseTarget{TargetID: id}.Call(w.b.Rod().Context(ctx))
	w.forget(id)
	return err
}

// closeAll closes every window this session knows and stops watching.
func (w *windows) closeAll(ctx context.Context) error {
	w.mu.Lock()
	ids := slices.Clone(w.order)
	w.mu.Unlock()
	var first error
	for _, id := range ids {
		_, err := proto.TargetCloseTarget{TargetID: id}.Call(w.b.Rod().Context(ctx))
		if err != nil && first == nil && !isConnectionLost(err) {
			first = err
		}
		w.forget(id)
	}
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	return first
}

// bounded runs fn, returning early with ctx's error when ctx ends first.
// fn keeps running in the background until its own calls return; it must
// not touch state the caller uses afterwards.
func bounded(ctx context.Context, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// screenshot captures the current window's viewport as PNG, or returns
// nil when there is no window or the capture fails.
func (s *Session) screenshot(ctx context.Context) []byte {
	p := s.windows.hasPage()
	if p == nil {
		return nil
	}
	select {
	case <-s.b.Exited():
		return nil
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var png []byte
	// Right after a navigation the page can be between renderers for a
	// moment ("Not attached to an active page"), so failures are retried.
	err := poll(ctx, func() (bool, error) {
		res, err := proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng}.Call(p.Context(ctx))
		if err != nil {
			if isConnectionLost(err) {
				return true, err
			}
			return false, err
		}
		png = res.Data
		return true, nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "screenshot failed", "error", err)
		return nil
	}
	return png
}
