package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gen2brain/webp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/runner/screenshots"
)

const fixtures = "../steps/testdata" // copies of shared/fixtures/todomvc

// todomvc returns the examples folder of todomvc@0.1.1, installed from
// npm into the user's cache on first use (the folder the step tests use).
func todomvc(t testing.TB) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "cometa-test", "todomvc-0.1.1")
	examples := filepath.Join(dir, "node_modules", "todomvc", "examples")
	if _, err := os.Stat(filepath.Join(examples, "vanillajs", "index.html")); err == nil {
		return examples
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", tmp,
		"todomvc@0.1.1").CombinedOutput()
	if err != nil {
		t.Fatalf("npm install todomvc@0.1.1: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(examples, "vanillajs", "index.html")); statErr != nil {
			t.Fatal(err)
		}
	}
	return examples
}

func fixtureSteps(t testing.TB, name string) []feature.Step {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	var list []feature.Step
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestTodoMVC runs the TodoMVC fixture through a worker on the vanillajs
// and react implementations (the second run compares with the first's
// baselines): 16 steps in the fixture's order, each timed, and 4
// screenshots that the store serves as WebP and as JPEG; then the failing
// variant with the totals its README gives.
func TestTodoMVC(t *testing.T) {
	w := newWorld(t)
	w.mux.Handle("/todomvc/", http.StripPrefix("/todomvc/", http.FileServer(http.Dir(todomvc(t)))))
	w.startWorker("runner-a", nil)
	ctx := context.Background()
	put := func(in commands.VariableInput) {
		t.Helper()
		in.DepartmentID, in.EnvironmentID = 3, 2
		_, res, _, err := w.variables.Put(ctx, w.meta(), w.author, in)
		if err != nil {
			t.Fatal(err)
		}
		w.sync(res.Position)
	}
	put(commands.VariableInput{Name: "SECOND_TODO", Based: eventschemas.BasedEnvironment, Value: "Walk the dog"})

	list := fixtureSteps(t, "todomvc.steps.json")
	id := w.feature("TodoMVC", list...)
	for _, impl := range []string{"vanillajs", "react"} {
		put(commands.VariableInput{Name: "TODO_URL", FeatureID: id, Value: w.url + "/todomvc/" + impl + "/index.html"})
		start := time.Now()
		result, status := w.runOnce(id)
		took := time.Since(start)
		steps := w.stepsOf(result)
		if status != eventschemas.StatusSuccess || len(steps) != 16 {
			t.Fatalf("%s: status %s, %d steps, %+v", impl, status, len(steps), w.finished(result))
		}
		shots := 0
		for i, s := range steps {
			if s.Sequence != i+1 || s.Status != eventschemas.StatusSuccess || s.StepName != list[i].Content {
				t.Errorf("%s: step %d: %+v, want %q", impl, i+1, s, list[i].Content)
			}
			if s.ExecutionTimeMS <= 0 {
				t.Errorf("%s: step %d has no execution time", impl, i+1)
			}
			if s.Current != "" {
				shots++
				w.servable(s.Current)
			}
		}
		if shots != 4 {
			t.Errorf("%s: %d screenshots, want 4", impl, shots)
		}
		t.Logf("%s: 16 steps, request to finish %v, step 11 pixel diff %d", impl, took, steps[10].PixelDiff)
	}

	failing := w.feature("TodoMVC failing", fixtureSteps(t, "todomvc-failing.steps.json")...)
	put(commands.VariableInput{Name: "TODO_URL", FeatureID: failing, Value: w.url + "/todomvc/vanillajs/index.html"})
	result, status := w.runOnce(failing)
	steps := w.stepsOf(result)
	ok, fails := 0, 0
	for _, s := range steps {
		if s.Success {
			ok++
		} else {
			fails++
		}
	}
	f := w.finished(result)
	total := len(steps) + f.NotReached
	if status != eventschemas.StatusFailed || total != 10 || ok != 7 || fails != 1 || total-ok-fails != 2 {
		t.Errorf("failing variant: status %s, total %d, ok %d, fails %d, skipped %d", status, total, ok, fails,
			total-ok-fails)
	}
	// The totals the API serves are the runs read model's, projected from
	// the same events (once it has caught up with the finish).
	head, _, err := w.h.Store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(head)
	var sumMS, sumPixels int64
	for _, s := range steps {
		sumMS += s.ExecutionTimeMS
		sumPixels += s.PixelDiff
	}
	var rmTotal, rmOK, rmFails int
	var rmMS, rmPixels int64
	if err := w.h.Pool.QueryRow(ctx, `SELECT recorded + not_reached, ok, fails, execution_time, pixel_diff
		FROM rm_runs.results WHERE feature_result_id = $1`, result).
		Scan(&rmTotal, &rmOK, &rmFails, &rmMS, &rmPixels); err != nil {
		t.Fatal(err)
	}
	if rmTotal != 10 || rmOK != 7 || rmFails != 1 || rmTotal-rmOK-rmFails != 2 || rmMS != sumMS || rmPixels != sumPixels {
		t.Errorf("failing variant's read model: total %d, ok %d, fails %d, %d ms, %d px; want 10, 7, 1, %d ms, %d px",
			rmTotal, rmOK, rmFails, rmMS, rmPixels, sumMS, sumPixels)
	}
}

// servable checks that the store serves screenshot name as WebP and as
// JPEG, the two renditions GET /backend/screenshot/<name>/ negotiates.
func (w *world) servable(name string) {
	w.t.Helper()
	for _, f := range []screenshots.Format{screenshots.WebP, screenshots.JPEG} {
		r, err := w.shots.Rendition(context.Background(), name, f)
		if err != nil {
			w.t.Errorf("%s as %s: %v", name, f, err)
			continue
		}
		data, err := os.ReadFile(r.Path)
		if err != nil {
			w.t.Fatal(err)
		}
		var img image.Image
		if f == screenshots.WebP {
			img, err = webp.Decode(bytes.NewReader(data))
		} else {
			img, err = jpeg.Decode(bytes.NewReader(data))
		}
		if err != nil || img.Bounds().Dx() < 100 {
			w.t.Errorf("%s as %s (%d bytes): %v", name, f, len(data), err)
		}
	}
}
