package steps_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
)

const todomvcVersion = "0.1.1"

// todomvcExamples installs todomvc from npm once into a cache folder and
// returns its examples folder. The install goes to a fresh folder that is
// renamed into place, so a half-finished install is never used.
func todomvcExamples(t testing.TB) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "cometa-test", "todomvc-"+todomvcVersion)
	examples := filepath.Join(dir, "node_modules", "todomvc", "examples")
	if _, err := os.Stat(filepath.Join(examples, "vanillajs", "index.html")); err == nil {
		return examples
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatalf("npm is needed to install todomvc@%s: %v", todomvcVersion, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-save", "--no-audit", "--no-fund",
		"--prefix", tmp, "todomvc@"+todomvcVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install todomvc@%s: %v\n%s", todomvcVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		// Another test process may have won the race; use its install.
		if _, statErr := os.Stat(filepath.Join(examples, "vanillajs", "index.html")); statErr != nil {
			t.Fatalf("install todomvc: %v", err)
		}
	}
	return examples
}

func serveTodoMVC(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(todomvcExamples(t))))
	t.Cleanup(srv.Close)
	return srv.URL
}

func todoVars(url string) []variables.Variable {
	return []variables.Variable{
		{Name: "TODO_URL", Value: url, Scope: variables.ScopeFeature},
		{Name: "SECOND_TODO", Value: "Walk the dog", Scope: variables.ScopeEnvironment},
	}
}

func TestTodoMVC(t *testing.T) {
	t.Parallel()
	base := serveTodoMVC(t)
	list := loadSteps(t, "testdata/todomvc.steps.json")
	if len(list) != 16 {
		t.Fatalf("%d steps in the fixture", len(list))
	}
	for _, impl := range []string{"vanillajs", "react"} {
		t.Run(impl, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			start := time.Now()
			sum, results, err := e.run(list, todoVars(base+"/"+impl+"/index.html")...)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			var timings []string
			shots := 0
			for i, r := range results {
				if r.Status != steps.StatusSuccess || r.Sequence != i+1 || r.Index != i {
					t.Errorf("step %d (index %d) %q: %s %s", r.Sequence, r.Index, r.Name, r.Status, r.Error)
				}
				if r.Name != list[i].Content {
					t.Errorf("step %d named %q", r.Sequence, r.Name)
				}
				if r.ExecutionTime <= 0 {
					t.Errorf("step %d has no execution time", r.Sequence)
				}
				if list[i].Screenshot {
					shots++
					if _, err := png.Decode(bytes.NewReader(r.Screenshot)); err != nil {
						t.Errorf("step %d screenshot: %v", r.Sequence, err)
					}
				} else if r.Screenshot != nil {
					t.Errorf("step %d has an unasked screenshot", r.Sequence)
				}
				timings = append(timings, fmt.Sprintf("%d:%dms", r.Sequence, r.ExecutionTime.Milliseconds()))
			}
			if len(results) != 16 || shots != 4 {
				t.Fatalf("%d results, %d screenshots", len(results), shots)
			}
			if sum.Status != steps.StatusSuccess || sum.Total != 16 || sum.OK != 16 || sum.Fails != 0 || sum.Skipped != 0 {
				t.Fatalf("summary %+v", sum)
			}
			t.Logf("todomvc %s: 16 steps in %v (run %v): %s", impl, time.Since(start).Round(time.Millisecond),
				sum.ExecutionTime.Round(time.Millisecond), strings.Join(timings, " "))
		})
	}
}

func TestTodoMVCFailing(t *testing.T) {
	t.Parallel()
	base := serveTodoMVC(t)
	list := loadSteps(t, "testdata/todomvc-failing.steps.json")
	e := newEnv(t)
	sum, results, err := e.run(list, todoVars(base+"/vanillajs/index.html")...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(results) != 8 {
		t.Fatalf("%d results: %v", len(results), brief(results))
	}
	failed := results[7]
	if failed.Status != steps.StatusFailed || !strings.Contains(failed.Error, `"Buy bread"`) || len(failed.Screenshot) == 0 {
		t.Fatalf("failing step: %s %q (screenshot %d bytes)", failed.Status, failed.Error, len(failed.Screenshot))
	}
	if sum.Status != steps.StatusFailed || sum.Total != 10 || sum.OK != 7 || sum.Fails != 1 || sum.Skipped != 2 {
		t.Fatalf("summary %+v, want total 10, ok 7, fails 1, skipped 2", sum)
	}
	t.Logf("todomvc failing: %+v; error %q", sum, failed.Error)
}

// The real Cometa sample feature is made only of known steps.
func TestCometaSampleFeatureSteps(t *testing.T) {
	t.Parallel()
	c := steps.NewCatalogue()
	var contents []string
	for _, s := range loadSteps(t, "testdata/first-testcase.steps.json") {
		contents = append(contents, s.Content)
	}
	if err := c.ValidateFlow(contents); err != nil {
		t.Fatal(err)
	}
}
