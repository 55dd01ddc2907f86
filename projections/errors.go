package projections

import (
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/eventstore"
)

// The error categories of this package; test with errors.Is.
var (
	// ErrInvalid: a wrong argument, such as a badly named read model or a
	// name the Manager does not know. Nothing was changed.
	ErrInvalid = errors.New("invalid projection request")
	// ErrFailing: a read model is stopped at an event it cannot apply. The
	// error is a *FailingError.
	ErrFailing = errors.New("read model failing")
	// ErrBusy: another rebuild of the same read model is running.
	ErrBusy = errors.New("read model rebuild already running")
	// ErrNotFound: the request names something the framework has no record
	// of, such as a dead letter a read model never wrote. Nothing was
	// changed.
	ErrNotFound = errors.New("projection record not found")
	// ErrConflict: the request does not fit the current state, such as a
	// skip of a dead letter that is resolved already. Nothing was changed.
	ErrConflict = errors.New("projection request conflicts with the current state")
)

// FailingError tells which read model is stuck at which event and why.
type FailingError struct {
	Name     string
	Stream   string
	Revision uint64
	Position eventstore.Position
	EventID  uuid.UUID
	// Cause is the apply or decode error as recorded in the dead letter.
	Cause string
}

func (e *FailingError) Error() string {
	return fmt.Sprintf("read model %q stopped at %s@%d (position %s): %s: %v",
		e.Name, e.Stream, e.Revision, posString(e.Position), e.Cause, ErrFailing)
}

// Is makes errors.Is(err, ErrFailing) true for a *FailingError.
func (e *FailingError) Is(target error) bool { return target == ErrFailing }

// applyError is an event that could not be decoded or applied: a dead
// letter, as opposed to a transient database or store fault.
type applyError struct {
	index int // of ev in the batch it came in
	ev    eventstore.Event
	err   error
}

func (e *applyError) Error() string {
	return fmt.Sprintf("apply %s %s@%d: %v", e.ev.Type, e.ev.Stream, e.ev.Revision, e.err)
}

func (e *applyError) Unwrap() error { return e.err }

// errMoved reports that the checkpoint row no longer holds the checkpoint a
// batch started from: a rebuild swapped new tables in, or another process
// projected the same events. The projector reloads and resubscribes.
var errMoved = errors.New("checkpoint moved")
