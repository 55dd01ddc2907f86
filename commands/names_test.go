package commands_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	dept "github.com/cometa-es/cometa/domain/department"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/eventstore/esdb"
	"github.com/cometa-es/cometa/eventstore/esdb/esdbtest"
)

// TestNameClaimLeftBehind plays a process that claimed a department name
// and stopped before the department's first event: the claim blocks the
// name for ClaimGrace, then the next creator takes it over. Of several
// creators taking over at once (each with the revision it read), exactly
// one wins.
func TestNameClaimLeftBehind(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		nameClaimLeftBehind(t, newLog(t))
	})
	t.Run("eventstoredb", func(t *testing.T) {
		t.Parallel()
		store, err := esdb.Open(context.Background(), esdbtest.Start(t).URL(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = store.Close() })
		reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
		if err != nil {
			t.Fatal(err)
		}
		nameClaimLeftBehind(t, commands.NewLog(store, reg))
	})
}

func nameClaimLeftBehind(t *testing.T, log *commands.Log) {
	ctx := context.Background()
	ids := commands.NewIDs(log, func(context.Context, string) (int64, error) { return 0, nil })
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) commands.Meta {
		return commands.Meta{Actor: "account-1", CommandID: uuid.New(), Now: start.Add(d)}
	}

	stream := commands.DepartmentName.ClaimStream(" Left Behind ")
	if stream != commands.DepartmentName.ClaimStream("left behind") {
		t.Fatalf("claim streams differ by case and spaces")
	}
	_, err := log.Append(ctx, stream, eventstore.NoStream(), at(0), &eventschemas.NameClaimed{
		Kind: commands.DepartmentName.Kind, Name: "Left behind", Owner: dept.Stream(99)})
	if err != nil {
		t.Fatal(err)
	}
	create := func(m commands.Meta) error {
		_, _, err := commands.CreateDepartment(ctx, log, ids, m,
			dept.Create{Actor: access.Service(), Name: "LEFT BEHIND"})
		return err
	}

	if err := create(at(10 * time.Second)); !isField(err, "department_name") {
		t.Fatalf("create within the grace period: %v, want a department_name error", err)
	}

	const racers = 6
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() { errs[i] = create(at(commands.ClaimGrace + time.Second)) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !isField(err, "department_name"):
			t.Errorf("creator %d: %v, want success or a department_name error", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d creators took the stale claim over, want 1: %v", won, errs)
	}

	// Now the owner carries the name: no age frees it.
	if err := create(at(time.Hour)); !isField(err, "department_name") {
		t.Fatalf("create an hour later: %v, want a department_name error", err)
	}
}

// isField reports whether err is a *domain.FieldError for field.
func isField(err error, field string) bool {
	var fe *domain.FieldError
	return errors.As(err, &fe) && fe.Field == field
}

// TestClaimStreamOfLookAlikes checks that a name and its look-alikes
// (characters drawn as nothing added, case and surrounding spaces changed)
// share one claim stream, and that a plain name keeps the stream it had
// before those characters were removed from the compared form: the hash
// of the trimmed, lower-cased name, pinned here.
func TestClaimStreamOfLookAlikes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		u     commands.UniqueName
		names []string
		want  string
	}{
		{commands.DepartmentName, []string{"Default", "default", " Default ", "Default\u200b",
			"Def\u00adault", "Default\u3164", "\u2060DEFAULT\ufe0f"},
			"unique-department-name-37a8eec1ce19687d132fe29051dca629"},
		{commands.AccountEmail, []string{"admin@localhost", "Admin@Localhost ", "admin@localhost\u200b"},
			"unique-account-email-7ba684f146c9445720e4b9a8d6ed775d"},
		{commands.VariableName, []string{"1/0/0/department/par1", "1/0/0/department/par1\u200b",
			"1/0/0/department/p\u200dar1 "},
			"unique-variable-name-b35d936fa98de83226d6061b9de6aca2"},
	}
	for _, tt := range tests {
		for _, name := range tt.names {
			if got := tt.u.ClaimStream(name); got != tt.want {
				t.Errorf("%s.ClaimStream(%q) = %q, want %q", tt.u.Kind, name, got, tt.want)
			}
		}
	}
	if commands.VariableName.ClaimStream("1/0/0/department/PAR1") == tests[2].want {
		t.Errorf("variable names compare with their case")
	}
}
