package worker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/scheduler"
)

// ScheduledRuns requests the runs of schedule ticks: it is the scheduler's
// RunRequester. A run is requested as the schedule's owner, with the
// tick's key, so a tick requested twice (after a crash, or by two
// scheduler replicas) starts one run.
type ScheduledRuns struct {
	runs *commands.Runs
	now  func() time.Time
}

var _ scheduler.RunRequester = (*ScheduledRuns)(nil)

// NewScheduledRuns returns the scheduler's RunRequester over runs; now is
// the clock stamped on the run's events (time.Now when nil).
func NewScheduledRuns(runs *commands.Runs, now func() time.Time) *ScheduledRuns {
	if now == nil {
		now = time.Now
	}
	return &ScheduledRuns{runs: runs, now: now}
}

// RequestRun requests the run of one tick and returns its id. The owner
// must still exist and may run the feature; otherwise the error says why
// (the scheduler records the tick as failed). A tick without an owner is
// refused (domain.ErrInvalid): owner 0 is the service actor, a SUPERUSER
// of every department, and a scheduled run never runs as that.
func (s *ScheduledRuns) RequestRun(ctx context.Context, req scheduler.RunRequest) (int64, error) {
	if req.OwnerID <= 0 {
		return 0, fmt.Errorf("scheduled run of feature %d: %w", req.FeatureID,
			domain.Invalid("owner_id", "a scheduled run needs the schedule's owner account, got %d", req.OwnerID))
	}
	actor, err := s.runs.AccountActor(ctx, req.OwnerID)
	if err != nil {
		return 0, fmt.Errorf("scheduled run of feature %d: owner: %w", req.FeatureID, err)
	}
	who := "account-" + strconv.FormatInt(req.OwnerID, 10)
	meta := commands.Meta{Actor: who, CorrelationID: req.CorrelationID, CommandID: req.Key, Now: s.now()}
	res, err := s.runs.Request(ctx, meta, actor, commands.RunInput{FeatureID: req.FeatureID, Key: req.Key})
	if err != nil {
		return 0, fmt.Errorf("scheduled run: %w", err)
	}
	return res.RunID, nil
}
