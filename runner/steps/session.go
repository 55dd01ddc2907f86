package steps

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-rod/rod"

	"github.com/cometa-es/cometa/runner/variables"
)

// Browser is what a Session drives; *browser.Browser implements it.
type Browser interface {
	// Rod returns the rod handle with an unbounded context.
	Rod() *rod.Browser
	// Exited is closed when a local browser process has gone.
	Exited() <-chan struct{}
	// Size is the viewport pages get.
	Size() (width, height int)
}

// VariableSink persists the environment variables that steps save ("Save
// ... to environment variable"). The runner's caller implements it; the
// value is plain text and may be secret.
type VariableSink interface {
	SaveEnvironmentVariable(ctx context.Context, name, value string) error
}

// DefaultTimeout is a step's timeout when it has none, as in Cometa.
const DefaultTimeout = 60 * time.Second

// MaxTimeout caps every step's timeout (Cometa's MAX_STEP_TIMEOUT).
const MaxTimeout = 7200 * time.Second

// Options configure a Session.
type Options struct {
	// Catalogue is the step language; NewCatalogue() when nil.
	Catalogue *Catalogue
	// Logger is for debug lines per step and one line per run.
	Logger *slog.Logger
	// UploadsDir holds the files "Upload a file" may send; the step fails
	// when it is empty.
	UploadsDir string
	// Sink persists saved environment variables; without one those steps
	// fail.
	Sink VariableSink
	// Decrypter decrypts encrypted variables; see variables.Options.
	Decrypter variables.Decrypter
	// Now is the clock of dynamic dates and timestamps; time.Now when nil.
	Now func() time.Time
}

// Step is one step to execute, already flattened (enabled steps only,
// sub-features expanded).
type Step struct {
	// Content is the step sentence (step_content), optionally followed by
	// a docstring between lines of """.
	Content string
	// Timeout bounds the step (waits, page loads, lookups); DefaultTimeout
	// when zero, MaxTimeout at most.
	Timeout time.Duration
	// Screenshot asks for a screenshot after the step.
	Screenshot bool
	// ContinueOnFailure lets the run go on after this step fails; the
	// failure still counts.
	ContinueOnFailure bool
}

// Status of a step result or a run.
type Status string

// Statuses as Cometa writes them.
const (
	StatusSuccess  Status = "Success"
	StatusFailed   Status = "Failed"
	StatusSkipped  Status = "Skipped"
	StatusCanceled Status = "Canceled"
)

// StepResult is one executed step, reported as soon as it ends.
type StepResult struct {
	// Sequence is the 1-based order of execution; loop iterations and
	// skipped steps each take a number.
	Sequence int
	// Index is the step's 0-based position in Run.Steps.
	Index int
	// Name is the step sentence as written, before substitution.
	Name string
	// Status is Success, Failed or Skipped (inside an inactive If branch).
	Status Status
	// Success is false only for Failed.
	Success bool
	// ExecutionTime is how long the step took (Cometa's execution_time is
	// its milliseconds).
	ExecutionTime time.Duration
	// Error is the failure, secrets masked; a custom error message defined
	// by the previous step replaces it.
	Error string
	// Screenshot is a PNG of the viewport, taken when the step asked for
	// one or failed (never for "Close the browser").
	Screenshot []byte
	// Variables are the variables the step created or compared, secrets
	// masked (Cometa's current_step_variables_value).
	Variables map[string]string
}

// Summary is the outcome of a run.
type Summary struct {
	// Status is Success, Failed or Canceled.
	Status Status
	// Total counts step results plus steps never reached.
	Total int
	// OK counts results with Success true (Skipped included, as in Cometa).
	OK int
	// Fails counts Failed results.
	Fails int
	// Skipped is Total - OK - Fails: the steps never reached.
	Skipped int
	// ExecutionTime is the run's duration.
	ExecutionTime time.Duration
	// Error is the first hard failure or the reason the run stopped.
	Error string
}

// Run is one execution request.
type Run struct {
	Steps []Step
	// Variables of the run with their scopes (see package variables).
	Variables []variables.Variable
	// Parameters are the job parameters (%name), e.g. from a schedule.
	Parameters map[string]string
	// Report receives each step result in order. An error stops the run.
	// It is called with a context that a cancellation of the run does not
	// cancel, so that the interrupted step is still recorded.
	Report func(ctx context.Context, r StepResult) error
}

// Session executes runs in one browser. It keeps the browser's windows
// between runs; it runs one Run at a time.
type Session struct {
	b    Browser
	opts Options
	log  *slog.Logger

	mu      sync.Mutex // serialises Run
	windows *windows
	frame   *rod.Page // current iframe, nil for the top document
}

// NewSession returns a Session over b.
func NewSession(b Browser, opts Options) *Session {
	if opts.Catalogue == nil {
		opts.Catalogue = NewCatalogue()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Session{b: b, opts: opts, log: opts.Logger, windows: newWindows(b)}
}

// Close closes the windows the session opened and stops watching the
// browser. The browser itself belongs to the caller.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.windows.closeAll(ctx)
}

// Run executes the steps in order and reports each executed step. A failed
// step stops the run unless it continues on failure; a canceled ctx stops
// the step in progress, which is reported as failed, and Run returns an
// error wrapping ctx's cause. A step list that is empty, has an unknown
// step or unpaired control steps is rejected before anything runs.
func (s *Session) Run(ctx context.Context, run Run) (Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if len(run.Steps) == 0 {
		return Summary{}, ErrNoSteps
	}
	contents := make([]string, len(run.Steps))
	for i, st := range run.Steps {
		contents[i] = st.Content
	}
	matches, err := s.opts.Catalogue.matchAll(contents)
	if err != nil {
		return Summary{}, err
	}
	f, err := buildFlow(matches)
	if err != nil {
		return Summary{}, err
	}
	if run.Report == nil {
		run.Report = func(context.Context, StepResult) error { return nil }
	}

	r := &runState{
		s:       s,
		run:     run,
		matches: matches,
		flow:    f,
		vars: variables.New(run.Variables, run.Parameters, variables.Options{
			Decrypter: s.opts.Decrypter, Now: s.opts.Now,
		}),
		stoppedAt: -1,
	}
	start := time.Now()
	s.log.DebugContext(ctx, "run starting", "steps", len(run.Steps))
	err = r.block(ctx, 0, len(run.Steps))
	sum := r.summary(time.Since(start))

	switch {
	case ctx.Err() != nil:
		sum.Status = StatusCanceled
		err = fmt.Errorf("run canceled: %w", context.Cause(ctx))
	case errors.Is(err, errStop):
		err = nil // a hard step failure: the summary says Failed
	}
	s.log.InfoContext(ctx, "run finished", "status", sum.Status, "total", sum.Total, "ok", sum.OK,
		"fails", sum.Fails, "skipped", sum.Skipped, "duration_ms", sum.ExecutionTime.Milliseconds())
	return sum, err
}

// runState is the state of one Run.
type runState struct {
	s       *Session
	run     Run
	matches []Match
	flow    flow
	vars    *variables.Set

	seq         int
	ok, fails   int
	firstError  string
	customError string
	stoppedAt   int // index of the step the run stopped at, -1 if none
}

func (r *runState) summary(d time.Duration) Summary {
	notReached := 0
	if r.stoppedAt >= 0 {
		notReached = len(r.run.Steps) - 1 - r.stoppedAt
	}
	total := r.seq + notReached
	sum := Summary{
		Status:        StatusSuccess,
		Total:         total,
		OK:            r.ok,
		Fails:         r.fails,
		Skipped:       total - r.ok - r.fails,
		ExecutionTime: d,
		Error:         r.firstError,
	}
	if r.fails > 0 {
		sum.Status = StatusFailed
	}
	return sum
}
