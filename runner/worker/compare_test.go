package worker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/runner/imagediff"
)

// TestCompare: the first run records its screenshot as the baseline, the
// second counts the pixels a changed page differs by, the third (another
// window size) fails the comparison naming both sizes.
func TestCompare(t *testing.T) {
	w := newWorld(t)
	var changed atomic.Bool
	w.mux.HandleFunc("/visual", func(rw http.ResponseWriter, r *http.Request) {
		box := ""
		if changed.Load() {
			box = `<div style="position:absolute;left:10px;top:60px;width:50px;height:40px;background:#e00"></div>`
		}
		fmt.Fprintf(rw, `<!doctype html><html><body style="margin:0;background:#fff"><h1>Visual</h1>%s</body></html>`, box)
	})
	w.startWorker("runner-a", nil)
	compare := step(`I can see "Visual"`)
	compare.Compare = true
	id := w.feature("Visual", step(`StartBrowser and call URL "`+w.url+`/visual"`),
		step(`I resize the browser to "$W" x "$H"`), compare)
	ctx := context.Background()
	setSize := func(width, height string) {
		t.Helper()
		for _, v := range []commands.VariableInput{{Name: "W", Value: width}, {Name: "H", Value: height}} {
			v.DepartmentID, v.EnvironmentID, v.Based = 3, 2, eventschemas.BasedDepartment
			_, res, _, err := w.variables.Put(ctx, w.meta(), w.author, v)
			if err != nil {
				t.Fatal(err)
			}
			w.sync(res.Position)
		}
	}

	setSize("400", "300")
	first, status := w.runOnce(id)
	if status != eventschemas.StatusSuccess {
		t.Fatalf("first run: %s %+v", status, w.finished(first))
	}
	base := w.stepsOf(first)[2]
	if base.Template == "" || base.Template != base.Current || base.PixelDiff != 0 {
		t.Errorf("first run's compare step: %+v", base)
	}
	baselines, err := w.runs.Baselines(ctx, id)
	if err != nil || len(baselines.ByKey) != 1 {
		t.Fatalf("baselines after the first run: %+v, %v", baselines, err)
	}
	for _, b := range baselines.ByKey {
		if b.Name != base.Current || b.Width != 400 || b.Height != 300 || b.FeatureResultID != first {
			t.Errorf("baseline %+v", b)
		}
	}

	changed.Store(true)
	second, status := w.runOnce(id)
	if status != eventschemas.StatusSuccess {
		t.Fatalf("second run: %s %+v", status, w.finished(second))
	}
	cmpStep := w.stepsOf(second)[2]
	var compared *eventschemas.ScreenshotCompared
	for _, p := range w.events(second) {
		if c, ok := p.(*eventschemas.ScreenshotCompared); ok {
			compared = c
		}
	}
	if compared == nil || compared.Failed || compared.Baseline != base.Current || compared.Diff == "" {
		t.Fatalf("second run's comparison: %+v", compared)
	}
	want, err := imagediff.CompareBytes(w.read(base.Current), w.read(cmpStep.Current), imagediff.DefaultOptions(), false)
	if err != nil {
		t.Fatal(err)
	}
	if want.DiffPixels < 50*40/2 || compared.PixelDiff != int64(want.DiffPixels) || cmpStep.PixelDiff != compared.PixelDiff {
		t.Errorf("pixel diff %d (step %d), pixelmatch semantics give %d", compared.PixelDiff, cmpStep.PixelDiff,
			want.DiffPixels)
	}
	if cmpStep.Template != base.Current || cmpStep.Difference != compared.Diff || len(cmpStep.Screenshots) != 2 {
		t.Errorf("second run's compare step: %+v", cmpStep)
	}

	setSize("320", "200")
	third, status := w.runOnce(id)
	if status != eventschemas.StatusFailed {
		t.Fatalf("third run: %s", status)
	}
	mismatch := w.stepsOf(third)[2]
	if mismatch.Status != eventschemas.StatusFailed || !strings.Contains(mismatch.Error, "320x200") ||
		!strings.Contains(mismatch.Error, "400x300") || mismatch.PixelDiff != 0 || mismatch.Difference != "" {
		t.Errorf("size mismatch step: %+v", mismatch)
	}
}

// TestCompareKeyIsStepID: moving a compare step keeps its baseline.
func TestCompareKeyIsStepID(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	w.startWorker("runner-a", nil)
	compare := step(`I can see "Hello, world"`)
	compare.Compare = true
	id := w.feature("Moves", step(`StartBrowser and call URL "`+w.url+`/hello"`), compare,
		step(`I can see "Go"`))
	first, _ := w.runOnce(id)
	_, err := w.features.Save(context.Background(), w.meta(), w.author, id, 0,
		func(_ context.Context, d feature.Definition) (feature.Definition, error) {
			d.Steps = slices.Clone(d.Steps)
			d.Steps[1], d.Steps[2] = d.Steps[2], d.Steps[1]
			return d, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	second, status := w.runOnce(id)
	if status != eventschemas.StatusSuccess {
		t.Fatalf("status %s", status)
	}
	moved := w.stepsOf(second)[2]
	if moved.Template != w.stepsOf(first)[1].Current || moved.PixelDiff != 0 {
		t.Errorf("moved compare step: %+v", moved)
	}
}

func (w *world) read(name string) []byte {
	w.t.Helper()
	f, err := w.shots.Open(name)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		w.t.Fatal(err)
	}
	return data
}
