package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cometa-es/cometa/runner/variables"
)

// handler executes one step. ctx carries the step's timeout; every browser
// call a handler makes is bounded by it.
type handler func(ctx context.Context, x *stepRun) error

// stepRun is one execution of one step.
type stepRun struct {
	r       *runState
	s       *Session
	index   int
	step    Step
	match   Match
	args    map[string]string
	timeout time.Duration
	setVars map[string]string

	// Results of control steps.
	cond                 bool
	loopCount, loopStart int
}

func (x *stepRun) arg(name string) string { return x.args[name] }

// noteVar records a variable the step created or compared, for the step
// result; secrets are masked when the result is built.
func (x *stepRun) noteVar(name, value string) {
	if x.setVars == nil {
		x.setVars = map[string]string{}
	}
	x.setVars[name] = value
}

// block executes steps [from, to) and returns errStop after a hard
// failure, errBreak/errContinue from loop control, or an error that ends
// the run (report failure, cancellation).
func (r *runState) block(ctx context.Context, from, to int) error {
	for i := from; i < to; i++ {
		switch r.matches[i].def.kind {
		case kindLoop:
			x, ok, err := r.exec(ctx, i)
			if err != nil {
				return err
			}
			end := r.flow.end[i]
			if ok {
				if err := r.loop(ctx, i, end, x); err != nil {
					return err
				}
			}
			i = end - 1 // End Loop runs next
		case kindIf:
			x, ok, err := r.exec(ctx, i)
			if err != nil {
				return err
			}
			if err := r.branches(ctx, i, ok && x.cond, ok); err != nil {
				return err
			}
			i = r.flow.end[i] - 1 // End If runs next
		case kindBreakLoop, kindContinueLoop:
			_, ok, err := r.exec(ctx, i)
			if err != nil {
				return err
			}
			if ok && r.matches[i].def.kind == kindBreakLoop {
				return errBreak
			}
			if ok {
				return errContinue
			}
		default:
			if _, _, err := r.exec(ctx, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// loop runs the body of the Loop at i (its End Loop at end) x.loopCount
// times with the job parameter index counting from x.loopStart.
func (r *runState) loop(ctx context.Context, i, end int, x *stepRun) error {
	defer r.vars.DeleteParam("index")
	for k := range x.loopCount {
		r.vars.SetParam("index", strconv.Itoa(x.loopStart+k))
		err := r.block(ctx, i+1, end)
		switch {
		case errors.Is(err, errBreak):
			return nil
		case errors.Is(err, errContinue), err == nil:
		default:
			return err
		}
	}
	return nil
}

// branches runs the active branch of the If at i and reports the steps of
// the inactive one as Skipped. When the If itself failed (and the run goes
// on), both branches are skipped.
func (r *runState) branches(ctx context.Context, i int, cond, evaluated bool) error {
	end, els := r.flow.end[i], r.flow.elseAt[i]
	thenEnd := end
	if els >= 0 {
		thenEnd = els
	}
	if cond {
		if err := r.block(ctx, i+1, thenEnd); err != nil {
			return err
		}
	} else if err := r.skip(ctx, i+1, thenEnd); err != nil {
		return err
	}
	if els < 0 {
		return nil
	}
	if _, _, err := r.exec(ctx, els); err != nil {
		return err
	}
	if !cond && evaluated {
		return r.block(ctx, els+1, end)
	}
	return r.skip(ctx, els+1, end)
}

// skip reports steps [from, to) as Skipped without executing them.
func (r *runState) skip(ctx context.Context, from, to int) error {
	for i := from; i < to; i++ {
		r.seq++
		r.ok++
		res := StepResult{Sequence: r.seq, Index: i, Name: r.matches[i].Sentence,
			Status: StatusSkipped, Success: true}
		if err := r.run.Report(context.WithoutCancel(ctx), res); err != nil {
			return fmt.Errorf("report step %d: %w", r.seq, err)
		}
	}
	return nil
}

// exec executes step i and reports it. ok says whether it succeeded; err
// is non-nil when the run must stop.
func (r *runState) exec(ctx context.Context, i int) (x *stepRun, ok bool, err error) {
	if ctx.Err() != nil {
		// Canceled between steps: this one is never reached.
		r.stoppedAt = i - 1
		return nil, false, ctx.Err()
	}
	m := r.matches[i]
	step := r.run.Steps[i]
	timeout := step.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	timeout = min(timeout, MaxTimeout)
	x = &stepRun{r: r, s: r.s, index: i, step: step, match: m, timeout: timeout}

	r.seq++
	// A custom error message applies to the step right after the one that
	// defined it, whatever that step is.
	custom := r.customError
	r.customError = ""
	start := time.Now()
	herr := r.prepare(x)
	if herr == nil {
		sctx, cancel := context.WithTimeoutCause(ctx, timeout, errStepTimeout)
		herr = r.call(sctx, x)
		herr = r.explain(ctx, sctx, herr, timeout)
		cancel()
	}
	res := StepResult{
		Sequence:      r.seq,
		Index:         i,
		Name:          m.Sentence,
		Status:        StatusSuccess,
		Success:       true,
		ExecutionTime: time.Since(start),
	}
	if len(x.setVars) > 0 {
		res.Variables = make(map[string]string, len(x.setVars))
		for k, v := range x.setVars {
			res.Variables[k] = r.vars.Mask(v)
		}
	}
	if herr != nil {
		res.Status, res.Success = StatusFailed, false
		res.Error = r.vars.Mask(userMessage(herr))
		if custom != "" {
			res.Error = custom
		}
		r.fails++
		if r.firstError == "" {
			r.firstError = res.Error
		}
	} else {
		r.ok++
	}
	if (step.Screenshot || herr != nil) && !m.def.noScreenshot && ctx.Err() == nil {
		res.Screenshot = r.s.screenshot(ctx)
	}
	r.s.log.DebugContext(ctx, "step done", "sequence", res.Sequence, "index", i,
		"status", res.Status, "duration_ms", res.ExecutionTime.Milliseconds())

	if rerr := r.run.Report(context.WithoutCancel(ctx), res); rerr != nil {
		r.stoppedAt = i
		return x, false, fmt.Errorf("report step %d: %w", res.Sequence, rerr)
	}
	switch {
	case ctx.Err() != nil:
		r.stoppedAt = i
		return x, false, ctx.Err()
	case herr == nil:
		return x, true, nil
	case errors.Is(herr, errBrowserGone), errors.Is(herr, errHandlerStuck):
		r.stoppedAt = i
		return x, false, errStop
	case !step.ContinueOnFailure:
		r.stoppedAt = i
		return x, false, errStop
	}
	return x, false, nil
}

// prepare substitutes variables in the step's values and docstring and
// checks the values the step's definition checks.
func (r *runState) prepare(x *stepRun) error {
	d := x.match.def
	x.args = make(map[string]string, len(x.match.Values)+1)
	if d.raw {
		for k, v := range x.match.Values {
			x.args[k] = v
		}
		return nil
	}
	for name, v := range x.match.Values {
		mode := variables.Strict
		if slices.Contains(d.lenient, name) {
			mode = variables.Lenient
		}
		out, err := r.vars.Expand(v, mode)
		if err != nil {
			return err
		}
		x.args[name] = out
	}
	if d.docstring != "" && x.match.Docstring != "" {
		mode := variables.Strict
		if slices.Contains(d.lenient, d.docstring) {
			mode = variables.Lenient
		}
		out, err := r.vars.Expand(x.match.Docstring, mode)
		if err != nil {
			return err
		}
		x.args[d.docstring] = out
	}
	return checkValues(x.match, x.args, false)
}

// errHandlerStuck: a handler did not return after its context ended. The
// run stops, since the handler may still be using the browser.
var errHandlerStuck = errors.New("step did not stop in time")

// stuckGrace is how long a handler gets to return after its context ended.
const stuckGrace = time.Second

// call runs the handler, stopping to wait for it shortly after ctx ends
// even if it ignores ctx, so that a kill ends the step promptly.
//
// TODO(runner): a handler abandoned this way keeps running until its own
// browser calls return (they are bounded by ctx, so only a handler that
// blocks outside them stays); the run stops so it cannot race a later step.
func (r *runState) call(ctx context.Context, x *stepRun) error {
	if x.match.def.run == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("internal error in step %q: %v", x.match.Pattern, p)
			}
		}()
		done <- x.match.def.run(ctx, x)
	}()
	select {
	case err := <-done:
		return err
	case <-r.s.b.Exited():
		return fmt.Errorf("%w: the browser process exited", errBrowserGone)
	case <-ctx.Done():
		t := time.NewTimer(stuckGrace)
		defer t.Stop()
		select {
		case err := <-done:
			return err
		case <-t.C:
			return errHandlerStuck
		}
	}
}

// explain turns what a handler returned into the step's error: the
// cancellation of the run, Cometa's timeout message, or the handler's own.
func (r *runState) explain(runCtx, stepCtx context.Context, err error, timeout time.Duration) error {
	if runCtx.Err() != nil {
		return failf("aborted: the run was canceled")
	}
	if err == nil {
		return nil
	}
	var f *failure
	if err != nil && !isCtxErr(err) && (stepCtx.Err() == nil || errors.As(err, &f)) {
		if f == nil && isConnectionLost(err) {
			return fmt.Errorf("%w: %w", errBrowserGone, err)
		}
		return err
	}
	if errors.Is(context.Cause(stepCtx), errStepTimeout) {
		return &failure{msg: fmt.Sprintf("Step took more than configured time: %ss.", seconds(timeout)), cause: err}
	}
	return err
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
