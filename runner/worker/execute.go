package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-rod/rod/lib/proto"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/internal/cryptojs"
	"github.com/cometa-es/cometa/runner/browser"
	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
)

// Time limits of the parts of an execution around the steps.
const (
	browserStartTimeout = time.Minute
	browserCloseTimeout = 30 * time.Second
	finishTimeout       = 30 * time.Second
)

// execution is one result this worker is claiming or executing.
type execution struct {
	ref    run.Ref
	cancel context.CancelCauseFunc
}

// killedError is the cancellation cause of a killed result.
type killedError struct{ reason string }

func (k *killedError) Error() string { return k.reason }

// errLost is the cancellation cause of a result this worker no longer
// holds (its lease was taken over).
var errLost = errors.New("the runner lost the result")

func (x *execution) kill(reason string) {
	if reason == "" {
		reason = "aborted: the run was killed"
	}
	x.cancel(&killedError{reason: reason})
}

// outcome is how an execution ended, for ResultFinished.
type outcome struct {
	status     string
	reason     string
	log        string
	notReached int
	// lost: the worker no longer holds the result and records nothing.
	lost bool
}

// execute claims and executes one result. Every way out finishes the
// result (unless another runner took it over) after closing its browser.
func (w *Worker) execute(ctx context.Context, ref run.Ref) {
	xctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	x := &execution{ref: ref, cancel: cancel}
	if !w.register(x) {
		return
	}
	defer w.unregister(ref.FeatureResultID)
	logger := w.log.With("feature_result_id", ref.FeatureResultID, "run_id", ref.RunID)

	loaded, err := w.d.Runs.LoadRun(ctx, ref.RunID)
	if err != nil {
		if ctx.Err() == nil {
			logger.WarnContext(ctx, "load the run of a queued result", "err", err)
		}
		return
	}
	// TODO(runner): every browser object runs in the local Chromium (or
	// the remote browser): browser, version and cloud of the object are
	// recorded, not honoured.
	var browserObj json.RawMessage
	for _, r := range loaded.Requested.Results {
		if r.FeatureResultID == ref.FeatureResultID {
			browserObj = r.Browser
		}
	}
	if browserObj == nil {
		logger.WarnContext(ctx, "queued result is not one of its run's")
		return
	}

	now := w.cfg.Now()
	meta := w.meta(loaded.Envelope.CorrelationID, now)
	held, err := w.d.Runs.Claim(ctx, meta, ref.FeatureResultID, ref.RunID, w.cfg.Identity, now.Add(w.cfg.Lease),
		w.cfg.Now)
	switch {
	case errors.Is(err, domain.ErrConflict):
		logger.DebugContext(ctx, "result claimed elsewhere", "err", err)
		return
	case errors.Is(err, domain.ErrNotFound):
		// Removed (with its run), or its department deleted, while it
		// waited in the queue: such results are not executed.
		logger.DebugContext(ctx, "queued result was removed or its department deleted", "err", err)
		return
	case err != nil:
		if ctx.Err() == nil {
			logger.WarnContext(ctx, "claim a result", "err", err)
		}
		return
	}
	start := time.Now()
	logger.InfoContext(ctx, "result claimed", "feature_id", loaded.Requested.FeatureID,
		"feature_version", loaded.Requested.FeatureVersion, "steps", len(loaded.Requested.Steps))

	rctx, stopRenew := context.WithCancel(xctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		w.renew(rctx, held, cancel)
	}()
	out := w.runResult(xctx, held, loaded.Requested, browserObj, loaded.Envelope.CorrelationID)
	stopRenew()
	<-renewed

	if out.lost {
		logger.InfoContext(ctx, "result taken over by another runner; stopped", "duration_ms",
			time.Since(start).Milliseconds())
		return
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer fcancel()
	status, err := held.Finish(fctx, out.status, out.reason, out.log, out.notReached)
	if err != nil {
		logger.ErrorContext(ctx, "finish a result", "err", err)
		return
	}
	logger.InfoContext(ctx, "result finished", "status", status, "duration_ms", time.Since(start).Milliseconds())
}

func (w *Worker) register(x *execution) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active[x.ref.FeatureResultID] != nil {
		return false
	}
	w.active[x.ref.FeatureResultID] = x
	return true
}

func (w *Worker) unregister(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.active, id)
}

// renew extends the lease at a third of its length until ctx ends. A
// lease that another runner took over cancels the execution.
//
// TODO(runner): leases compare the claimer's clock (LeaseUntil) with the
// detector's (Now); runners whose clocks differ by more than a lease can
// end each other's live results.
func (w *Worker) renew(ctx context.Context, held *commands.Held, cancel context.CancelCauseFunc) {
	t := time.NewTicker(w.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := held.Renew(ctx, w.cfg.Now().Add(w.cfg.Lease))
		switch {
		case errors.Is(err, run.ErrNotHolder):
			cancel(errLost)
			return
		case err != nil && ctx.Err() == nil:
			w.log.WarnContext(ctx, "renew a lease", "feature_result_id", held.ID(), "err", err)
		}
	}
}

// runResult executes the steps of req in a browser of its own and says
// how the result ended. The browser is closed before it returns.
func (w *Worker) runResult(ctx context.Context, held *commands.Held, req eventschemas.RunRequested,
	browserObj json.RawMessage, correlation string) outcome {
	rec := newRecorder(w, held, req, browserObj, correlation)
	if out, bad := rec.checkSteps(ctx); bad {
		return out
	}

	b, err := w.openBrowser(ctx)
	if err != nil {
		if out, stopped := w.stopped(ctx, rec); stopped {
			return out
		}
		return rec.outcome(eventschemas.StatusFailed, "the browser did not start: "+err.Error(), len(req.Steps))
	}
	closeBrowser := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), browserCloseTimeout)
		defer cancel()
		if err := b.Close(cctx); err != nil {
			w.log.ErrorContext(cctx, "close a browser", "feature_result_id", held.ID(), "err", err)
		}
	}
	err = held.Start(ctx, eventschemas.ResultStarted{Browser: browserObj, BrowserVersion: browserVersion(ctx, b),
		PID: b.PID(), Remote: b.Remote(), StartedAt: w.cfg.Now()})
	if err != nil {
		closeBrowser()
		if errors.Is(err, run.ErrNotHolder) {
			return outcome{lost: true}
		}
		return rec.outcome(eventschemas.StatusFailed, err.Error(), len(req.Steps))
	}

	var sink steps.VariableSink
	if w.d.Variables != nil {
		sink = &variableSink{vars: w.d.Variables, req: req, passphrase: w.cfg.Passphrase, correlation: correlation,
			now: w.cfg.Now}
	}
	sess := steps.NewSession(b, steps.Options{Catalogue: w.d.Catalogue, Logger: w.log, UploadsDir: w.cfg.UploadsDir,
		Sink: sink, Decrypter: decrypter(w.cfg.Passphrase), Now: w.cfg.Now})
	sum, runErr := sess.Run(ctx, steps.Run{Steps: stepsOf(req.Steps), Variables: variablesOf(req.Variables),
		Parameters: req.Parameters, Report: rec.report})
	crashed := exited(b)
	scctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), browserCloseTimeout)
	_ = sess.Close(scctx)
	cancel()
	closeBrowser()

	notReached := max(0, sum.Total-rec.count)
	if out, stopped := w.stopped(ctx, rec); stopped {
		out.notReached = notReached
		return out
	}
	switch {
	case rec.lost:
		return outcome{lost: true}
	case crashed:
		reason := "the browser crashed: its process exited during the run"
		if rec.firstError != "" {
			reason += " (" + rec.firstError + ")"
		}
		return rec.outcome(eventschemas.StatusFailed, reason, notReached)
	case runErr != nil:
		return rec.outcome(eventschemas.StatusFailed, rec.mask(runErr.Error()), notReached)
	case sum.Status == steps.StatusFailed || rec.fails > 0:
		reason := sum.Error
		if reason == "" {
			reason = rec.firstError
		}
		return rec.outcome(eventschemas.StatusFailed, reason, notReached)
	default:
		return rec.outcome(eventschemas.StatusSuccess, "", notReached)
	}
}

// stopped reports how an execution ends whose context was canceled: by a
// kill, by losing the lease, or by the worker stopping.
func (w *Worker) stopped(ctx context.Context, rec *recorder) (outcome, bool) {
	if ctx.Err() == nil {
		return outcome{}, false
	}
	cause := context.Cause(ctx)
	var k *killedError
	switch {
	case errors.As(cause, &k):
		return rec.outcome(eventschemas.StatusCanceled, k.reason, 0), true
	case errors.Is(cause, errLost):
		return outcome{lost: true}, true
	default:
		return rec.outcome(eventschemas.StatusFailed,
			fmt.Sprintf("%v: %s was stopped during the run", errStopped, w.cfg.Identity), 0), true
	}
}

func (w *Worker) openBrowser(ctx context.Context) (*browser.Browser, error) {
	opts := browser.Options{Bin: w.cfg.BrowserBin, ResolveAllHosts: w.cfg.ResolveAllHosts, TempDir: w.cfg.TempDir,
		Logger: w.log}
	sctx, cancel := context.WithTimeout(ctx, browserStartTimeout)
	defer cancel()
	if w.cfg.RemoteBrowser != "" {
		return browser.Connect(sctx, w.cfg.RemoteBrowser, opts)
	}
	return browser.Launch(sctx, opts)
}

func browserVersion(ctx context.Context, b *browser.Browser) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := proto.BrowserGetVersion{}.Call(b.Rod().Context(ctx))
	if err != nil {
		return ""
	}
	return v.Product
}

func exited(b *browser.Browser) bool {
	select {
	case <-b.Exited():
		return true
	default:
		return false
	}
}

// stepsOf turns a run's step list into the executor's. A compare step
// always takes a screenshot.
func stepsOf(list []eventschemas.RunStep) []steps.Step {
	out := make([]steps.Step, len(list))
	for i, st := range list {
		out[i] = steps.Step{Content: st.Content, Timeout: time.Duration(st.Timeout) * time.Second,
			Screenshot: st.Screenshot || st.Compare, ContinueOnFailure: st.ContinueOnFailure}
	}
	return out
}

func variablesOf(list []eventschemas.RunVariable) []variables.Variable {
	out := make([]variables.Variable, len(list))
	for i, v := range list {
		out[i] = variables.Variable{Name: v.Name, Value: v.Value.Text(), Scope: variables.Scope(v.Based),
			Encrypted: v.Value.Encrypted()}
	}
	return out
}

// decrypter decrypts variables with the installation's passphrase; it
// exists only inside the runner.
type decrypter string

func (d decrypter) Decrypt(ciphertext string) (string, error) {
	return cryptojs.Decrypt(string(d), ciphertext)
}

// browserKey names a browser object the way baselines are keyed:
// browser-version-device-os-os_version-real_mobile, as Cometa does.
func browserKey(obj json.RawMessage) string {
	var b map[string]any
	_ = json.Unmarshal(obj, &b)
	parts := make([]string, 0, 6)
	for _, k := range []string{"browser", "browser_version", "device", "os", "os_version", "real_mobile"} {
		v, ok := b[k]
		switch {
		case !ok || v == nil:
			parts = append(parts, "None")
		default:
			parts = append(parts, strings.ReplaceAll(fmt.Sprint(v), " ", ""))
		}
	}
	return strings.Join(parts, "-")
}
