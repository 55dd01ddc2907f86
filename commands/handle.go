package commands

import (
	"context"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// Handle runs one domain decision on an aggregate's stream: it folds the
// stream's history into the aggregate's state S (starting from S's zero
// value), lets decide choose the events and appends them with the revision
// it loaded, re-deciding after a lost race (see Log.Execute). ok is false
// when the decision changed nothing.
func Handle[S domain.Evolver[S]](ctx context.Context, l *Log, stream string, meta Meta,
	decide func(S) ([]eventschemas.Payload, error)) (res eventstore.AppendResult, ok bool, err error) {
	return l.Execute(ctx, stream, meta, folded(decide))
}

// folded turns a decision over an aggregate's state S into a Decide over
// the stream's history.
func folded[S domain.Evolver[S]](decide func(S) ([]eventschemas.Payload, error)) Decide {
	return func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
		var s S
		for _, r := range history {
			s = s.Evolve(r.Payload)
		}
		return decide(s)
	}
}

// Create claims the next id of kind and appends the events that decide
// returns for a fresh aggregate S with that id (see IDs.Create).
func Create[S any](ctx context.Context, ids *IDs, kind string, meta Meta,
	decide func(s S, id int64) ([]eventschemas.Payload, error)) (int64, eventstore.AppendResult, error) {
	return ids.Create(ctx, kind, meta, func(id int64) ([]eventschemas.Payload, error) {
		var s S
		return decide(s, id)
	})
}
