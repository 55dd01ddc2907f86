package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/worker"
)

const helloPage = `<!doctype html><html><head><title>Hello</title></head><body>
<h1 id="greeting">Hello, world</h1>
<button id="go" onclick="document.getElementById('out').textContent = 'clicked ' + document.getElementById('name').value">Go</button>
<input id="name"><p id="out"></p></body></html>`

// typeName returns the event type names of payloads.
func typeNames(events []eventschemas.Payload) []string {
	out := make([]string, len(events))
	for i, p := range events {
		out[i] = p.EventType()
	}
	return out
}

// TestRunEndToEnd executes a small feature through a worker: the events
// come in order, one StepRecorded per step with its time, and the
// screenshots are in the store.
func TestRunEndToEnd(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	w.startWorker("runner-a", nil)
	shot := step(`I can see "Hello, world"`)
	shot.Screenshot = true
	id := w.feature("Hello",
		step(`StartBrowser and call URL "`+w.url+`/hello"`),
		shot,
		step(`Set value "Zoë" on "#name"`),
		step(`I can click on element with css selector "#go"`),
		step(`I can see "clicked Zoë"`),
	)

	result, status := w.runOnce(id)
	if status != eventschemas.StatusSuccess {
		t.Fatalf("status %s: %+v", status, w.finished(result))
	}
	want := []string{"ResultAllocated", "ResultClaimed", "ResultStarted",
		"StepRecorded", "StepRecorded", "ScreenshotTaken", "StepRecorded", "StepRecorded", "StepRecorded",
		"ResultFinished"}
	if diff := cmp.Diff(want, typeNames(w.events(result))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	recorded := w.stepsOf(result)
	for i, s := range recorded {
		if s.Sequence != i+1 || s.Index != i || s.Status != eventschemas.StatusSuccess || !s.Success || s.StepID == "" {
			t.Errorf("step %d: %+v", i+1, s)
		}
		if s.ExecutionTimeMS <= 0 && i == 0 {
			t.Errorf("step %d has no execution time", i+1)
		}
	}
	if got := recorded[1]; got.StepName != `I can see "Hello, world"` || got.Current == "" || len(got.Screenshots) != 1 {
		t.Errorf("screenshot step: %+v", got)
	} else if ok, err := w.shots.Exists(got.Current); err != nil || !ok {
		t.Errorf("screenshot %s not in the store: %v", got.Current, err)
	}
	f := w.finished(result)
	if !f.Success || f.NotReached != 0 || !strings.Contains(f.Log, "Step 5: ") {
		t.Errorf("finish: %+v", f)
	}
	for _, p := range w.events(result) {
		if s, ok := p.(*eventschemas.ResultStarted); ok && (s.PID == 0 || !strings.Contains(s.BrowserVersion, "Chrome")) {
			t.Errorf("start: %+v", s)
		}
	}
}

// TestKill kills a result in the middle of a long step: the step stops
// within 2 s, the result ends Canceled and its browser is gone.
func TestKill(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	w.startWorker("runner-a", nil)
	id := w.feature("Slow",
		step(`StartBrowser and call URL "`+w.url+`/hello"`),
		step(`I sleep "60" seconds`),
		step(`I can see "Hello, world"`),
	)
	out := w.request(id)
	result := out.ResultIDs[0]
	pid := w.started(result)
	w.recorded(result, 1)

	start := time.Now()
	_, changed, err := w.runs.KillResult(context.Background(), w.meta(), result, out.RunID, "killed by the test", 5)
	if err != nil || !changed {
		t.Fatalf("kill: %v, %v", changed, err)
	}
	aborted := w.recorded(result, 2)
	stopped := time.Since(start)
	status := w.wait(out.RunID)[result]
	t.Logf("kill to the step's end: %v, to Canceled: %v", stopped, time.Since(start))
	if stopped > 2*time.Second {
		t.Errorf("the step in progress took %v to stop after the kill, want at most 2s", stopped)
	}
	if aborted.Status != eventschemas.StatusFailed {
		t.Errorf("the step in progress after the kill: %+v", aborted)
	}
	if status != eventschemas.StatusCanceled {
		t.Fatalf("status after kill: %s", status)
	}
	f := w.finished(result)
	if f.Reason != "killed by the test" || f.NotReached != 1 {
		t.Errorf("finish: %+v", f)
	}
	steps := w.stepsOf(result)
	if len(steps) != 2 || steps[1].Status != eventschemas.StatusFailed || !strings.Contains(steps[1].Error, "aborted") {
		t.Errorf("steps after kill: %+v", steps)
	}
	if group, err := browser.LiveProcesses(pid, ""); err != nil || len(group) > 0 {
		t.Errorf("live processes of the killed browser's group %d: %v, %v", pid, group, err)
	}
	if live := w.alive(); len(live) > 0 {
		t.Errorf("browser processes alive after the kill: %v", live)
	}
}

// TestKillFeatureBeforeStart kills a feature whose result waits in the
// queue: it ends Canceled without a browser.
func TestKillFeatureQueued(t *testing.T) {
	w := newWorld(t)
	id := w.feature("Queued", step(`Goto URL "`+w.url+`/"`))
	out := w.request(id)
	w.sync(out.Position)
	killed, _, err := w.runs.KillFeature(context.Background(), w.meta(), id, "", 5)
	if err != nil || len(killed) != 1 {
		t.Fatalf("kill feature: %v, %v", killed, err)
	}
	w.startWorker("runner-a", nil)
	if status := w.wait(out.RunID)[out.ResultIDs[0]]; status != eventschemas.StatusCanceled {
		t.Errorf("status %s", status)
	}
	for _, p := range w.events(out.ResultIDs[0]) {
		if _, ok := p.(*eventschemas.ResultClaimed); ok {
			t.Error("a killed queued result was claimed")
		}
	}
}

// TestStepTimeoutAndBrowserCrash: a page that never loads fails its step
// with the timeout message; a browser killed mid-run fails the result with
// the reason; the worker goes on serving.
func TestStepTimeoutAndBrowserCrash(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	w.mux.HandleFunc("/never", func(rw http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	w.startWorker("runner-a", nil)

	never := w.feature("Never loads",
		timed(`StartBrowser and call URL "`+w.url+`/never"`, 2),
		step(`I can see "Hello, world"`))
	result, status := w.runOnce(never)
	if status != eventschemas.StatusFailed {
		t.Fatalf("never-loading page: status %s", status)
	}
	steps := w.stepsOf(result)
	if len(steps) != 1 || steps[0].Error != "Step took more than configured time: 2s." {
		t.Errorf("never-loading page: steps %+v", steps)
	}
	if f := w.finished(result); f.NotReached != 1 || f.Reason != "Step took more than configured time: 2s." {
		t.Errorf("never-loading page: finish %+v", f)
	}
	if live := w.alive(); len(live) > 0 {
		t.Errorf("browser processes alive after the step timeout: %v", live)
	}

	slow := w.feature("Crashes",
		step(`StartBrowser and call URL "`+w.url+`/hello"`),
		step(`I sleep "60" seconds`),
		step(`I can see "Hello, world"`))
	out := w.request(slow)
	crashed := out.ResultIDs[0]
	pid := w.started(crashed)
	w.recorded(crashed, 1)
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if status := w.wait(out.RunID)[crashed]; status != eventschemas.StatusFailed {
		t.Fatalf("crashed browser: status %s", status)
	}
	if f := w.finished(crashed); !strings.Contains(f.Reason, "the browser crashed") {
		t.Errorf("crashed browser: reason %q", f.Reason)
	}
	if live := w.alive(); len(live) > 0 {
		t.Errorf("browser processes alive after the crash: %v", live)
	}

	fine := w.feature("Fine", step(`StartBrowser and call URL "`+w.url+`/hello"`))
	if _, status := w.runOnce(fine); status != eventschemas.StatusSuccess {
		t.Errorf("the worker does not go on serving: %s", status)
	}
}

// TestBadInput: each bad feature gives a result with a clear error on the
// failing step, or a refused request, and the worker goes on serving.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	w.startWorker("runner-a", nil)
	start := step(`StartBrowser and call URL "` + w.url + `/hello"`)

	// A feature saved before the catalogue lost one of its steps: stored
	// as it was then, bypassing today's validation.
	old := int64(900)
	w.sync(w.h.Append(fmt.Sprintf("feature-%d", old), &eventschemas.FeatureCreated{FeatureID: old, CreatedBy: 5},
		&eventschemas.FeatureSaved{FeatureID: old, Version: 1, Definition: feature.Definition{
			FeatureName: "Old", AppID: 1, EnvironmentID: 2, DepartmentID: 3,
			Steps: []eventschemas.FeatureStep{
				{StepID: "a", Keyword: "Given", Content: start.Content, Enabled: true, Timeout: 60},
				{StepID: "b", Keyword: "Then", Content: `I teleport to "Mars"`, Enabled: true, Timeout: 60},
			}}}))
	// A feature saved before navigation steps refused file: URLs.
	oldFile := int64(901)
	w.sync(w.h.Append(fmt.Sprintf("feature-%d", oldFile), &eventschemas.FeatureCreated{FeatureID: oldFile, CreatedBy: 5},
		&eventschemas.FeatureSaved{FeatureID: oldFile, Version: 1, Definition: feature.Definition{
			FeatureName: "Old file", AppID: 1, EnvironmentID: 2, DepartmentID: 3,
			Steps: []eventschemas.FeatureStep{
				{StepID: "a", Keyword: "Given", Content: `StartBrowser and call URL "file:///etc/passwd"`,
					Enabled: true, Timeout: 60},
				{StepID: "b", Keyword: "Then", Content: `Save selector "body" value to environment variable "x"`,
					Enabled: true, Timeout: 60},
			}}}))

	var oldResult int64
	for _, tc := range []struct {
		name    string
		feature int64
		failing int // sequence of the failing step
		errText string
	}{
		{"unknown step", old, 1, `unknown step: I teleport to "Mars"`},
		{"file URL", oldFile, 1, `the URL "file:///etc/passwd" has scheme "file"`},
		{"missing element", w.feature("Missing element", start,
			timed(`I can click on element with css selector "#nope"`, 2)), 2, "#nope"},
		{"javascript error", w.feature("JS error", start,
			step(`Run Javascript function "throw new Error('boom')"`)), 2, "boom"},
		{"missing variable", w.feature("Missing variable", start, step(`Set value "$NOPE" on "#name"`)), 2,
			`variable "NOPE" is not defined`},
	} {
		result, status := w.runOnce(tc.feature)
		if tc.feature == old {
			oldResult = result
		}
		if tc.feature == oldFile && containsType(w.events(result), eventschemas.TypeResultStarted) {
			t.Error("a browser started for a feature opening a file: URL")
		}
		steps := w.stepsOf(result)
		if status != eventschemas.StatusFailed || len(steps) < tc.failing {
			t.Errorf("%s: status %s, steps %+v", tc.name, status, steps)
			continue
		}
		if s := steps[tc.failing-1]; s.Status != eventschemas.StatusFailed || !strings.Contains(s.Error, tc.errText) {
			t.Errorf("%s: failing step %+v, want an error with %q", tc.name, s, tc.errText)
		}
		if f := w.finished(result); f.Reason == "" {
			t.Errorf("%s: no reason: %+v", tc.name, f)
		}
	}
	if containsType(w.events(oldResult), eventschemas.TypeResultStarted) {
		t.Error("a browser started for a feature with an unknown step")
	}

	empty := w.feature("Nothing enabled", feature.Step{Keyword: "Given", Content: start.Content})
	if _, err := w.runs.Request(context.Background(), w.meta(), w.author,
		commands.RunInput{FeatureID: empty}); err == nil || !strings.Contains(err.Error(), "No steps found") {
		t.Errorf("request of a feature without enabled steps: %v", err)
	}

	fine := w.feature("Fine", start)
	if _, status := w.runOnce(fine); status != eventschemas.StatusSuccess {
		t.Errorf("the worker does not go on serving: %s", status)
	}
}

func containsType(events []eventschemas.Payload, typ string) bool {
	for _, p := range events {
		if p.EventType() == typ {
			return true
		}
	}
	return false
}

// TestWorkerStop stops a worker in the middle of a run: the result ends
// Failed naming the runner, and no browser is left.
func TestWorkerStop(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	stop := w.startWorker("runner-a", nil)
	id := w.feature("Slow", step(`StartBrowser and call URL "`+w.url+`/hello"`), step(`I sleep "60" seconds`))
	out := w.request(id)
	result := out.ResultIDs[0]
	w.started(result)
	w.recorded(result, 1)
	stop()
	f := w.finished(result)
	if f.Status != eventschemas.StatusFailed || !strings.Contains(f.Reason, "runner-a was stopped") {
		t.Errorf("finish: %+v", f)
	}
	if live := w.alive(); len(live) > 0 {
		t.Errorf("browser processes alive after the worker stopped: %v", live)
	}
}

// TestRemoteBrowser runs a result in a browser reached by its CDP URL: the
// worker uses a context of its own there and leaves the browser running.
func TestRemoteBrowser(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	remote, err := browser.Launch(ctx, browser.Options{TempDir: w.browsers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := remote.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	w.startWorker("runner-a", func(c *worker.Config) { c.RemoteBrowser = remote.ControlURL() })
	id := w.feature("Remote", step(`StartBrowser and call URL "`+w.url+`/hello"`), step(`I can see "Hello, world"`))
	result, status := w.runOnce(id)
	if status != eventschemas.StatusSuccess {
		t.Fatalf("status %s: %+v", status, w.finished(result))
	}
	for _, p := range w.events(result) {
		if s, ok := p.(*eventschemas.ResultStarted); ok && (!s.Remote || s.PID != 0) {
			t.Errorf("start: %+v", s)
		}
	}
	if exited(remote) {
		t.Error("the remote browser was closed by the worker")
	}
}

func exited(b *browser.Browser) bool {
	select {
	case <-b.Exited():
		return true
	default:
		return false
	}
}

// TestSecrets runs steps that use an encrypted variable: it is decrypted
// for the browser only; no event holds its plain text (errors are masked,
// a saved copy is encrypted).
func TestSecrets(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	logs := &lockedBuffer{}
	w.startWorker("runner-a", func(c *worker.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	const secret = "hunter2-Zoë"
	for _, v := range []commands.VariableInput{
		{Name: "PASSWORD", Encrypted: true, Value: secret},
		{Name: "USER", Value: "zoe"},
	} {
		v.DepartmentID, v.EnvironmentID, v.Based = 3, 2, "department"
		_, res, err := w.variables.Create(ctx, w.meta(), w.author, v)
		if err != nil {
			t.Fatal(err)
		}
		w.sync(res.Position)
	}
	assert := step(`Assert "$PASSWORD" to be same as "something else"`)
	assert.ContinueOnFailure = true
	id := w.feature("Secrets", step(`StartBrowser and call URL "`+w.url+`/hello"`),
		step(`Set value "$PASSWORD" on "#name"`),
		step(`I can click on element with css selector "#go"`),
		step(`I can see "clicked $PASSWORD"`),
		step(`Save "$PASSWORD" to environment variable "COPY"`),
		step(`Save "plain-$USER" to environment variable "PLAIN"`),
		assert)
	result, status := w.runOnce(id)
	if status != eventschemas.StatusFailed {
		t.Fatalf("status %s", status)
	}
	steps := w.stepsOf(result)
	if len(steps) != 7 || steps[3].Status != eventschemas.StatusSuccess || steps[6].Status != eventschemas.StatusFailed {
		t.Fatalf("steps: %+v", steps)
	}
	if !strings.Contains(steps[6].Error, "[ENCRYPTED]") {
		t.Errorf("the failing step's error does not mask the secret: %q", steps[6].Error)
	}
	all, err := w.h.Store.ReadAll(ctx, eventstore.Position{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	saved := map[string]eventschemas.VariableValue{}
	for _, ev := range all {
		if strings.Contains(string(ev.Data), "hunter2") {
			t.Errorf("event %s of %s holds the secret", ev.Type, ev.Stream)
		}
		if ev.Type == eventschemas.TypeVariableSet {
			p, err := w.log.Registry().Decode(ev.Type, ev.SchemaVersion, ev.Data)
			if err != nil {
				t.Fatal(err)
			}
			v := p.(*eventschemas.VariableSet)
			saved[v.Name] = v.Value
		}
	}
	if !saved["COPY"].Encrypted() || saved["PLAIN"].Encrypted() || saved["PLAIN"].Text() != "plain-zoe" {
		t.Errorf("saved variables: COPY %v, PLAIN %v %q", saved["COPY"], saved["PLAIN"], saved["PLAIN"].Text())
	}
	if out := logs.String(); !strings.Contains(out, "run finished") || strings.Contains(out, "hunter2") {
		t.Errorf("the runner's log (debug level) holds the secret or nothing:\n%s", out)
	}
}

// lockedBuffer is a log destination that goroutines share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBrowserDoesNotStart: a browser that cannot start fails the result
// with the reason, before any step.
func TestBrowserDoesNotStart(t *testing.T) {
	w := newWorld(t)
	w.startWorker("runner-a", func(c *worker.Config) { c.BrowserBin = "/nonexistent/chromium" })
	id := w.feature("No browser", step(`Goto URL "`+w.url+`/"`), step(`I can see "x"`))
	result, status := w.runOnce(id)
	f := w.finished(result)
	if status != eventschemas.StatusFailed || !strings.Contains(f.Reason, "the browser did not start") ||
		f.NotReached != 2 || len(w.stepsOf(result)) != 0 {
		t.Errorf("status %s, finish %+v", status, f)
	}
}

// A feature that runs another inside its Loop was fine when saved; once
// the other gains a Loop of its own, a run request of the first is refused
// naming the other, before a result exists or a browser starts.
func TestNestedLoopThroughSubfeatureRefused(t *testing.T) {
	w := newWorld(t)
	inner := w.feature("Inner", step(`Press Enter`))
	outer := w.feature("Outer", step(`Loop "2" times starting at "1" and do`),
		step(fmt.Sprintf(`Run feature with id "%d" before continuing`, inner)), step(`End Loop`))
	saved, err := w.features.Save(context.Background(), w.meta(), w.author, inner, 0,
		func(_ context.Context, d feature.Definition) (feature.Definition, error) {
			d.Steps = []feature.Step{step(`Loop "3" times starting at "1" and do`), step(`Press Enter`), step(`End Loop`)}
			return d, nil
		})
	if err != nil {
		t.Fatalf("a loop in the inner feature alone: %v", err)
	}
	w.sync(saved.Position)

	_, err = w.runs.Request(context.Background(), w.meta(), w.author, commands.RunInput{FeatureID: outer})
	if !errors.Is(err, domain.ErrInvalid) || !errors.Is(err, feature.ErrMultiLevelLoop) ||
		!strings.Contains(err.Error(), fmt.Sprintf("feature %d", inner)) {
		t.Fatalf("run request: %v, want invalid nested loops naming feature %d", err, inner)
	}
	if live := w.alive(); len(live) > 0 {
		t.Errorf("browser processes for a refused run: %v", live)
	}
}

// TestVariablePrecedence defines one name in the department, the
// environment and the feature, and names that share a prefix: the run,
// through the store and the run's snapshot of the variables, sees the
// feature's value over the environment's over the department's, and $user
// does not rewrite $username.
func TestVariablePrecedence(t *testing.T) {
	w := newWorld(t)
	w.page("/hello", helloPage)
	w.startWorker("runner-a", nil)
	ctx := context.Background()
	id := w.feature("Precedence", step(`StartBrowser and call URL "`+w.url+`/hello"`),
		step(`Assert "$HOST|${ONLY_UP}|$username|$user|${user}name" to be same as "feat|env|alice|u|uname"`))
	for _, v := range []commands.VariableInput{
		{Name: "HOST", Based: eventschemas.BasedDepartment, Value: "dep"},
		{Name: "HOST", Based: eventschemas.BasedEnvironment, Value: "env"},
		{Name: "HOST", Based: eventschemas.BasedFeature, FeatureID: id, Value: "feat"},
		{Name: "ONLY_UP", Based: eventschemas.BasedDepartment, Value: "dep"},
		{Name: "ONLY_UP", Based: eventschemas.BasedEnvironment, Value: "env"},
		{Name: "user", Based: eventschemas.BasedDepartment, Value: "u"},
		{Name: "username", Based: eventschemas.BasedDepartment, Value: "alice"},
	} {
		v.DepartmentID, v.EnvironmentID = 3, 2
		_, res, _, err := w.variables.Put(ctx, w.meta(), w.author, v)
		if err != nil {
			t.Fatalf("%s (%s): %v", v.Name, v.Based, err)
		}
		w.sync(res.Position)
	}
	result, status := w.runOnce(id)
	if steps := w.stepsOf(result); status != eventschemas.StatusSuccess || len(steps) != 2 {
		t.Fatalf("status %s, steps %+v", status, steps)
	}
}

// TestStoppedWhileStarting: a worker whose context ends before it follows
// the log returns nil, as for any stop, and claims nothing.
func TestStoppedWhileStarting(t *testing.T) {
	w := newWorld(t)
	id := w.feature("Never claimed", step(`Goto URL "`+w.url+`/"`))
	out := w.request(id)
	w.sync(out.Position)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wk := worker.New(worker.Deps{Log: w.log, Runs: w.runs, Queue: w.queue, Screenshots: w.shots,
		Config: worker.Config{Identity: "runner-stopped", TempDir: w.browsers, Passphrase: passphrase,
			Logger: testLogger(t, "runner-stopped")}})
	if err := wk.Run(ctx); err != nil {
		t.Errorf("Run with an ended context: %v, want nil", err)
	}
	if containsType(w.events(out.ResultIDs[0]), eventschemas.TypeResultClaimed) {
		t.Error("a worker stopped while starting claimed a result")
	}
}
