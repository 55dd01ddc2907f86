package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"strings"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/runner/imagediff"
	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
)

// recorder turns the executor's step results into events of one result:
// it stores screenshots, records and compares baselines, appends one
// StepRecorded per executed step, and keeps the result's log.
type recorder struct {
	w           *Worker
	held        *commands.Held
	req         eventschemas.RunRequested
	browserKey  string
	correlation string

	occurrences map[string]int
	baselines   *run.Baselines

	count, fails int
	firstError   string
	lost         bool
	log          strings.Builder
}

func newRecorder(w *Worker, held *commands.Held, req eventschemas.RunRequested, browserObj json.RawMessage,
	correlation string) *recorder {
	return &recorder{w: w, held: held, req: req, browserKey: browserKey(browserObj), correlation: correlation,
		occurrences: map[string]int{}}
}

// mask hides the run's secrets in a text that did not come from the
// executor (which masks its own): the plain values of the run's
// unencrypted variables are not secret, so this only hides ciphertext.
func (r *recorder) mask(s string) string {
	for _, v := range r.req.Variables {
		if v.Value.Encrypted() {
			s = strings.ReplaceAll(s, v.Value.Text(), variables.Mask)
		}
	}
	return s
}

func (r *recorder) outcome(status, reason string, notReached int) outcome {
	fmt.Fprintf(&r.log, "Result %s", status)
	if reason != "" {
		fmt.Fprintf(&r.log, ": %s", reason)
	}
	r.log.WriteByte('\n')
	return outcome{status: status, reason: reason, log: r.log.String(), notReached: notReached}
}

// checkSteps refuses, before any browser starts, a step list that the
// catalogue cannot execute (a feature saved before the catalogue or its
// checks changed): each unknown step is recorded as a failed step naming
// the closest known one, each step with a value it refuses (a file: URL)
// as a failed step naming the value, and the result fails. bad is false
// when every step can run.
func (r *recorder) checkSteps(ctx context.Context) (outcome, bool) {
	cat := r.w.d.Catalogue
	var unknown []string
	contents := make([]string, len(r.req.Steps))
	for i, st := range r.req.Steps {
		contents[i] = st.Content
		err := cat.Validate(st.Content)
		if err == nil {
			continue
		}
		msg := fmt.Sprintf("step %d: %v", i+1, err)
		unknown = append(unknown, msg)
		ev := r.stepEvent(i, len(unknown), firstLine(st.Content), eventschemas.StatusFailed, 0, err.Error())
		if out, stop := r.append(ctx, ev, nil); stop {
			return out, true
		}
	}
	if len(unknown) > 0 {
		reason := fmt.Sprintf("the runner cannot run %d of the feature's steps: %s", len(unknown),
			strings.Join(unknown, "; "))
		return r.outcome(eventschemas.StatusFailed, reason, len(r.req.Steps)-len(unknown)), true
	}
	if err := cat.ValidateFlow(contents); err != nil {
		return r.outcome(eventschemas.StatusFailed, err.Error(), len(r.req.Steps)), true
	}
	return outcome{}, false
}

// append records one step; stop is set when the result must end now.
func (r *recorder) append(ctx context.Context, ev eventschemas.StepRecorded, extra []eventschemas.Payload) (
	outcome, bool) {
	if err := r.record(ctx, ev, extra); err != nil {
		if r.lost {
			return outcome{lost: true}, true
		}
		return r.outcome(eventschemas.StatusFailed, err.Error(), 0), true
	}
	return outcome{}, false
}

func (r *recorder) stepEvent(index, seq int, name, status string, ms int64, errText string) eventschemas.StepRecorded {
	st := r.req.Steps[index]
	return eventschemas.StepRecorded{Sequence: seq, Index: index, StepID: st.StepID, StepName: name,
		BelongsTo: st.BelongsTo, Status: status, Success: status != eventschemas.StatusFailed,
		ExecutionTimeMS: ms, Error: errText, Screenshots: []string{}}
}

// record appends a step and keeps the counts and the log.
func (r *recorder) record(ctx context.Context, ev eventschemas.StepRecorded, extra []eventschemas.Payload) error {
	err := r.held.Record(ctx, ev, extra...)
	if errors.Is(err, run.ErrNotHolder) {
		r.lost = true
	}
	if err != nil {
		return err
	}
	r.count++
	if !ev.Success {
		r.fails++
		if r.firstError == "" {
			r.firstError = ev.Error
		}
	}
	fmt.Fprintf(&r.log, "Step %d: %s: %s in %d ms", ev.Sequence, ev.StepName, ev.Status, ev.ExecutionTimeMS)
	if ev.PixelDiff > 0 {
		fmt.Fprintf(&r.log, ", %d pixels differ", ev.PixelDiff)
	}
	if ev.Error != "" {
		fmt.Fprintf(&r.log, ": %s", ev.Error)
	}
	r.log.WriteByte('\n')
	return nil
}

// report is the executor's Report: it stores the step's screenshot,
// compares it when the step asks, and records the step. An error stops
// the run (the result is no longer ours, or the store is unreachable).
func (r *recorder) report(ctx context.Context, res steps.StepResult) error {
	st := r.req.Steps[res.Index]
	ev := r.stepEvent(res.Index, res.Sequence, res.Name, string(res.Status), res.ExecutionTime.Milliseconds(), res.Error)
	ev.Variables = res.Variables
	var extra []eventschemas.Payload
	fail := func(msg string) {
		if ev.Success {
			ev.Status, ev.Success, ev.Error = eventschemas.StatusFailed, false, msg
		} else {
			ev.Error += "; " + msg
		}
	}

	if res.Screenshot != nil {
		name, size, err := r.store(ctx, res.Screenshot)
		if err != nil {
			fail(err.Error())
		} else {
			ev.Current, ev.Screenshots = name, append(ev.Screenshots, name)
			extra = append(extra, &eventschemas.ScreenshotTaken{Name: name, Width: size.X, Height: size.Y})
			if st.Compare {
				cmp, err := r.compare(ctx, st, res.Sequence, name, size, res.Screenshot)
				switch {
				case err != nil:
					fail(err.Error())
				case cmp == nil: // recorded as the baseline
					ev.Template = name
				default:
					ev.Template, ev.Difference, ev.PixelDiff = cmp.Baseline, cmp.Diff, cmp.PixelDiff
					if cmp.Diff != "" {
						ev.Screenshots = append(ev.Screenshots, cmp.Diff)
					}
					if cmp.Failed {
						fail(cmp.Error)
					}
					extra = append(extra, cmp)
				}
			}
		}
	} else if st.Compare && res.Status != steps.StatusSkipped && ev.Success {
		fail("the step compares its screenshot, but no screenshot could be taken")
	}

	if err := r.record(ctx, ev, extra); err != nil {
		return err
	}
	if s := r.held.State(); s.Killed {
		// The kill reached the stream before the subscription told us.
		r.w.killLocal(r.held.ID(), s.KillReason)
	}
	return nil
}

// store puts a screenshot into the store and reads its size.
func (r *recorder) store(ctx context.Context, data []byte) (string, image.Point, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", image.Point{}, fmt.Errorf("the screenshot is not a readable image: %v", err)
	}
	name, err := r.w.d.Screenshots.Put(ctx, data)
	if err != nil {
		return "", image.Point{}, fmt.Errorf("the screenshot could not be stored: %v", err)
	}
	return name, image.Pt(cfg.Width, cfg.Height), nil
}

// compare compares a compare step's screenshot with the baseline of its
// key. Without a baseline, the screenshot becomes the baseline and compare
// returns nil. A comparison that cannot be made is returned with Failed
// set; err is for what went wrong around it (the store, the log).
func (r *recorder) compare(ctx context.Context, st eventschemas.RunStep, seq int, current string, size image.Point,
	data []byte) (*eventschemas.ScreenshotCompared, error) {
	r.occurrences[st.StepID]++
	occ := r.occurrences[st.StepID]
	key := run.BaselineKey(st.StepID, occ, r.browserKey)
	if r.baselines == nil {
		b, err := r.w.d.Runs.Baselines(ctx, r.req.FeatureID)
		if err != nil {
			return nil, fmt.Errorf("the baselines could not be read: %v", err)
		}
		r.baselines = &b
	}
	base, ok := r.baselines.ByKey[key]
	if !ok {
		meta := r.w.meta(r.correlation, r.w.cfg.Now())
		got, recorded, err := r.w.d.Runs.RecordBaseline(ctx, meta, eventschemas.BaselineRecorded{
			FeatureID: r.req.FeatureID, StepID: st.StepID, Occurrence: occ, BrowserKey: r.browserKey,
			Name: current, Width: size.X, Height: size.Y, FeatureResultID: r.held.ID(), Sequence: seq})
		if err != nil {
			return nil, fmt.Errorf("the baseline could not be recorded: %v", err)
		}
		*r.baselines = r.baselines.Evolve(&got)
		if recorded {
			return nil, nil
		}
		base = got // another run recorded it first
	}

	cmp := &eventschemas.ScreenshotCompared{BaselineKey: key, Baseline: base.Name, Current: current,
		Threshold: r.w.cfg.Threshold, BaselineWidth: base.Width, BaselineHeight: base.Height,
		CurrentWidth: size.X, CurrentHeight: size.Y}
	baseline, err := r.readScreenshot(base.Name)
	if err != nil {
		cmp.Failed, cmp.Error = true, fmt.Sprintf("the baseline %s cannot be read: %v", base.Name, err)
		return cmp, nil
	}
	opts := imagediff.DefaultOptions()
	opts.Threshold = r.w.cfg.Threshold
	res, err := imagediff.CompareBytes(baseline, data, opts, true)
	var mismatch *imagediff.SizeMismatchError
	switch {
	case errors.As(err, &mismatch):
		cmp.Failed = true
		cmp.Error = fmt.Sprintf("the screenshot is %dx%d but its baseline is %dx%d: images of different sizes "+
			"are not compared", mismatch.B.X, mismatch.B.Y, mismatch.A.X, mismatch.A.Y)
		return cmp, nil
	case err != nil:
		cmp.Failed, cmp.Error = true, fmt.Sprintf("the screenshot comparison failed: %v", err)
		return cmp, nil
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed} // a diff image is mostly flat; speed matters more
	if err := enc.Encode(&buf, res.Diff); err != nil {
		return nil, fmt.Errorf("the diff image could not be encoded: %v", err)
	}
	diff, err := r.w.d.Screenshots.Put(ctx, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("the diff image could not be stored: %v", err)
	}
	cmp.Diff, cmp.PixelDiff = diff, int64(res.DiffPixels)
	return cmp, nil
}

func (r *recorder) readScreenshot(name string) ([]byte, error) {
	f, err := r.w.d.Screenshots.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// killLocal stops result id if this worker executes it.
func (w *Worker) killLocal(id int64, reason string) {
	w.mu.Lock()
	x := w.active[id]
	w.mu.Unlock()
	if x != nil {
		x.kill(reason)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}
