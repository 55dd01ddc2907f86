package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// appendAs appends one event with the envelope's actor and correlation id
// given, at the harness clock, and returns its id.
func appendAs(t *testing.T, h *projectiontest.Harness, reg *eventschemas.Registry, stream, actor, correlation string,
	p eventschemas.Payload) uuid.UUID {
	t.Helper()
	typ, version, data, err := reg.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	h.AppendRaw(stream, eventstore.EventData{ID: id, Type: typ, SchemaVersion: version, Data: data,
		OccurredAt: h.Clock, Actor: actor, CorrelationID: correlation})
	h.Clock = h.Clock.Add(time.Second)
	return id
}

func TestSchedulesModel(t *testing.T) {
	t.Parallel()
	reg := registry(t)
	h := projectiontest.New(t, reg, projections.Accounts{}, projections.NewSchedules())
	ctx := context.Background()
	r := projections.NewScheduleReader(h.Pool)

	set := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tick := func(m int) time.Time { return time.Date(2026, 3, 1, 10, m, 0, 0, time.UTC) }
	tickTime := func(feature int64, m int) eventschemas.TickTime {
		return eventschemas.TickTime{FeatureID: feature, Tick: tick(m).Format("20060102T150405Z"),
			Expression: "* * * * *", Zone: "Europe/Berlin", NominalLocal: tick(m).Add(time.Hour).Format("2006-01-02T15:04"),
			NominalUTC: tick(m)}
	}
	stream := func(feature int64, m int) string {
		return "tick-" + map[int64]string{7: "7", 8: "8"}[feature] + "-" + tick(m).Format("20060102T150405Z")
	}

	h.Append("account-3", &eventschemas.AccountCreated{AccountID: 3, Name: "Ada", Email: "ada@example.com"})
	h.Append("feature-7", &eventschemas.FeatureCreated{FeatureID: 7},
		&eventschemas.FeatureSaved{FeatureID: 7, Version: 1, Definition: definition("Seven", 1)})
	h.Append("feature-8", &eventschemas.FeatureCreated{FeatureID: 8},
		&eventschemas.FeatureSaved{FeatureID: 8, Version: 1, Definition: definition("Eight", 2)})
	appendAs(t, h, reg, "schedule-7", "account-3", "req-1", &eventschemas.FeatureScheduled{FeatureID: 7,
		Expression: "* * * * *", Zone: "Europe/Berlin", OwnerID: 3, CatchUp: "skip", At: set})
	appendAs(t, h, reg, "schedule-8", "account-3", "req-2", &eventschemas.FeatureScheduled{FeatureID: 8,
		Expression: "@daily", Zone: "UTC", OwnerID: 3, CatchUp: "run_once", At: set})
	fired := appendAs(t, h, reg, stream(7, 1), "account-3", stream(7, 1), &eventschemas.ScheduleTickFired{
		TickTime: tickTime(7, 1), OwnerID: 3, CorrelationID: stream(7, 1), At: tick(1).Add(time.Second)})
	appendAs(t, h, reg, stream(7, 1), "service:scheduler", stream(7, 1), &eventschemas.ScheduleTickRunRequested{
		FeatureID: 7, Tick: tickTime(7, 1).Tick, RunID: 40, CorrelationID: stream(7, 1), At: tick(1).Add(2 * time.Second)})
	// A second record of the same tick (a late claimer) changes nothing.
	appendAs(t, h, reg, stream(7, 1), "service:scheduler", stream(7, 1), &eventschemas.ScheduleTickRunRequested{
		FeatureID: 7, Tick: tickTime(7, 1).Tick, RunID: 41, CorrelationID: stream(7, 1), At: tick(1).Add(3 * time.Second)})
	appendAs(t, h, reg, stream(7, 2), "service:scheduler", stream(7, 2), &eventschemas.ScheduleTickMissed{
		TickTime: tickTime(7, 2), DetectedAt: tick(4)})
	unrequested := appendAs(t, h, reg, stream(7, 3), "account-3", stream(7, 3), &eventschemas.ScheduleTickFired{
		TickTime: tickTime(7, 3), OwnerID: 3, CorrelationID: stream(7, 3), At: tick(3).Add(time.Second)})
	h.Sync()

	list, err := r.List(ctx, []int64{1}, false)
	if err != nil {
		t.Fatal(err)
	}
	last := tick(3)
	want := []projections.ScheduleView{{FeatureID: 7, FeatureName: "Seven", DepartmentID: 1,
		Expression: "* * * * *", Zone: "Europe/Berlin", OwnerID: 3,
		Owner:   &projections.AccountRef{UserID: 3, Name: "Ada", Email: "ada@example.com"},
		CatchUp: "skip", Since: set, Active: true, ChangedAt: list[0].ChangedAt, ChangedBy: "account-3",
		LastTick: &last}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("schedules of department 1 (-want +got):\n%s", diff)
	}
	if all, _ := r.List(ctx, nil, true); len(all) != 2 {
		t.Errorf("all schedules: %+v", all)
	}

	ticks, err := r.Ticks(ctx, 7, projections.TickQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, tk := range ticks {
		outcomes = append(outcomes, tk.Outcome)
	}
	if diff := cmp.Diff([]string{"fired", "missed", "fired"}, outcomes); diff != "" {
		t.Errorf("tick outcomes, newest first (-want +got):\n%s", diff)
	}
	if got := ticks[2]; got.RunID == nil || *got.RunID != 40 || got.Stream != stream(7, 1) || got.Actor != "account-3" {
		t.Errorf("first tick = %+v, want run 40 (the first record)", got)
	}
	if ticks[0].RunID != nil {
		t.Errorf("unrequested tick has run %d", *ticks[0].RunID)
	}
	if page, _ := r.Ticks(ctx, 7, projections.TickQuery{Before: tick(2), Limit: 10}); len(page) != 1 ||
		page[0].Tick != tickTime(7, 1).Tick {
		t.Errorf("ticks before minute 2: %+v", page)
	}

	claims, err := r.Unrequested(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 1 || claims[0].EventID != unrequested || claims[0].Stream != stream(7, 3) ||
		claims[0].OwnerID != 3 {
		t.Errorf("unrequested = %+v, want the claim of minute 3 (fired tick of minute 1 was %v)", claims, fired)
	}

	// A fired tick whose run was refused shows why, and is no claim to
	// finish; a request recorded after the refusal changes nothing.
	appendAs(t, h, reg, stream(7, 5), "account-3", stream(7, 5), &eventschemas.ScheduleTickFired{
		TickTime: tickTime(7, 5), OwnerID: 3, CorrelationID: stream(7, 5), At: tick(5).Add(time.Second)})
	appendAs(t, h, reg, stream(7, 5), "service:scheduler", stream(7, 5), &eventschemas.ScheduleTickRunRefused{
		FeatureID: 7, Tick: tickTime(7, 5).Tick, CorrelationID: stream(7, 5), Category: "forbidden",
		Reason: "Missing permission 'run_feature'.", At: tick(5).Add(2 * time.Second)})
	appendAs(t, h, reg, stream(7, 5), "service:scheduler", stream(7, 5), &eventschemas.ScheduleTickRunRequested{
		FeatureID: 7, Tick: tickTime(7, 5).Tick, RunID: 42, CorrelationID: stream(7, 5), At: tick(5).Add(3 * time.Second)})
	h.Sync()
	newest, err := r.Ticks(ctx, 7, projections.TickQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(newest) != 1 || newest[0].Outcome != "fired" || newest[0].RunID != nil ||
		newest[0].RunRefused == nil || *newest[0].RunRefused != "Missing permission 'run_feature'." ||
		newest[0].RunRefusedCategory == nil || *newest[0].RunRefusedCategory != "forbidden" ||
		newest[0].RunRefusedAt == nil || !newest[0].RunRefusedAt.Equal(tick(5).Add(2*time.Second)) {
		t.Errorf("refused tick = %+v, want fired, no run, the refusal with its kind and time", newest)
	}
	if ticks[0].RunRefused != nil {
		t.Errorf("an unrequested tick shows a refusal: %q", *ticks[0].RunRefused)
	}
	if claims, _ := r.Unrequested(ctx); len(claims) != 1 || claims[0].Stream != stream(7, 3) {
		t.Errorf("unrequested after the refusal = %+v, want only the claim of minute 3", claims)
	}

	// Cleared, set again by someone else, then feature 8 deleted.
	appendAs(t, h, reg, "schedule-7", "account-1", "req-3", &eventschemas.ScheduleCleared{FeatureID: 7, At: set})
	appendAs(t, h, reg, "schedule-7", "account-3", "req-4", &eventschemas.FeatureScheduled{FeatureID: 7,
		Expression: "0 9 * * 1-5", Zone: "Asia/Kolkata", OwnerID: 3, CatchUp: "skip", At: set.Add(time.Hour)})
	h.Append("feature-8", &eventschemas.FeatureDeleted{FeatureID: 8})
	h.Sync()

	active, err := r.Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 1 || active[0].FeatureID != 7 || active[0].Expression != "0 9 * * 1-5" ||
		!active[0].Since.Equal(set.Add(time.Hour)) || !active[0].LastTick.Equal(tick(5)) {
		t.Errorf("active = %+v, want only feature 7's new schedule with its last tick", active)
	}
	changes, err := r.Changes(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	var kinds, actors []string
	for _, c := range changes {
		kinds = append(kinds, c.Kind)
		actors = append(actors, c.Actor)
	}
	if diff := cmp.Diff([]string{"set", "cleared", "set"}, kinds); diff != "" {
		t.Errorf("change kinds (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"account-3", "account-1", "account-3"}, actors); diff != "" {
		t.Errorf("change actors (-want +got):\n%s", diff)
	}
	if c := changes[0]; c.ActorAccount == nil || c.ActorAccount.Name != "Ada" || c.CorrelationID != "req-1" ||
		c.Expression == nil || *c.Expression != "* * * * *" {
		t.Errorf("first change = %+v", c)
	}
	if c := changes[1]; c.ActorAccount != nil || c.Expression != nil {
		t.Errorf("clear by an account the model does not know = %+v", c)
	}
	if _, ok, _ := r.Get(ctx, 8); ok {
		t.Error("the schedule of deleted feature 8 is still shown")
	}
	if f, ok, err := r.Feature(ctx, 8); err != nil || !ok || !f.Deleted {
		t.Errorf("feature 8 = %+v %v %v, want deleted", f, ok, err)
	}
	h.CheckRebuild()
}
