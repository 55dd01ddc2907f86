package worker

import (
	"context"
	"time"

	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// Reconnect backoff of the log subscription.
const (
	resubscribeMin = 100 * time.Millisecond
	resubscribeMax = 5 * time.Second
)

// watch follows the log from after: a RunRequested queues its results
// here at once, a RunKilled stops the result if this worker executes it.
// A lost subscription is opened again from the last event seen; polling
// covers what happens meanwhile.
func (w *Worker) watch(ctx context.Context, sub eventstore.Subscription, after eventstore.Position) {
	backoff := resubscribeMin
	for {
		for {
			ev, err := sub.Recv()
			if err != nil {
				_ = sub.Close()
				if ctx.Err() != nil {
					return
				}
				w.log.WarnContext(ctx, "log subscription lost; subscribing again", "err", err,
					"after", after.String())
				break
			}
			after = ev.Position
			backoff = resubscribeMin
			w.handle(ctx, ev)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, resubscribeMax)
			var err error
			if sub, err = w.d.Log.Store().SubscribeAll(ctx, after); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			w.log.WarnContext(ctx, "subscribe to the log", "err", err)
		}
	}
}

// handle reacts to one event of the log. Only two types are decoded.
func (w *Worker) handle(ctx context.Context, ev eventstore.Event) {
	switch ev.Type {
	case eventschemas.TypeRunRequested, eventschemas.TypeRunKilled:
	default:
		return
	}
	p, err := w.d.Log.Registry().Decode(ev.Type, ev.SchemaVersion, ev.Data)
	if err != nil {
		w.log.WarnContext(ctx, "undecodable event", "stream", ev.Stream, "revision", ev.Revision, "err", err)
		return
	}
	switch e := p.(type) {
	case *eventschemas.RunRequested:
		refs := make([]run.Ref, len(e.Results))
		for i, r := range e.Results {
			refs[i] = run.Ref{FeatureResultID: r.FeatureResultID, RunID: e.RunID}
		}
		w.enqueue(refs...)
	case *eventschemas.RunKilled:
		w.mu.Lock()
		x := w.active[e.FeatureResultID]
		w.mu.Unlock()
		if x != nil {
			x.kill(e.Reason)
		}
	}
}
