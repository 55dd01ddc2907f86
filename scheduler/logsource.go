package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// readPage is how many events LogSource reads per call to the store.
const readPage = 500

// LogSource is the Source that folds the schedule and tick events of the
// whole log, and FeatureDeleted, after which a feature's schedule is
// inactive; it follows each feature's department (FeatureSaved) and
// DepartmentDeleted too, and a schedule of a feature whose department is
// deleted is not active either, as the schedules read model has it. Its first Snapshot reads the log from the start; each later
// one reads only what was appended since. Because of that first read the
// binary uses ModelSource; LogSource needs no projector, which is what the
// scheduler's own tests use it for, and a test checks that both agree.
type LogSource struct {
	store eventstore.Store
	reg   *eventschemas.Registry

	mu          sync.Mutex
	pos         eventstore.Position
	schedules   map[int64]*foldedSchedule
	unrequested map[string]Claim
	departments map[int64]int64 // feature id to department id
	gone        map[int64]bool  // deleted departments
}

type foldedSchedule struct {
	state    schedule.State
	lastTick time.Time
}

var _ Source = (*LogSource)(nil)

// NewLogSource returns a LogSource reading store and decoding with reg.
func NewLogSource(store eventstore.Store, reg *eventschemas.Registry) *LogSource {
	return &LogSource{
		store: store, reg: reg,
		schedules:   map[int64]*foldedSchedule{},
		unrequested: map[string]Claim{},
		departments: map[int64]int64{},
		gone:        map[int64]bool{},
	}
}

// Snapshot folds the events appended since the last call and returns the
// active schedules (by feature id) and the unrequested claims (oldest
// first). An event it cannot decode is an error, at every call, until the
// event can be read: it is never skipped.
func (s *LogSource) Snapshot(ctx context.Context) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		page, err := s.store.ReadAll(ctx, s.pos, readPage)
		if err != nil {
			return Snapshot{}, fmt.Errorf("read schedules after %v: %w", s.pos, err)
		}
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			if err := s.apply(ev); err != nil {
				return Snapshot{}, err
			}
			s.pos = ev.Position
		}
	}

	var snap Snapshot
	for id, f := range s.schedules {
		if f.state.Active && !s.gone[s.departments[id]] {
			snap.Schedules = append(snap.Schedules, Active{Schedule: f.state.Schedule, LastTick: f.lastTick})
		}
	}
	slices.SortFunc(snap.Schedules, func(a, b Active) int { return cmp.Compare(a.FeatureID, b.FeatureID) })
	for _, c := range s.unrequested {
		if !s.gone[s.departments[c.FeatureID]] {
			snap.Unrequested = append(snap.Unrequested, c)
		}
	}
	slices.SortFunc(snap.Unrequested, func(a, b Claim) int {
		return cmp.Or(a.ClaimedAt.Compare(b.ClaimedAt), cmp.Compare(a.Stream, b.Stream))
	})
	return snap, nil
}

func (s *LogSource) apply(ev eventstore.Event) error {
	switch ev.Type {
	case eventschemas.TypeFeatureScheduled, eventschemas.TypeScheduleCleared,
		eventschemas.TypeScheduleTickFired, eventschemas.TypeScheduleTickMissed,
		eventschemas.TypeScheduleTickRunRequested, eventschemas.TypeScheduleTickRunRefused,
		eventschemas.TypeFeatureDeleted,
		eventschemas.TypeFeatureSaved, eventschemas.TypeDepartmentDeleted:
	default:
		return nil
	}
	p, err := s.reg.Decode(ev.Type, ev.SchemaVersion, ev.Data)
	if err != nil {
		return fmt.Errorf("fold stream %q at revision %d: %w", ev.Stream, ev.Revision, err)
	}
	switch e := p.(type) {
	case *eventschemas.FeatureScheduled:
		s.schedule(e.FeatureID).state = s.schedule(e.FeatureID).state.Evolve(e)
	case *eventschemas.ScheduleCleared:
		s.schedule(e.FeatureID).state = s.schedule(e.FeatureID).state.Evolve(e)
	case *eventschemas.FeatureDeleted:
		// A deleted feature's schedule stays in its stream but fires no more.
		s.schedule(e.FeatureID).state = schedule.State{}
	case *eventschemas.FeatureSaved:
		s.departments[e.FeatureID] = e.Definition.DepartmentID
	case *eventschemas.DepartmentDeleted:
		s.gone[e.DepartmentID] = true
	case *eventschemas.ScheduleTickFired:
		s.schedule(e.FeatureID).ticked(e.NominalUTC)
		s.unrequested[ev.Stream] = Claim{
			FeatureID: e.FeatureID, OwnerID: e.OwnerID, Stream: ev.Stream, Tick: e.Tick,
			EventID: ev.ID, ClaimedAt: e.At,
		}
	case *eventschemas.ScheduleTickMissed:
		s.schedule(e.FeatureID).ticked(e.NominalUTC)
	case *eventschemas.ScheduleTickRunRequested:
		delete(s.unrequested, ev.Stream)
	case *eventschemas.ScheduleTickRunRefused:
		delete(s.unrequested, ev.Stream)
	}
	return nil
}

func (s *LogSource) schedule(featureID int64) *foldedSchedule {
	f, ok := s.schedules[featureID]
	if !ok {
		f = &foldedSchedule{}
		s.schedules[featureID] = f
	}
	return f
}

func (f *foldedSchedule) ticked(at time.Time) {
	if at.After(f.lastTick) {
		f.lastTick = at
	}
}
