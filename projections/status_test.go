package projections

import (
	"testing"
	"time"

	"github.com/cometa-es/cometa/eventstore"
)

func TestStatusReportsStateAndLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	opts := fastOptions()
	m := e.manager(opts, &countersModel{}, notesModel{})

	if st := statusOf(t, m, "counters"); st.State != StateStopped || st.StoredVersion != 0 {
		t.Errorf("before anything ran: %s, stored version %d; want stopped, 0", st.State, st.StoredVersion)
	}

	r := e.run(m)
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	first := e.appendEvent("counter-1", t0, counterBumped{Key: "k", By: 1})
	waitFor(t, m, first.Position)
	waitUntil(t, m, "both models live", func() bool {
		for _, st := range mustStatus(t, m) {
			if st.State != StateLive {
				return false
			}
		}
		return true
	})
	for _, st := range mustStatus(t, m) {
		if st.LagEvents != 0 || st.LagSeconds != 0 || st.Checkpoint != first.Position ||
			st.Version != 1 || st.StoredVersion != 1 || st.UpdatedAt.IsZero() {
			t.Errorf("%s live: %+v", st.Name, st)
		}
	}
	r.stop(t)

	var last eventstore.Position
	for i := 1; i <= 5; i++ {
		last = e.appendEvent("counter-2", t0.Add(time.Duration(i)*18*time.Second),
			counterBumped{Key: "k", By: i}).Position
	}
	// Status counts what the store shows; wait until it shows the appends.
	e.readLog(last)
	for _, st := range mustStatus(t, m) {
		if st.State != StateStopped || st.LagEvents != 5 || st.LagCapped || st.LagSeconds != 90 ||
			st.Checkpoint != first.Position {
			t.Errorf("%s stopped behind 5 events: %s lag %d (capped %v) %.1fs at %v", st.Name,
				st.State, st.LagEvents, st.LagCapped, st.LagSeconds, st.Checkpoint)
		}
	}

	opts.LagCountLimit = 3
	capped := e.manager(opts, &countersModel{})
	if st := statusOf(t, capped, "counters"); st.LagEvents != 3 || !st.LagCapped {
		t.Errorf("with a count limit of 3: lag %d, capped %v; want 3, true", st.LagEvents, st.LagCapped)
	}
}
