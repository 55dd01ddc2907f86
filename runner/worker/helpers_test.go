package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/internal/pgtest"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/screenshots"
	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/worker"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const passphrase = "worker test passphrase"

// world is a store with the read models runners need, the commands, a
// screenshot store, a page server on 127.0.0.1 and the folder under which
// every browser of the test lives.
type world struct {
	t         testing.TB
	h         *projectiontest.Harness
	log       *commands.Log
	features  *commands.Features
	variables *commands.Variables
	runs      *commands.Runs
	queue     *projections.RunQueueReader
	shots     *screenshots.Store
	mux       *http.ServeMux
	url       string
	browsers  string
	author    access.Actor
}

func newWorld(t testing.TB) *world {
	t.Helper()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	h := projectiontest.New(t, reg, projections.NewFeatures(), projections.NewVariables(), projections.NewRunQueue(), projections.NewRuns())
	log := commands.NewLog(h.Store, reg)
	fr, vr, qr := projections.NewFeatureReader(h.Pool), projections.NewVariableReader(h.Pool),
		projections.NewRunQueueReader(h.Pool)
	ids := commands.NewIDs(log, func(ctx context.Context, kind string) (int64, error) {
		switch kind {
		case commands.FeatureKind:
			return fr.MaxID(ctx)
		case commands.VariableKind:
			return vr.MaxID(ctx)
		default:
			return qr.MaxID(ctx, kind)
		}
	})
	shots, err := screenshots.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	browsers, err := os.MkdirTemp("", "cw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(browsers) })
	author, err := access.Account(5, role.Devops, []int64{3})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, h: h, log: log, queue: qr, shots: shots, browsers: browsers, author: author,
		features:  commands.NewFeatures(log, ids, steps.NewCatalogue(), fr),
		variables: commands.NewVariables(log, ids, vr, passphrase),
		runs:      commands.NewRuns(log, ids, commands.RunsConfig{Library: fr, Variables: qr, Running: qr}),
		mux:       http.NewServeMux(),
	}
	srv := httptest.NewServer(w.mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL

	h.Append("department-3", &eventschemas.DepartmentCreated{DepartmentID: 3, Name: "QA"})
	h.Append("application-1", &eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Shop"})
	h.Append("environment-2", &eventschemas.EnvironmentCreated{EnvironmentID: 2, Name: "staging"})
	h.Sync()
	t.Cleanup(w.checkNoBrowser)
	return w
}

// page serves a fixed HTML body at path.
func (w *world) page(path, body string) {
	w.mux.HandleFunc(path, func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(rw, body)
	})
}

// startWorker runs a worker until the test ends, or until the returned
// stop is called (which waits for Run to return).
func (w *world) startWorker(name string, change func(*worker.Config)) (stop func()) {
	w.t.Helper()
	cfg := worker.Config{Identity: name, PollInterval: 100 * time.Millisecond, TempDir: w.browsers,
		Passphrase: passphrase, Logger: testLogger(w.t, name)}
	if change != nil {
		change(&cfg)
	}
	wk := worker.New(worker.Deps{Log: w.log, Runs: w.runs, Queue: w.queue, Screenshots: w.shots,
		Variables: w.variables, Config: cfg})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- wk.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				w.t.Errorf("worker %s: %v", name, err)
			}
		})
	}
	w.t.Cleanup(stop)
	return stop
}

// step is an enabled step.
func step(content string) feature.Step {
	return feature.Step{Keyword: "Given", Content: content, Enabled: true}
}

// timed is an enabled step with a timeout in seconds.
func timed(content string, seconds int) feature.Step {
	return feature.Step{Keyword: "Given", Content: content, Enabled: true, Timeout: seconds}
}

// feature creates a feature of department 3 with the steps.
func (w *world) feature(name string, list ...feature.Step) int64 {
	w.t.Helper()
	d := feature.Definition{FeatureName: name, AppID: 1, EnvironmentID: 2, DepartmentID: 3, Steps: list}
	id, res, err := w.features.Create(context.Background(), w.meta(), w.author, d)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sync(res.Position)
	return id
}

func (w *world) meta() commands.Meta { return commands.Meta{Actor: "account-5", Now: time.Now()} }

func (w *world) sync(pos eventstore.Position) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.h.Manager.WaitFor(ctx, pos); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) request(featureID int64) commands.RunRequestResult {
	w.t.Helper()
	out, err := w.runs.Request(context.Background(), w.meta(), w.author, commands.RunInput{FeatureID: featureID})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// wait waits (at most two minutes) until every result of a run finished.
func (w *world) wait(runID int64) map[int64]string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	statuses, err := w.runs.WaitFinished(ctx, runID)
	if err != nil {
		w.t.Fatal(err)
	}
	return statuses
}

// runOnce requests a run of a one-browser feature and waits for its end.
func (w *world) runOnce(featureID int64) (int64, string) {
	w.t.Helper()
	out := w.request(featureID)
	id := out.ResultIDs[0]
	return id, w.wait(out.RunID)[id]
}

// events returns the decoded events of a result's stream.
func (w *world) events(resultID int64) []eventschemas.Payload {
	w.t.Helper()
	history, _, err := w.log.Load(context.Background(), run.ResultStream(resultID))
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]eventschemas.Payload, len(history))
	for i, r := range history {
		out[i] = r.Payload
	}
	return out
}

// stepsOf returns the StepRecorded events of a result.
func (w *world) stepsOf(resultID int64) []*eventschemas.StepRecorded {
	var out []*eventschemas.StepRecorded
	for _, p := range w.events(resultID) {
		if s, ok := p.(*eventschemas.StepRecorded); ok {
			out = append(out, s)
		}
	}
	return out
}

// finished returns the ResultFinished of a result.
func (w *world) finished(resultID int64) *eventschemas.ResultFinished {
	w.t.Helper()
	for _, p := range w.events(resultID) {
		if f, ok := p.(*eventschemas.ResultFinished); ok {
			return f
		}
	}
	w.t.Fatalf("result %d has not finished", resultID)
	return nil
}

// waitEvent follows the log until an event of the result's stream
// satisfies match, and returns it.
func (w *world) waitEvent(resultID int64, match func(eventschemas.Payload) bool) eventschemas.Payload {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sub, err := w.h.Store.SubscribeAll(ctx, eventstore.Position{})
	if err != nil {
		w.t.Fatal(err)
	}
	defer sub.Close()
	stream := run.ResultStream(resultID)
	for {
		ev, err := sub.Recv()
		if err != nil {
			w.t.Fatalf("waiting for an event of %s: %v", stream, err)
		}
		if ev.Stream != stream {
			continue
		}
		p, err := w.log.Registry().Decode(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			w.t.Fatal(err)
		}
		if match(p) {
			return p
		}
	}
}

// started waits for the result to start and returns its browser's PID.
func (w *world) started(resultID int64) int {
	w.t.Helper()
	p := w.waitEvent(resultID, func(p eventschemas.Payload) bool {
		_, ok := p.(*eventschemas.ResultStarted)
		return ok
	})
	return p.(*eventschemas.ResultStarted).PID
}

// recorded waits until step seq of the result is recorded.
func (w *world) recorded(resultID int64, seq int) *eventschemas.StepRecorded {
	w.t.Helper()
	p := w.waitEvent(resultID, func(p eventschemas.Payload) bool {
		s, ok := p.(*eventschemas.StepRecorded)
		return ok && s.Sequence == seq
	})
	return p.(*eventschemas.StepRecorded)
}

// alive lists the live processes of the test's browsers: every Chromium
// process names its profile folder, which lies under w.browsers.
func (w *world) alive() []int {
	w.t.Helper()
	live, err := browser.LiveProcesses(-1, w.browsers)
	if err != nil {
		w.t.Fatal(err)
	}
	return live
}

func (w *world) checkNoBrowser() {
	if live := w.alive(); len(live) > 0 {
		w.t.Errorf("browser processes of the test still alive: %v", live)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// testLogger sends warnings and errors to the test's log.
func testLogger(t testing.TB, name string) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})).
		With("worker", name)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
