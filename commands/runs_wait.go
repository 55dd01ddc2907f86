package commands

import (
	"context"
	"fmt"

	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// RunFinished is the end of every result of a run.
type RunFinished struct {
	// Statuses are the results' statuses by feature result id: Success,
	// Failed or Canceled.
	Statuses map[int64]string
	// Position is the latest of the results' ResultFinished events: a read
	// model that reached it shows every result finished.
	Position eventstore.Position
}

// WaitFinished blocks until every feature result of run runID has finished
// and returns their statuses by id (Success, Failed or Canceled). It
// subscribes to the log before it reads the results, so a result finishing
// in between is not missed. ctx bounds the wait; when it ends first, the
// error wraps ctx's error.
func (r *Runs) WaitFinished(ctx context.Context, runID int64) (map[int64]string, error) {
	out, err := r.WaitRun(ctx, runID)
	return out.Statuses, err
}

// WaitRun is WaitFinished that also tells the position of the last
// ResultFinished, for a caller that then waits for the read models
// (POST /backend/exectest/ with wait: true).
func (r *Runs) WaitRun(ctx context.Context, runID int64) (RunFinished, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	store := r.log.Store()
	head, _, err := store.Head(ctx)
	if err != nil {
		return RunFinished{}, fmt.Errorf("wait for run %d: %w", runID, err)
	}
	sub, err := store.SubscribeAll(ctx, head)
	if err != nil {
		return RunFinished{}, fmt.Errorf("wait for run %d: %w", runID, err)
	}
	defer sub.Close()

	st, err := r.LoadRun(ctx, runID)
	if err != nil {
		return RunFinished{}, fmt.Errorf("wait for run %d: %w", runID, err)
	}
	out := RunFinished{Statuses: make(map[int64]string, len(st.Requested.Results))}
	pending := map[string]int64{}
	for _, res := range st.Requested.Results {
		history, _, err := r.log.Load(ctx, run.ResultStream(res.FeatureResultID))
		if err != nil {
			return out, fmt.Errorf("wait for run %d: %w", runID, err)
		}
		finished := false
		for _, ev := range history {
			if f, ok := ev.Payload.(*eventschemas.ResultFinished); ok {
				out.Statuses[res.FeatureResultID], finished = f.Status, true
				out.Position = later(out.Position, ev.Position)
			}
		}
		if !finished {
			pending[run.ResultStream(res.FeatureResultID)] = res.FeatureResultID
		}
	}

	for len(pending) > 0 {
		ev, err := sub.Recv()
		if err != nil {
			return out, fmt.Errorf("wait for run %d: %w", runID, err)
		}
		id, ok := pending[ev.Stream]
		if !ok || ev.Type != eventschemas.TypeResultFinished {
			continue
		}
		p, err := r.log.Registry().Decode(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return out, fmt.Errorf("wait for run %d: %w", runID, err)
		}
		out.Statuses[id] = p.(*eventschemas.ResultFinished).Status
		out.Position = later(out.Position, ev.Position)
		delete(pending, ev.Stream)
	}
	return out, nil
}

func later(a, b eventstore.Position) eventstore.Position {
	if a.Less(b) {
		return b
	}
	return a
}
