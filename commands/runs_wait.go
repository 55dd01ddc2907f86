package commands

import (
	"context"
	"fmt"

	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
)

// WaitFinished blocks until every feature result of run runID has finished
// and returns their statuses by id (Success, Failed or Canceled). It
// subscribes to the log before it reads the results, so a result finishing
// in between is not missed. ctx bounds the wait; when it ends first, the
// error wraps ctx's error.
func (r *Runs) WaitFinished(ctx context.Context, runID int64) (map[int64]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	store := r.log.Store()
	head, _, err := store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("wait for run %d: %w", runID, err)
	}
	sub, err := store.SubscribeAll(ctx, head)
	if err != nil {
		return nil, fmt.Errorf("wait for run %d: %w", runID, err)
	}
	defer sub.Close()

	st, err := r.LoadRun(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("wait for run %d: %w", runID, err)
	}
	statuses := make(map[int64]string, len(st.Requested.Results))
	pending := map[string]int64{}
	for _, res := range st.Requested.Results {
		s, _, err := r.LoadResult(ctx, res.FeatureResultID)
		if err != nil {
			return nil, fmt.Errorf("wait for run %d: %w", runID, err)
		}
		if s.Finished {
			statuses[res.FeatureResultID] = s.Status
		} else {
			pending[run.ResultStream(res.FeatureResultID)] = res.FeatureResultID
		}
	}

	for len(pending) > 0 {
		ev, err := sub.Recv()
		if err != nil {
			return statuses, fmt.Errorf("wait for run %d: %w", runID, err)
		}
		id, ok := pending[ev.Stream]
		if !ok || ev.Type != eventschemas.TypeResultFinished {
			continue
		}
		p, err := r.log.Registry().Decode(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return statuses, fmt.Errorf("wait for run %d: %w", runID, err)
		}
		statuses[id] = p.(*eventschemas.ResultFinished).Status
		delete(pending, ev.Stream)
	}
	return statuses, nil
}
