package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// RunKeyStream is the stream that binds a run request key to its run id.
func RunKeyStream(key uuid.UUID) string { return "runkey-" + key.String() }

// errKeyRace: another request with the same key bound it first.
var errKeyRace = errors.New("run request key bound concurrently")

// foundRun stops an allocation that finds the key's run created meanwhile.
type foundRun struct{ id int64 }

func (f *foundRun) Error() string { return fmt.Sprintf("run %d has the request key", f.id) }

// requestKeyed requests the run of req at most once per key.
//
// The key's stream binds the key to a run id (RunRequestKeyed) before the
// run is created there, and a run carrying the key is only ever created at
// the id bound last, with "no stream" expected. A requester that finds the
// key bound to an id without a run (its binder stopped, or is just about
// to create it) creates the run at that id itself: the store lets one
// creation through and the loser finds the winner's run. The binding moves
// to another id only after its id turned out to hold another request's
// run, which can never become a run with this key. So at most one run has
// the key, and every requester returns it.
func (r *Runs) requestKeyed(ctx context.Context, meta Meta, key uuid.UUID, req eventschemas.RunRequested) (
	RunRequestResult, error) {
	req.RequestKey = key.String()
	var results []eventschemas.RunResult // reserved once, used by the run that is created
	reserve := func() error {
		if results != nil {
			return nil
		}
		var err error
		results, err = r.allocate(ctx, meta, req)
		return err
	}

	for range maxAttempts {
		bound, rev, isBound, err := r.loadKey(ctx, key)
		if err != nil {
			return RunRequestResult{}, err
		}
		expected := eventstore.NoStream()
		if isBound {
			st, pos, exists, err := r.runAt(ctx, bound)
			if err != nil {
				return RunRequestResult{}, err
			}
			switch {
			case exists && st.Requested.RequestKey == req.RequestKey:
				return RunRequestResult{RunID: bound, ResultIDs: resultIDs(st.Requested.Results), Position: pos}, nil
			case !exists:
				if err := reserve(); err != nil {
					return RunRequestResult{}, err
				}
				payloads, err := run.State{}.Decide(run.Request{Run: withRun(req, bound, results)})
				if err != nil {
					return RunRequestResult{}, err
				}
				res, err := r.log.Append(ctx, run.Stream(bound), eventstore.NoStream(), meta, payloads...)
				if err == nil {
					return RunRequestResult{RunID: bound, ResultIDs: resultIDs(results), Position: res.Position}, nil
				}
				if !errors.Is(err, eventstore.ErrConflict) {
					return RunRequestResult{}, err
				}
				continue // created meanwhile: look at it again
			}
			expected = eventstore.Exact(rev) // the bound id holds another run
		}

		if err := reserve(); err != nil {
			return RunRequestResult{}, err
		}
		var tried int64
		id, res, err := r.ids.Create(ctx, RunKind, meta, func(id int64) ([]eventschemas.Payload, error) {
			if tried != 0 {
				// The append at tried lost: if it lost to a requester with
				// this key, that run is the one.
				if st, _, exists, err := r.runAt(ctx, tried); err != nil {
					return nil, err
				} else if exists && st.Requested.RequestKey == req.RequestKey {
					return nil, &foundRun{id: tried}
				}
			}
			bind, err := r.log.Append(ctx, RunKeyStream(key), expected, meta,
				&eventschemas.RunRequestKeyed{RequestKey: req.RequestKey, RunID: id})
			if errors.Is(err, eventstore.ErrConflict) {
				return nil, errKeyRace
			}
			if err != nil {
				return nil, err
			}
			expected, tried = eventstore.Exact(bind.NextRevision), id
			return run.State{}.Decide(run.Request{Run: withRun(req, id, results)})
		})
		var found *foundRun
		switch {
		case err == nil:
			return RunRequestResult{RunID: id, ResultIDs: resultIDs(results), Position: res.Position}, nil
		case errors.As(err, &found):
			st, pos, _, err := r.runAt(ctx, found.id)
			if err != nil {
				return RunRequestResult{}, err
			}
			return RunRequestResult{RunID: found.id, ResultIDs: resultIDs(st.Requested.Results), Position: pos}, nil
		case errors.Is(err, errKeyRace):
			continue
		default:
			return RunRequestResult{}, err
		}
	}
	return RunRequestResult{}, fmt.Errorf("run request key %s: %d attempts lost races: %w", key, maxAttempts,
		eventstore.ErrConflict)
}

// loadKey returns the run id the key is bound to and the key stream's
// revision; bound is false when the key was never used.
func (r *Runs) loadKey(ctx context.Context, key uuid.UUID) (id int64, rev uint64, bound bool, err error) {
	history, exists, err := r.log.Load(ctx, RunKeyStream(key))
	if err != nil || !exists {
		return 0, 0, false, err
	}
	last := history[len(history)-1]
	e, ok := last.Payload.(*eventschemas.RunRequestKeyed)
	if !ok {
		return 0, 0, false, fmt.Errorf("stream %q holds a %s", RunKeyStream(key), last.Type)
	}
	return e.RunID, last.Revision, true, nil
}

// runAt loads run id; exists is false when it was never requested.
func (r *Runs) runAt(ctx context.Context, id int64) (run.State, eventstore.Position, bool, error) {
	history, exists, err := r.log.Load(ctx, run.Stream(id))
	if err != nil || !exists {
		return run.State{}, eventstore.Position{}, false, err
	}
	return run.Fold(payloadsOf(history)), history[0].Position, true, nil
}
