package schedule_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	at := now.UTC()
	berlin := &eventschemas.FeatureScheduled{FeatureID: 12, Expression: "30 0 * * 1",
		Zone: "Europe/Berlin", OwnerID: 2, CatchUp: "skip", At: at}
	cleared := &eventschemas.ScheduleCleared{FeatureID: 12, At: at}
	set := func(expr, zone string, owner int64, policy schedule.CatchUp) schedule.Set {
		return schedule.Set{FeatureID: 12, Expression: expr, Zone: zone, OwnerID: owner, CatchUp: policy, Now: now}
	}
	given := func(p ...eventschemas.Payload) []eventschemas.Payload { return p }
	decidetest.Run(t, schedule.State{}, []decidetest.Case[schedule.Set]{
		{Name: "first schedule, stored as given", When: set("30 0 * * 1", "Europe/Berlin", 2, ""),
			Then: given(berlin)},
		{Name: "empty zone is UTC", When: set("@daily", "", 2, schedule.CatchUpRunOnce),
			Then: given(&eventschemas.FeatureScheduled{FeatureID: 12, Expression: "@daily",
				Zone: "UTC", OwnerID: 2, CatchUp: "run_once", At: at})},
		{Name: "same schedule again changes nothing", Given: given(berlin),
			When: set("30 0 * * 1", "Europe/Berlin", 2, schedule.CatchUpSkip)},
		{Name: "another owner is a change", Given: given(berlin), When: set("30 0 * * 1", "Europe/Berlin", 3, ""),
			Then: given(&eventschemas.FeatureScheduled{FeatureID: 12, Expression: "30 0 * * 1",
				Zone: "Europe/Berlin", OwnerID: 3, CatchUp: "skip", At: at})},
		{Name: "set again after clearing", Given: given(berlin, cleared),
			When: set("30 0 * * 1", "Europe/Berlin", 2, ""), Then: given(berlin)},
		{Name: "empty expression clears", Given: given(berlin), When: set("", "", 0, ""), Then: given(cleared)},
		{Name: "blank expression clears, zone ignored", Given: given(berlin), When: set("  ", "Mars/Base", 0, ""),
			Then: given(cleared)},
		{Name: "clearing nothing changes nothing", When: set("", "", 0, "")},
		{Name: "clearing twice changes nothing", Given: given(berlin, cleared), When: set("", "", 0, "")},
		{Name: "invalid cron", Given: given(berlin), When: set("61 0 * * 1", "Europe/Berlin", 2, ""),
			Err: domain.ErrInvalid, Fields: []string{"schedule"},
			Message: `minute field "61": end of range (61) above maximum (59)`},
		{Name: "unknown zone", When: set("30 0 * * 1", "Europe/Berln", 2, ""),
			Err: domain.ErrInvalid, Fields: []string{"original_timezone"}, Message: `unknown time zone "Europe/Berln"`},
		{Name: "seconds field", When: set("0 30 0 * * 1", "", 2, ""),
			Err: domain.ErrInvalid, Fields: []string{"schedule"}, Message: "seconds field is not supported"},
		{Name: "zone prefix", When: set("CRON_TZ=Asia/Kolkata 30 0 * * 1", "", 2, ""),
			Err: domain.ErrInvalid, Fields: []string{"schedule"}, Message: "CRON_TZ= or TZ= prefix"},
		{Name: "never fires", When: set("0 0 31 4 *", "", 2, ""),
			Err: domain.ErrInvalid, Fields: []string{"schedule"}, Message: "never fires"},
		{Name: "no owner", When: set("@hourly", "", 0, ""),
			Err: domain.ErrInvalid, Fields: []string{"owner_id"}, Message: "needs an owner"},
		{Name: "unknown policy", When: set("@hourly", "", 2, "twice"),
			Err: domain.ErrInvalid, Fields: []string{"catch_up"}, Message: `"twice"`},
		{Name: "no feature", When: schedule.Set{Expression: "@hourly", OwnerID: 2, Now: now},
			Err: domain.ErrInvalid, Fields: []string{"feature_id"}},
	})
}

func TestEvolve(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	state := domain.Fold(schedule.State{}, []eventschemas.Payload{
		&eventschemas.FeatureScheduled{FeatureID: 12, Expression: "@daily", Zone: "Asia/Kolkata",
			OwnerID: 2, CatchUp: "run_once", At: at},
	})
	want := schedule.State{Active: true, Schedule: schedule.Schedule{FeatureID: 12, Expression: "@daily",
		Zone: "Asia/Kolkata", OwnerID: 2, CatchUp: schedule.CatchUpRunOnce, Since: at}}
	if diff := cmp.Diff(want, state); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	if state.Actor() != "account-2" {
		t.Errorf("actor %q", state.Actor())
	}
	state = state.Evolve(&eventschemas.ScheduleCleared{FeatureID: 12, At: at.Add(time.Hour)})
	if state.Active || state.Expression != "" {
		t.Errorf("after clearing: %+v", state)
	}
}

func TestStreamNames(t *testing.T) {
	t.Parallel()
	fires, err := schedule.NextRuns("30 2 * * *", "Europe/Berlin", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := schedule.TickStream(12, fires[0]); got != "tick-12-20260329T010000Z" {
		t.Errorf("tick stream %q", got)
	}
	if got := schedule.Stream(12); got != "schedule-12" {
		t.Errorf("schedule stream %q", got)
	}
	tt := schedule.TickTime(schedule.Schedule{FeatureID: 12, Expression: "30 2 * * *", Zone: "Europe/Berlin"}, fires[0])
	want := eventschemas.TickTime{FeatureID: 12, Tick: "20260329T010000Z", Expression: "30 2 * * *",
		Zone: "Europe/Berlin", NominalLocal: "2026-03-29T02:30", NominalUTC: fires[0].At, Shifted: true}
	if diff := cmp.Diff(want, tt); diff != "" {
		t.Errorf("tick time (-want +got):\n%s", diff)
	}
}
