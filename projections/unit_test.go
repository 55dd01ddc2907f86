package projections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

func TestValidateModels(t *testing.T) {
	t.Parallel()
	reg := testRegistry(t)
	good := &countersModel{}
	tests := []struct {
		name   string
		models []ReadModel
		ok     bool
	}{
		{"one good model", []ReadModel{good}, true},
		{"two models", []ReadModel{good, &notesModel{}}, true},
		{"no models", nil, false},
		{"nil model", []ReadModel{nil}, false},
		{"duplicate", []ReadModel{good, &countersModel{}}, false},
		{"upper case name", []ReadModel{&namedModel{name: "Features", version: 1}}, false},
		{"double underscore", []ReadModel{&namedModel{name: "a__rebuild", version: 1}}, false},
		{"trailing underscore", []ReadModel{&namedModel{name: "runs_", version: 1}}, false},
		{"leading digit", []ReadModel{&namedModel{name: "1runs", version: 1}}, false},
		{"too long", []ReadModel{&namedModel{name: "a123456789a123456789a123456789a123456789x", version: 1}}, false},
		{"zero version", []ReadModel{&namedModel{name: "runs", version: 0}}, false},
		{"unknown event type", []ReadModel{&namedModel{name: "runs", version: 1, types: []string{"Nope"}}}, false},
		{"empty ddl", []ReadModel{&namedModel{name: "runs", version: 1, ddl: "-"}}, false},
		{"underscored name", []ReadModel{&namedModel{name: "step_results_2", version: 1}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := validateModels(reg, tc.models)
			if (err == nil) != tc.ok {
				t.Fatalf("validateModels = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, eventschemas.ErrUnknownType) {
				t.Errorf("error %v is neither ErrInvalid nor ErrUnknownType", err)
			}
		})
	}
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("read: %w", eventstore.ErrUnavailable), true},
		{context.Canceled, true},
		{&pgconn.PgError{Code: "57P01"}, true}, // terminated by administrator
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{&pgconn.PgError{Code: "40001"}, true}, // serialization failure
		{&pgconn.PgError{Code: "40P01"}, true}, // deadlock
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
		{&pgconn.PgError{Code: "55P03"}, true}, // lock not available
		{&pgconn.PgError{Code: "0A000", Routine: "RevalidateCachedQuery"}, true},
		{&pgconn.PgError{Code: "0A000"}, false},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation
		{&pgconn.PgError{Code: "22P02"}, false}, // invalid text representation
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined table
		{fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("exec: %w", pgconn.ErrConnClosed), true},
		{errors.New("feature 12 does not exist"), false},
	}
	for _, tc := range tests {
		if got := isTransient(tc.err); got != tc.want {
			t.Errorf("isTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestAfterDropsAppliedEvents(t *testing.T) {
	t.Parallel()
	evs := []eventstore.Event{
		{Position: eventstore.Position{Commit: 5, Prepare: 1}},
		{Position: eventstore.Position{Commit: 5, Prepare: 2}},
		{Position: eventstore.Position{Commit: 9, Prepare: 3}},
	}
	tests := []struct {
		pos  eventstore.Position
		want int
	}{
		{eventstore.Position{}, 3},
		{eventstore.Position{Commit: 5, Prepare: 1}, 2},
		{eventstore.Position{Commit: 5, Prepare: 9}, 1},
		{eventstore.Position{Commit: 9, Prepare: 3}, 0},
	}
	for _, tc := range tests {
		if got := len(after(tc.pos, evs)); got != tc.want {
			t.Errorf("after(%v) kept %d events, want %d", tc.pos, got, tc.want)
		}
	}
}

func TestBoardWakesAndNeverGoesBack(t *testing.T) {
	t.Parallel()
	b := newBoard()
	target := eventstore.Position{Commit: 10, Prepare: 4}
	reached, failing, wake, _ := b.check(map[string]int{"a": 1, "b": 1}, target)
	if reached || failing != "" {
		t.Fatalf("empty board: reached=%v failing=%q", reached, failing)
	}

	b.note("a", seen{1, target, stateLive})
	select {
	case <-wake:
	default:
		t.Fatal("note did not wake the waiter")
	}
	b.note("b", seen{1, eventstore.Position{Commit: 3}, stateFailing})
	if reached, failing, _, _ := b.check(map[string]int{"a": 1, "b": 1}, target); reached || failing != "b" {
		t.Fatalf("reached=%v failing=%q, want b failing", reached, failing)
	}
	b.note("b", seen{1, eventstore.Position{Commit: 11}, stateLive})
	b.note("b", seen{1, eventstore.Position{Commit: 4}, stateLive}) // stale, ignored
	if reached, _, _, _ := b.check(map[string]int{"a": 1, "b": 1}, target); !reached {
		t.Fatal("board went back to a stale position")
	}
	b.note("a", seen{2, eventstore.Position{Commit: 1}, stateCatchingUp}) // rebuilt as version 2
	if reached, _, _, _ := b.check(map[string]int{"a": 1}, target); reached {
		t.Fatal("version 1 reached on tables of version 2")
	}
	if reached, _, _, _ := b.check(map[string]int{"a": 2}, eventstore.Position{Commit: 1}); !reached {
		t.Fatal("version 2 not reached at its position")
	}
}
