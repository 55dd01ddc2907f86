package steps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
)

// env is one real browser with a Session and a local server for the pages
// in testdata/pages, plus a few special routes.
type env struct {
	t    *testing.T
	b    *browser.Browser
	s    *steps.Session
	url  string // base URL of the server, no trailing slash
	sink *memorySink
}

// memorySink keeps saved environment variables in memory.
type memorySink struct {
	mu   sync.Mutex
	vars map[string]string
	fail error
}

func (m *memorySink) SaveEnvironmentVariable(_ context.Context, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.vars[name] = value
	return nil
}

func (m *memorySink) get(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.vars[name]
}

type envOption func(*steps.Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir("testdata/pages")))
	// A page whose load never ends: an image that never finishes.
	mux.HandleFunc("/never-loads.html", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><body><p id="p">partial</p><img src="/hang"></body></html>`)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Options{})
	if err != nil {
		t.Fatalf("launch browser: %v", err)
	}
	sink := &memorySink{vars: map[string]string{}}
	o := steps.Options{Sink: sink, UploadsDir: "testdata/uploads", Decrypter: reverser{}}
	for _, f := range opts {
		f(&o)
	}
	s := steps.NewSession(b, o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(ctx)
		if err := b.Close(ctx); err != nil {
			t.Errorf("close browser: %v", err)
		}
		assertNoBrowser(t, b)
	})
	return &env{t: t, b: b, s: s, url: srv.URL, sink: sink}
}

// assertNoBrowser checks that no process of the browser outlived it.
func assertNoBrowser(t *testing.T, b *browser.Browser) {
	t.Helper()
	live, err := browser.LiveProcesses(b.PGID(), b.Dir())
	if err != nil {
		t.Fatalf("list processes: %v", err)
	}
	if len(live) > 0 {
		t.Errorf("browser processes alive after Close: %v", live)
	}
	if _, err := os.Stat(b.Dir()); !os.IsNotExist(err) {
		t.Errorf("browser folder %s still exists", b.Dir())
	}
}

// reverser is a test Decrypter: prefix + the plain text reversed.
type reverser struct{}

func (reverser) Decrypt(c string) (string, error) {
	rest, ok := strings.CutPrefix(c, variables.DefaultEncryptedPrefix)
	if !ok {
		return "", fmt.Errorf("not ciphertext")
	}
	return reverse(rest), nil
}

func reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

func encrypt(plain string) string { return variables.DefaultEncryptedPrefix + reverse(plain) }

// st is a step with a short timeout, as tests want failures to come fast.
func st(content string) steps.Step {
	return steps.Step{Content: content, Timeout: 5 * time.Second}
}

// page returns the URL of a test page.
func (e *env) page(name string) string { return e.url + "/" + name }

// run executes the steps and collects the reported results.
func (e *env) run(list []steps.Step, vars ...variables.Variable) (steps.Summary, []steps.StepResult, error) {
	e.t.Helper()
	var results []steps.StepResult
	ctx, cancel := context.WithTimeout(e.t.Context(), 2*time.Minute)
	defer cancel()
	sum, err := e.s.Run(ctx, steps.Run{
		Steps:     list,
		Variables: vars,
		Report: func(_ context.Context, r steps.StepResult) error {
			results = append(results, r)
			return nil
		},
	})
	return sum, results, err
}

// patient is how long a step that is meant to pass may take. A passing step
// ends as soon as it succeeds, so the long timeout costs nothing on a quiet
// machine and keeps the tests steady on a loaded one (a page load can take
// several seconds when every core is busy).
const patient = 30 * time.Second

// lenient gives every step of list at least the patient timeout.
func lenient(list []steps.Step) []steps.Step {
	out := make([]steps.Step, len(list))
	for i, s := range list {
		if s.Timeout < patient {
			s.Timeout = patient
		}
		out[i] = s
	}
	return out
}

// mustPass runs the steps and fails the test unless every step succeeded.
func (e *env) mustPass(list ...steps.Step) []steps.StepResult {
	e.t.Helper()
	sum, results, err := e.run(lenient(list))
	if err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	for _, r := range results {
		if r.Status == steps.StatusFailed {
			e.t.Fatalf("step %d %q: %s: %s", r.Sequence, r.Name, r.Status, r.Error)
		}
	}
	if sum.Status != steps.StatusSuccess || sum.OK != len(results) || sum.Skipped != 0 {
		e.t.Fatalf("summary %+v for %d results", sum, len(results))
	}
	return results
}

// mustFail runs the steps and returns the error of the failing last step.
func (e *env) mustFail(list ...steps.Step) string {
	e.t.Helper()
	// The steps before the failing one are meant to pass.
	list = append(lenient(list[:len(list)-1]), list[len(list)-1])
	_, results, err := e.run(list)
	if err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	if len(results) != len(list) {
		e.t.Fatalf("%d results for %d steps: %+v", len(results), len(list), results)
	}
	for _, r := range results[:len(results)-1] {
		if r.Status != steps.StatusSuccess {
			e.t.Fatalf("step %d %q: %s: %s", r.Sequence, r.Name, r.Status, r.Error)
		}
	}
	last := results[len(results)-1]
	if last.Status != steps.StatusFailed || last.Success {
		e.t.Fatalf("last step %q: %s, want Failed", last.Name, last.Status)
	}
	if len(last.Screenshot) == 0 && !strings.Contains(last.Name, "Close the browser") {
		e.t.Errorf("failed step %q has no screenshot", last.Name)
	}
	return last.Error
}

// js is a step that runs JavaScript in the page and one that checks what
// it returned, so tests read the page through the step language.
func js(code, want string) []steps.Step {
	return []steps.Step{st(`Run Javascript function "` + code + `"`), st(`Assert "%js_return" to be same as "` + want + `"`)}
}

// join concatenates step lists.
func join(lists ...[]steps.Step) []steps.Step {
	var out []steps.Step
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// jsonStep is one element of Cometa's steps_content.
type jsonStep struct {
	Enabled           bool   `json:"enabled"`
	Screenshot        bool   `json:"screenshot"`
	StepContent       string `json:"step_content"`
	ContinueOnFailure bool   `json:"continue_on_failure"`
	Timeout           int    `json:"timeout"`
}

// loadSteps reads a steps_content fixture, keeping the enabled steps.
func loadSteps(t testing.TB, path string) []steps.Step {
	data, err := os.ReadFile(path)
	if err == nil {
		var raw []jsonStep
		if err = json.Unmarshal(data, &raw); err == nil {
			return enabledSteps(raw)
		}
	}
	if t == nil {
		panic(path + ": " + err.Error())
	}
	t.Fatalf("%s: %v", path, err)
	return nil
}

func enabledSteps(raw []jsonStep) []steps.Step {
	var out []steps.Step
	for _, s := range raw {
		if !s.Enabled {
			continue
		}
		out = append(out, steps.Step{
			Content:           s.StepContent,
			Timeout:           time.Duration(s.Timeout) * time.Second,
			Screenshot:        s.Screenshot,
			ContinueOnFailure: s.ContinueOnFailure,
		})
	}
	return out
}
