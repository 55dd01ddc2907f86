package worker_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/internal/benchreport"
	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
)

// BenchmarkTodoMVCThroughRunner runs the 16-step TodoMVC feature through
// the whole run lifecycle (request, claim, a fresh browser, every step
// recorded as an event, screenshots stored and compared, finish, waited
// for) beside the same steps executed by the step language alone in a
// fresh browser, alternating; it reports the median time per run of both.
// The difference is what the event-sourced run lifecycle costs.
func BenchmarkTodoMVCThroughRunner(b *testing.B) {
	w := newBenchWorld(b)
	app := w.url + "/todomvc/vanillajs/index.html"
	list := fixtureSteps(b, "todomvc.steps.json")
	ctx := context.Background()
	id := w.feature("TodoMVC", list...)
	for _, in := range []commands.VariableInput{
		{Name: "SECOND_TODO", Based: eventschemas.BasedEnvironment, Value: "Walk the dog"},
		{Name: "TODO_URL", FeatureID: id, Value: app},
	} {
		in.DepartmentID, in.EnvironmentID = 3, 2
		_, res, _, err := w.variables.Put(ctx, w.meta(), w.author, in)
		if err != nil {
			b.Fatal(err)
		}
		w.sync(res.Position)
	}
	direct := make([]steps.Step, len(list))
	for i, st := range list {
		direct[i] = steps.Step{Content: st.Content, Timeout: time.Duration(st.Timeout) * time.Second,
			Screenshot: st.Screenshot || st.Compare}
	}
	vars := []variables.Variable{{Name: "TODO_URL", Value: app, Scope: variables.ScopeFeature},
		{Name: "SECOND_TODO", Value: "Walk the dog", Scope: variables.ScopeEnvironment}}

	var ours, alone []time.Duration
	for b.Loop() {
		t0 := time.Now()
		out, err := w.runs.Request(ctx, w.meta(), w.author, commands.RunInput{FeatureID: id})
		if err != nil {
			b.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		statuses, err := w.runs.WaitFinished(wctx, out.RunID)
		cancel()
		ours = append(ours, time.Since(t0))
		if err != nil || statuses[out.ResultIDs[0]] != eventschemas.StatusSuccess {
			b.Fatalf("run through the runner: %v %v", statuses, err)
		}

		t0 = time.Now()
		br, err := browser.Launch(ctx, browser.Options{TempDir: w.browsers})
		if err != nil {
			b.Fatal(err)
		}
		s := steps.NewSession(br, steps.Options{})
		sum, err := s.Run(ctx, steps.Run{Steps: direct, Variables: vars})
		_ = s.Close(ctx)
		if cerr := br.Close(ctx); cerr != nil {
			b.Fatal(cerr)
		}
		alone = append(alone, time.Since(t0))
		if err != nil || sum.Status != steps.StatusSuccess {
			b.Fatalf("step language alone: %+v %v", sum, err)
		}
	}
	benchreport.Record(b, benchreport.Percentile(ours, 50), benchreport.Percentile(alone, 50), "ms/run")
}

// newBenchWorld is newWorld for a benchmark, with TodoMVC served and one
// worker running.
func newBenchWorld(b *testing.B) *world {
	b.Helper()
	w := newWorld(b)
	w.mux.Handle("/todomvc/", http.StripPrefix("/todomvc/", http.FileServer(http.Dir(todomvc(b)))))
	w.startWorker("runner-bench", nil)
	return w
}
