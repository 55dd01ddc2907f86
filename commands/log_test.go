package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// unregistered is a payload whose type no registry knows.
type unregistered struct{ N int }

func (unregistered) EventType() string { return "NotRegistered" }

// TestAppendRefusesUnregisteredTypes checks that an event type missing
// from the registry never reaches the store, even beside valid events.
func TestAppendRefusesUnregisteredTypes(t *testing.T) {
	t.Parallel()
	log := newLog(t)
	ctx := context.Background()
	meta := commands.Meta{Actor: "account-1", Now: time.Now()}

	_, err := log.Append(ctx, "department-9", eventstore.NoStream(), meta,
		&eventschemas.DepartmentCreated{DepartmentID: 9, Name: "d", Slug: "d"}, unregistered{N: 1})
	if !errors.Is(err, eventschemas.ErrUnknownType) {
		t.Fatalf("append with an unregistered type: %v, want ErrUnknownType", err)
	}
	if _, err := log.Store().ReadStream(ctx, "department-9", eventstore.StreamQuery{}); !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("the refused batch wrote something: %v", err)
	}
	head, _, err := log.Store().Head(ctx)
	if err != nil || !head.IsZero() {
		t.Errorf("the log is not empty after a refused append: head %v, %v", head, err)
	}
}
