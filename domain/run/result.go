package run

import (
	"errors"
	"fmt"
	"time"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
)

// ErrNotHolder refuses a runner's write to a result it does not hold (any
// more): another runner claimed it, its lease was taken over, or it has
// finished. It matches domain.ErrConflict. A runner that gets it stops
// working on the result.
var ErrNotHolder = fmt.Errorf("the runner does not hold the result: %w", domain.ErrConflict)

// Ref names a feature result and the run it belongs to.
type Ref struct {
	FeatureResultID int64
	RunID           int64
}

// Result is a feature result as its stream made it.
type Result struct {
	ID        int64
	FeatureID int64
	Allocated bool
	// RunID is set by the claim (or a kill before it).
	RunID int64

	Claimed    bool
	Runner     string
	LeaseUntil time.Time
	Started    bool

	Killed     bool
	KillReason string

	Finished bool
	Status   string

	// Sequence is the sequence of the last StepRecorded, 0 before the
	// first.
	Sequence int

	Archived bool
	Removed  bool
}

// FoldResult returns the result after history.
func FoldResult(history []eventschemas.Payload) Result { return domain.Fold(Result{}, history) }

// Evolve returns the result after p.
func (s Result) Evolve(p eventschemas.Payload) Result {
	switch e := p.(type) {
	case *eventschemas.ResultAllocated:
		s = Result{ID: e.FeatureResultID, FeatureID: e.FeatureID, Allocated: true}
	case *eventschemas.ResultClaimed:
		s.Claimed, s.Runner, s.LeaseUntil, s.RunID = true, e.Runner, e.LeaseUntil, e.RunID
	case *eventschemas.ResultStarted:
		s.Started = true
	case *eventschemas.StepRecorded:
		s.Sequence = e.Sequence
	case *eventschemas.LeaseRenewed:
		s.LeaseUntil = e.LeaseUntil
	case *eventschemas.RunKilled:
		s.Killed, s.KillReason, s.RunID = true, e.Reason, e.RunID
	case *eventschemas.ResultFinished:
		s.Finished, s.Status = true, e.Status
	case *eventschemas.ResultArchived:
		s.Archived = e.Archived
	case *eventschemas.ResultRemoved:
		s.Removed = true
	}
	return s
}

// Running reports whether the result is claimed and not finished.
func (s Result) Running() bool { return s.Claimed && !s.Finished }

// ResultCommand is a request to change a feature result.
type ResultCommand interface {
	decide(Result) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s Result) Decide(c ResultCommand) ([]eventschemas.Payload, error) { return c.decide(s) }

// Allocate reserves feature result id ID for a run of FeatureID. It is the
// first event of the stream, appended with "no stream" expected.
type Allocate struct {
	ID        int64
	FeatureID int64
}

func (c Allocate) decide(s Result) ([]eventschemas.Payload, error) {
	switch {
	case s.Allocated:
		return nil, domain.Conflict("feature result %d already exists", s.ID)
	case c.ID <= 0 || c.FeatureID <= 0:
		return nil, domain.Invalid("feature_result_id", "result and feature ids must be positive")
	}
	return []eventschemas.Payload{&eventschemas.ResultAllocated{FeatureResultID: c.ID, FeatureID: c.FeatureID}}, nil
}

// Claim hands the queued result to Runner until LeaseUntil. Only a result
// that nobody claimed, that was not killed or finished, can be claimed;
// otherwise the error matches domain.ErrConflict.
type Claim struct {
	RunID      int64
	Runner     string
	Now        time.Time
	LeaseUntil time.Time
}

func (c Claim) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.exists(); err != nil {
		return nil, err
	}
	switch {
	case c.Runner == "":
		return nil, domain.Invalid("runner", "a claim names its runner")
	case !c.LeaseUntil.After(c.Now):
		return nil, domain.Invalid("lease_until", "the lease must end after the claim")
	case s.Finished:
		return nil, domain.Conflict("feature result %d has finished (%s)", s.ID, s.Status)
	case s.Claimed:
		return nil, domain.Conflict("feature result %d is claimed by %s", s.ID, s.Runner)
	}
	return []eventschemas.Payload{&eventschemas.ResultClaimed{FeatureResultID: s.ID, RunID: c.RunID,
		Runner: c.Runner, ClaimedAt: c.Now, LeaseUntil: c.LeaseUntil}}, nil
}

// Start records the browser the holder executes the result in.
type Start struct {
	Runner string
	Event  eventschemas.ResultStarted
}

func (c Start) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.holder(c.Runner); err != nil {
		return nil, err
	}
	if s.Started {
		return nil, domain.Conflict("feature result %d has already started", s.ID)
	}
	e := c.Event
	e.FeatureResultID, e.Runner = s.ID, c.Runner
	return []eventschemas.Payload{&e}, nil
}

// Record appends one executed step, followed by the screenshot events that
// belong to it (ScreenshotTaken, ScreenshotCompared of the same sequence).
// The step's sequence must follow the last one recorded.
type Record struct {
	Runner string
	Step   eventschemas.StepRecorded
	Extra  []eventschemas.Payload
}

func (c Record) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.holder(c.Runner); err != nil {
		return nil, err
	}
	st := c.Step
	st.FeatureResultID = s.ID
	var errs []error
	if st.Sequence != s.Sequence+1 {
		errs = append(errs, domain.Invalid("sequence", "step %d recorded after step %d", st.Sequence, s.Sequence))
	}
	switch {
	case st.Status == eventschemas.StatusFailed && st.Success,
		(st.Status == eventschemas.StatusSuccess || st.Status == eventschemas.StatusSkipped) && !st.Success:
		errs = append(errs, domain.Invalid("success", "success %v does not agree with status %s", st.Success, st.Status))
	case st.Status != eventschemas.StatusFailed && st.Status != eventschemas.StatusSuccess &&
		st.Status != eventschemas.StatusSkipped:
		errs = append(errs, domain.Invalid("status", "must be Success, Failed or Skipped, not %q", st.Status))
	}
	if st.ExecutionTimeMS < 0 || st.PixelDiff < 0 {
		errs = append(errs, domain.Invalid("execution_time", "times and pixel counts are not negative"))
	}
	if st.Screenshots == nil {
		st.Screenshots = []string{}
	}
	out := []eventschemas.Payload{&st}
	for _, p := range c.Extra {
		switch e := p.(type) {
		case *eventschemas.ScreenshotTaken:
			e.FeatureResultID, e.Sequence = s.ID, st.Sequence
		case *eventschemas.ScreenshotCompared:
			e.FeatureResultID, e.Sequence = s.ID, st.Sequence
		default:
			errs = append(errs, domain.Invalid("extra", "%s does not belong to a step", p.EventType()))
		}
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Renew extends the holder's lease to Until. A lease is never shortened.
type Renew struct {
	Runner string
	Until  time.Time
}

func (c Renew) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.holder(c.Runner); err != nil {
		return nil, err
	}
	if !c.Until.After(s.LeaseUntil) {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.LeaseRenewed{FeatureResultID: s.ID, Runner: c.Runner,
		LeaseUntil: c.Until}}, nil
}

// Finish ends the result the holder executed. A result whose kill was
// requested ends Canceled whatever Status says, with the kill's reason
// when Reason is empty.
type Finish struct {
	Runner     string
	Status     string
	Reason     string
	Log        string
	NotReached int
	Now        time.Time
}

func (c Finish) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.holder(c.Runner); err != nil {
		return nil, err
	}
	status, reason := c.Status, c.Reason
	switch status {
	case eventschemas.StatusSuccess, eventschemas.StatusFailed, eventschemas.StatusCanceled:
	default:
		return nil, domain.Invalid("status", "must be Success, Failed or Canceled, not %q", status)
	}
	if c.NotReached < 0 {
		return nil, domain.Invalid("not_reached", "must not be negative")
	}
	if s.Killed {
		status = eventschemas.StatusCanceled
		if reason == "" {
			reason = s.KillReason
		}
	}
	return []eventschemas.Payload{s.finished(status, reason, c.Log, c.NotReached, c.Now)}, nil
}

// Kill asks for the result to stop. A result nobody claimed yet is finished
// Canceled at once; a running one is finished by its runner (or, should it
// have died, by the lease's expiry). A finished or already killed result
// is left alone.
type Kill struct {
	RunID     int64
	FeatureID int64
	Reason    string
	By        int64
	Now       time.Time
}

func (c Kill) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.exists(); err != nil {
		return nil, err
	}
	if s.Finished || s.Killed {
		return nil, nil
	}
	reason := c.Reason
	if reason == "" {
		reason = "aborted: the run was killed"
	}
	out := []eventschemas.Payload{&eventschemas.RunKilled{FeatureResultID: s.ID, RunID: c.RunID,
		FeatureID: s.FeatureID, Reason: reason, KilledBy: c.By}}
	if !s.Claimed {
		s.RunID = c.RunID
		out = append(out, s.finished(eventschemas.StatusCanceled, reason+" before it started", "", 0, c.Now))
	}
	return out, nil
}

// Expire ends a result whose holder let its lease run out before Now: the
// runner died or lost the store. It ends Failed, or Canceled when a kill
// was requested. A result whose lease has not expired, or that is not
// running, is left alone.
type Expire struct {
	DetectedBy string
	Now        time.Time
}

func (c Expire) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.exists(); err != nil {
		return nil, err
	}
	if !s.Running() || !c.Now.After(s.LeaseUntil) {
		return nil, nil
	}
	status := eventschemas.StatusFailed
	reason := fmt.Sprintf("the runner %s stopped renewing its lease, which expired at %s; the result was ended by %s",
		s.Runner, s.LeaseUntil.UTC().Format(time.RFC3339), c.DetectedBy)
	if s.Killed {
		status = eventschemas.StatusCanceled
		reason = s.KillReason + "; " + reason
	}
	return []eventschemas.Payload{
		&eventschemas.LeaseExpired{FeatureResultID: s.ID, Runner: s.Runner, LeaseUntil: s.LeaseUntil,
			DetectedBy: c.DetectedBy, DetectedAt: c.Now},
		s.finished(status, reason, "", 0, c.Now),
	}, nil
}

// ArchiveResult marks the result as saved (Archived) or unmarks it.
type ArchiveResult struct {
	Archived bool
}

func (c ArchiveResult) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.exists(); err != nil {
		return nil, err
	}
	if s.Archived == c.Archived {
		return nil, nil
	}
	return []eventschemas.Payload{&eventschemas.ResultArchived{FeatureResultID: s.ID, Archived: c.Archived}}, nil
}

// RemoveResult removes the result. A saved (archived) result and one that
// is still running are refused.
type RemoveResult struct{}

func (RemoveResult) decide(s Result) ([]eventschemas.Payload, error) {
	if err := s.exists(); err != nil {
		return nil, err
	}
	switch {
	case s.Archived:
		return nil, domain.Conflict("Feature result that you are trying to remove is marked as archived, unarchive it first")
	case s.Claimed && !s.Finished:
		return nil, domain.Conflict("feature result %d is still running; kill it first", s.ID)
	}
	return []eventschemas.Payload{&eventschemas.ResultRemoved{FeatureResultID: s.ID}}, nil
}

func (s Result) exists() error {
	if !s.Allocated || s.Removed {
		return domain.NotFound("feature result", s.ID)
	}
	return nil
}

// holder refuses a write of runner unless it holds the running result.
func (s Result) holder(runner string) error {
	if err := s.exists(); err != nil {
		return err
	}
	switch {
	case !s.Claimed:
		return fmt.Errorf("feature result %d is not claimed: %w", s.ID, ErrNotHolder)
	case s.Runner != runner:
		return fmt.Errorf("feature result %d is held by %s, not %s: %w", s.ID, s.Runner, runner, ErrNotHolder)
	case s.Finished:
		return fmt.Errorf("feature result %d has finished (%s): %w", s.ID, s.Status, ErrNotHolder)
	}
	return nil
}

func (s Result) finished(status, reason, log string, notReached int, now time.Time) *eventschemas.ResultFinished {
	return &eventschemas.ResultFinished{FeatureResultID: s.ID, RunID: s.RunID, Status: status,
		Success: status == eventschemas.StatusSuccess, Reason: reason, Log: log, NotReached: notReached,
		FinishedAt: now}
}
