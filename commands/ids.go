package commands

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// maxIDProbes bounds how many taken ids Create steps over before it gives
// up. A seed that lags the log by more than this is a bug worth reporting.
const maxIDProbes = 256

// IDSeed returns the highest id of a kind that the caller knows of (from a
// read model, say), or 0. It may lag the log: Create steps over ids that
// turn out to be taken.
type IDSeed func(ctx context.Context, kind string) (int64, error)

// IDs hands out the integer ids that Cometa's API exposes (feature 12,
// department 3). An id is claimed by creating the stream "<kind>-<id>" with
// the expected revision "no stream": the log itself is the allocator, so
// ids are unique across processes, never reused after a deletion, and
// survive any rebuild of the read models.
type IDs struct {
	log  *Log
	seed IDSeed

	mu   sync.Mutex
	next map[string]int64
}

// NewIDs returns an allocator appending through log and starting each kind
// after what seed reports.
func NewIDs(log *Log, seed IDSeed) *IDs {
	return &IDs{log: log, seed: seed, next: map[string]int64{}}
}

// Create claims the next free id of kind and appends the events that build
// returns for it as the first events of "<kind>-<id>". An error of build
// refuses the command and claims nothing.
func (a *IDs) Create(ctx context.Context, kind string, meta Meta,
	build func(id int64) ([]eventschemas.Payload, error)) (int64, eventstore.AppendResult, error) {
	for range maxIDProbes {
		id, err := a.candidate(ctx, kind)
		if err != nil {
			return 0, eventstore.AppendResult{}, err
		}
		payloads, err := build(id)
		if err != nil {
			a.release(kind, id)
			return 0, eventstore.AppendResult{}, err
		}
		stream := fmt.Sprintf("%s-%d", kind, id)
		res, err := a.log.Append(ctx, stream, eventstore.NoStream(), meta, payloads...)
		if err == nil {
			return id, res, nil
		}
		if !errors.Is(err, eventstore.ErrConflict) {
			a.release(kind, id)
			return 0, res, err
		}
		// Taken by another process or before our seed: try the next one.
	}
	return 0, eventstore.AppendResult{}, fmt.Errorf("allocate %s id: %d ids in a row were taken: %w",
		kind, maxIDProbes, eventstore.ErrConflict)
}

// candidate returns the next id to try for kind, seeding the counter on
// first use.
func (a *IDs) candidate(ctx context.Context, kind string) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()

	if _, ok := a.next[kind]; !ok {
		last, err := a.seed(ctx, kind)
		if err != nil {
			return 0, fmt.Errorf("seed %s ids: %w", kind, err)
		}
		a.next[kind] = last + 1
	}
	id := a.next[kind]
	a.next[kind]++
	return id, nil
}

// release gives back an id that a refused command did not use, when no
// later id has been handed out since, so that bad requests do not leave
// holes in the numbering.
func (a *IDs) release(kind string, id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next[kind] == id+1 {
		a.next[kind] = id
	}
}
