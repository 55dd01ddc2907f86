package steps_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/proto"

	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/steps"
)

// BenchmarkTodoMVC runs the 16-step TodoMVC feature through the step
// language beside the same steps written directly with rod, in the same
// browser, alternating; it reports the median time per run of both.
func BenchmarkTodoMVC(b *testing.B) {
	base := serveTodoMVC(b)
	app := base + "/vanillajs/index.html"
	list := loadSteps(b, "testdata/todomvc.steps.json")
	ctx := b.Context()
	br, err := browser.Launch(ctx, browser.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close(context.Background()) })
	s := steps.NewSession(br, steps.Options{})
	b.Cleanup(func() { _ = s.Close(context.Background()) })
	// The rod baseline gets a browser of its own: input only reaches the
	// window in front, and rod's mouse would wait for ever behind another.
	rb, err := browser.Launch(ctx, browser.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rb.Close(context.Background()) })
	page, err := rb.Rod().Page(proto.TargetCreateTarget{})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(base)
	// A page of the session's browser to clear its storage through.
	sessionPage, err := br.Rod().Page(proto.TargetCreateTarget{})
	if err != nil {
		b.Fatal(err)
	}
	clear := func() {
		// TodoMVC keeps its list in localStorage; every run starts empty.
		for _, p := range []*rod.Page{page, sessionPage} {
			err := proto.StorageClearDataForOrigin{Origin: u.Scheme + "://" + u.Host, StorageTypes: "local_storage"}.Call(p.Timeout(5 * time.Second))
			if err != nil {
				b.Fatal(err)
			}
		}
	}

	var ours, direct []time.Duration
	for b.Loop() {
		clear()
		t0 := time.Now()
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		sum, err := s.Run(rctx, steps.Run{Steps: list, Variables: todoVars(app)})
		cancel()
		ours = append(ours, time.Since(t0))
		if err != nil || sum.Status != steps.StatusSuccess {
			b.Fatalf("step language run: %+v %v", sum, err)
		}

		clear()
		t0 = time.Now()
		if err := todoWithRod(page.Timeout(15*time.Second), app); err != nil {
			b.Fatalf("rod run: %v", err)
		}
		direct = append(direct, time.Since(t0))
	}
	benchreport.Record(b, benchreport.Percentile(ours, 50), benchreport.Percentile(direct, 50), "ms/run")
}

// todoWithRod is todomvc.steps.json written with rod's own API, including
// its four screenshots.
func todoWithRod(p *rod.Page, app string) error {
	shot := func() error {
		_, err := p.Screenshot(false, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
		return err
	}
	typeText := func(text string) error {
		for _, r := range text {
			if err := p.Keyboard.Type(input.Key(r)); err != nil {
				return err
			}
		}
		return p.Keyboard.Type(input.Enter)
	}
	click := func(el *rod.Element, err error) error {
		if err != nil {
			return err
		}
		return el.Click(proto.InputMouseButtonLeft, 1)
	}
	actions := []func() error{
		func() error {
			if err := p.Navigate(app); err != nil {
				return err
			}
			if err := p.WaitLoad(); err != nil {
				return err
			}
			return shot()
		},
		func() error { _, err := p.Element("#new-todo"); return err },
		func() error { return click(p.Element("#new-todo")) },
		func() error { return typeText("Buy milk") },
		func() error {
			if err := typeText("Walk the dog"); err != nil {
				return err
			}
			return shot()
		},
		func() error { return p.Wait(rod.Eval(`() => document.body.innerText.includes('Buy milk')`)) },
		func() error { _, err := p.ElementR("#todo-count", "2 items left"); return err },
		func() error { return click(p.Element("#todo-list li:first-of-type .toggle")) },
		func() error {
			if _, err := p.ElementR("#todo-count", "1 item left"); err != nil {
				return err
			}
			return shot()
		},
		func() error { return click(p.ElementR("a", "^Completed$")) },
		func() error {
			el, err := p.Element("#todo-list li.completed")
			if err != nil {
				return err
			}
			return el.WaitVisible()
		},
		func() error { return click(p.ElementR("a", "^All$")) },
		func() error { return click(p.Element("#clear-completed")) },
		func() error {
			if _, err := p.ElementR("#todo-list li:first-of-type", "Walk the dog"); err != nil {
				return err
			}
			return shot()
		},
	}
	for _, a := range actions {
		if err := a(); err != nil {
			return err
		}
	}
	return nil
}
