package eventstore

import "fmt"

// ExpectedRevision is the optimistic-concurrency condition of an append.
// Build one with Any, NoStream, StreamExists or Exact.
type ExpectedRevision struct {
	kind     revisionKind
	revision uint64
}

type revisionKind int

const (
	kindAny revisionKind = iota
	kindNoStream
	kindStreamExists
	kindExact
)

// Any appends whatever the stream's state. Retries are idempotent only on a
// best-effort basis.
func Any() ExpectedRevision { return ExpectedRevision{kind: kindAny} }

// NoStream appends only if the stream has never been written. It is how a
// new aggregate claims its id and how a schedule tick is claimed once.
func NoStream() ExpectedRevision { return ExpectedRevision{kind: kindNoStream} }

// StreamExists appends only if the stream has at least one event.
func StreamExists() ExpectedRevision { return ExpectedRevision{kind: kindStreamExists} }

// Exact appends only if the stream's last event has revision r.
func Exact(r uint64) ExpectedRevision { return ExpectedRevision{kind: kindExact, revision: r} }

// IsAny reports whether e places no condition.
func (e ExpectedRevision) IsAny() bool { return e.kind == kindAny }

// IsNoStream reports whether e requires a stream that does not exist.
func (e ExpectedRevision) IsNoStream() bool { return e.kind == kindNoStream }

// IsStreamExists reports whether e requires an existing stream.
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == kindStreamExists }

// Revision returns the exact revision e requires, and false when e is not
// an exact condition.
func (e ExpectedRevision) Revision() (uint64, bool) {
	return e.revision, e.kind == kindExact
}

// Matches reports whether a stream whose last revision is current (or that
// does not exist, when exists is false) satisfies e.
func (e ExpectedRevision) Matches(current uint64, exists bool) bool {
	switch e.kind {
	case kindNoStream:
		return !exists
	case kindStreamExists:
		return exists
	case kindExact:
		return exists && current == e.revision
	default:
		return true
	}
}

// String renders e the way conflict messages show it.
func (e ExpectedRevision) String() string {
	switch e.kind {
	case kindNoStream:
		return "no stream"
	case kindStreamExists:
		return "stream exists"
	case kindExact:
		return fmt.Sprintf("revision %d", e.revision)
	default:
		return "any"
	}
}
