package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
)

// TestScheduleSetChecks sets schedules as callers of every kind: the
// creator and holders of edit_feature may, others and other departments
// may not, a deleted or unknown feature is not found, and every refusal
// appends nothing. The caller becomes the owner.
func TestScheduleSetChecks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	schedules := commands.NewSchedules(w.log)

	// A role without edit_feature: no default role lacks it.
	viewer, err := role.New("VIEWER", 5, role.ViewFeature, role.CreateFeature)
	if err != nil {
		t.Fatal(err)
	}
	author := access.Actor{AccountID: 5, Role: viewer, Departments: []int64{3}}
	reader := access.Actor{AccountID: 7, Role: viewer, Departments: []int64{3}}
	editor := actor(t, 6, role.Devops, 3)
	outsider := actor(t, 8, role.Manager, 4)
	id := w.create(author, def("Scheduled", 3))
	gone := w.create(editor, def("Gone", 3))
	res, err := w.features.Delete(ctx, meta(), editor, gone)
	if err != nil {
		t.Fatal(err)
	}
	w.sync(res)

	set := func(expr, zone string) schedule.Set {
		return schedule.Set{FeatureID: id, Expression: expr, Zone: zone, OwnerID: 99, Now: time.Now()}
	}
	tests := []struct {
		name  string
		actor access.Actor
		cmd   schedule.Set
		want  error
	}{
		{"not the creator, no edit_feature", reader, set("0 3 * * *", "UTC"), domain.ErrForbidden},
		{"other department", outsider, set("0 3 * * *", "UTC"), domain.ErrNotFound},
		{"unknown feature", editor, schedule.Set{FeatureID: 999, Expression: "0 3 * * *", Now: time.Now()},
			domain.ErrNotFound},
		{"deleted feature", editor, schedule.Set{FeatureID: gone, Expression: "0 3 * * *", Now: time.Now()},
			domain.ErrNotFound},
		{"invalid expression", editor, set("61 * * * *", "UTC"), domain.ErrInvalid},
		{"unknown zone", editor, set("0 3 * * *", "Mars/Olympus"), domain.ErrInvalid},
		{"bad policy", editor, schedule.Set{FeatureID: id, Expression: "0 3 * * *", CatchUp: "twice",
			Now: time.Now()}, domain.ErrInvalid},
	}
	for _, tt := range tests {
		before := countEvents(t, w)
		_, _, err := schedules.Set(ctx, meta(), tt.actor, tt.cmd)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if after := countEvents(t, w); after != before {
			t.Errorf("%s appended %d events", tt.name, after-before)
		}
	}

	// The creator may without the flag, and owns the schedule.
	if _, changed, err := schedules.Set(ctx, meta(), author, set("30 0 * * 1", "Europe/Berlin")); err != nil || !changed {
		t.Fatalf("creator sets: changed %v, %v", changed, err)
	}
	// An editor replaces it and becomes its owner.
	if _, changed, err := schedules.Set(ctx, meta(), editor, set("30 0 * * 1", "Europe/Berlin")); err != nil || !changed {
		t.Fatalf("editor sets the same expression: changed %v, %v; want a new owner", changed, err)
	}
	if _, changed, err := schedules.Set(ctx, meta(), editor, set("30 0 * * 1", "Europe/Berlin")); err != nil || changed {
		t.Errorf("the same schedule again: changed %v, %v; want nothing appended", changed, err)
	}
	if _, changed, err := schedules.Set(ctx, meta(), editor, set("", "")); err != nil || !changed {
		t.Errorf("clear: changed %v, %v", changed, err)
	}

	history, _, err := w.log.Load(ctx, schedule.Stream(id))
	if err != nil {
		t.Fatal(err)
	}
	var owners []int64
	for _, r := range history {
		if e, ok := r.Payload.(*eventschemas.FeatureScheduled); ok {
			owners = append(owners, e.OwnerID)
		}
	}
	if len(history) != 3 || len(owners) != 2 || owners[0] != 5 || owners[1] != 6 {
		t.Errorf("schedule stream: %d events, owners %v; want set by 5, set by 6, cleared", len(history), owners)
	}
}

func countEvents(t *testing.T, w *world) int64 {
	t.Helper()
	var n int64
	if err := w.h.Pool.QueryRow(context.Background(), "SELECT count(*) FROM eventlog.events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
