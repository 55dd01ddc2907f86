package eventstore

import (
	"errors"
	"fmt"
)

// The error categories of the port. Implementations wrap them; callers test
// with errors.Is.
var (
	// ErrConflict: the expected revision did not match. The error is a
	// *ConflictError.
	ErrConflict = errors.New("wrong expected revision")
	// ErrNotFound: the stream has never been written.
	ErrNotFound = errors.New("stream not found")
	// ErrUnavailable: the store cannot be reached or answered with a fault;
	// the same call may succeed later.
	ErrUnavailable = errors.New("event store unavailable")
	// ErrInvalid: the request itself is wrong (empty stream name, nil event
	// id, no events); retrying it cannot help.
	ErrInvalid = errors.New("invalid append")
)

// ConflictError is an append refused because the stream is not where the
// caller expected it to be.
type ConflictError struct {
	Stream   string
	Expected ExpectedRevision
	// Actual is the stream's last revision, or -1 when it does not exist.
	Actual int64
}

func (e *ConflictError) Error() string {
	actual := "no stream"
	if e.Actual >= 0 {
		actual = fmt.Sprintf("revision %d", e.Actual)
	}
	return fmt.Sprintf("append to stream %q: expected %s, found %s: %v",
		e.Stream, e.Expected, actual, ErrConflict)
}

// Is makes errors.Is(err, ErrConflict) true for a *ConflictError.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
