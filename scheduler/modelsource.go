package scheduler

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/projections"
)

// ModelSource is the Source that reads the schedules read model
// (projections.Schedules): two queries per poll, whatever the size of the
// log. The model may lag the log by a moment, which is safe: a schedule
// seen late fires its ticks late (within Grace) or records them missed, and
// a tick another replica already recorded is refused by the store as a
// conflict, however old the model's picture of it.
//
// Until a projector has built the model, its tables do not exist and the
// snapshot is empty: no schedule fires before the model shows it, and once
// it does, the ticks that came due meanwhile are handled as usual (fired
// within Grace, recorded as missed after).
type ModelSource struct {
	reader *projections.ScheduleReader
	built  atomic.Bool
}

var _ Source = (*ModelSource)(nil)

// NewModelSource returns a ModelSource on reader.
func NewModelSource(reader *projections.ScheduleReader) *ModelSource {
	return &ModelSource{reader: reader}
}

// Snapshot returns the active schedules of live features by feature id and
// the fired ticks whose run request is not recorded, oldest first.
func (s *ModelSource) Snapshot(ctx context.Context) (Snapshot, error) {
	if !s.built.Load() {
		built, err := s.reader.Built(ctx)
		if err != nil {
			return Snapshot{}, fmt.Errorf("read schedules: %w", err)
		}
		if !built {
			return Snapshot{}, nil
		}
		s.built.Store(true)
	}
	active, err := s.reader.Active(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("read schedules: %w", err)
	}
	claims, err := s.reader.Unrequested(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("read schedules: %w", err)
	}

	var snap Snapshot
	for _, a := range active {
		snap.Schedules = append(snap.Schedules, Active{
			Schedule: schedule.Schedule{
				FeatureID: a.FeatureID, Expression: a.Expression, Zone: a.Zone, OwnerID: a.OwnerID,
				CatchUp: schedule.CatchUp(a.CatchUp), Since: a.Since,
			},
			LastTick: a.LastTick,
		})
	}
	for _, c := range claims {
		snap.Unrequested = append(snap.Unrequested, Claim{
			FeatureID: c.FeatureID, OwnerID: c.OwnerID, Stream: c.Stream, Tick: c.Tick,
			EventID: c.EventID, ClaimedAt: c.ClaimedAt,
		})
	}
	return snap, nil
}
