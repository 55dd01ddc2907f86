package steps_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/steps"
)

// hangServer serves a page whose load never ends and reports each time a
// browser is waiting for it.
func hangServer(t *testing.T) (url string, waiting <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 10)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hang" {
			w.Write([]byte(`<!doctype html><html><body>waiting<img src="/hang"></body></html>`))
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		ch <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv.URL + "/page.html", ch
}

// A canceled run stops the step in progress at once: the step is reported
// as failed with "aborted", the rest is not executed, Run says canceled.
func TestCancelStopsTheStepInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	url, waiting := hangServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var canceledAt time.Time
	go func() {
		<-waiting
		canceledAt = time.Now()
		cancel()
	}()
	var results []steps.StepResult
	sum, err := e.s.Run(ctx, steps.Run{
		Steps: []steps.Step{
			{Content: `Goto URL "` + url + `"`, Timeout: time.Minute},
			st(`Assert "never" to be same as "reached"`),
		},
		Report: func(_ context.Context, r steps.StepResult) error {
			results = append(results, r)
			return nil
		},
	})
	stopped := time.Since(canceledAt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want a cancellation", err)
	}
	if stopped > 2*time.Second {
		t.Errorf("the run took %v to stop after the cancellation", stopped)
	}
	if sum.Status != steps.StatusCanceled || sum.Total != 2 || sum.Fails != 1 || sum.Skipped != 1 {
		t.Errorf("summary %+v", sum)
	}
	if len(results) != 1 || results[0].Status != steps.StatusFailed || !strings.Contains(results[0].Error, "aborted") {
		t.Fatalf("results %+v", results)
	}
}

// When the browser dies mid-run the step fails with a clear error and the
// run stops, even for a step that continues on failure.
func TestBrowserCrashStopsTheRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	url, waiting := hangServer(t)
	go func() {
		<-waiting
		_ = syscall.Kill(e.b.PID(), syscall.SIGKILL)
	}()
	first := steps.Step{Content: `Goto URL "` + url + `"`, Timeout: time.Minute, ContinueOnFailure: true}
	sum, results, err := e.run([]steps.Step{first, st(`Assert "never" to be same as "reached"`)})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(results) != 1 || results[0].Status != steps.StatusFailed || !strings.Contains(results[0].Error, "the browser is gone") {
		t.Fatalf("results %+v", results)
	}
	if sum.Status != steps.StatusFailed || sum.Skipped != 1 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestScreenshotsAndReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	shot := st(`Goto URL "` + e.page("links.html") + `"`)
	shot.Screenshot = true
	closeShot := st(`Close the browser`)
	closeShot.Screenshot = true
	_, results, err := e.run([]steps.Step{shot, st(`BrowserTitle is "Links page"`), closeShot})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("results %+v", results)
	}
	img, err := png.Decode(bytes.NewReader(results[0].Screenshot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1920 || b.Dy() != 1080 {
		t.Fatalf("screenshot is %v, want 1920x1080", b)
	}
	if results[1].Screenshot != nil || results[2].Screenshot != nil {
		t.Fatal("screenshot taken for a step that did not ask for one, or for Close the browser")
	}
	for _, r := range results {
		if r.ExecutionTime <= 0 {
			t.Fatalf("step %d has no execution time", r.Sequence)
		}
	}

	// A report that fails ends the run with that error.
	var mu sync.Mutex
	calls := 0
	boom := errors.New("store unavailable")
	_, err = e.s.Run(t.Context(), steps.Run{
		Steps: []steps.Step{st(`Assert "a" to be same as "a"`), st(`Assert "b" to be same as "b"`)},
		Report: func(context.Context, steps.StepResult) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return boom
		},
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("Run with a failing report = %v after %d calls", err, calls)
	}
}

// A session over a remote browser (reached by its websocket URL) works in
// its own browser context and leaves the remote browser running.
func TestRemoteBrowserSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	remote, err := browser.Connect(ctx, e.b.ControlURL(), browser.Options{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	s := steps.NewSession(remote, steps.Options{})
	sum, err := s.Run(ctx, steps.Run{Steps: lenient([]steps.Step{
		st(`Goto URL "` + e.page("links.html") + `"`),
		st(`I can click on element with css selector "#new-tab"`),
		st(`I can switch to new Window`),
		st(`I can see "This is the second page" on page`),
	})})
	if err != nil || sum.Status != steps.StatusSuccess || sum.OK != 4 {
		t.Fatalf("remote run: %+v, %v", sum, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("session Close: %v", err)
	}
	if err := remote.Close(ctx); err != nil {
		t.Fatalf("remote Close: %v", err)
	}
	// The browser behind it still serves the local session.
	e.mustPass(st(`Goto URL "`+e.page("second.html")+`"`), st(`BrowserTitle is "Second"`))
}
