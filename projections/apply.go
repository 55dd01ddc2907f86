package projections

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// handler is a read model with what the framework derived from it once.
type handler struct {
	model   ReadModel
	name    string
	version int
	handles map[string]bool
	queuer  Queuer // nil when the model only has Apply
	// skipped are the events an operator had this Version skip (see
	// RequestSkip), which decode passes over. Only the copy a rebuild works
	// with sets it: the live projector's checkpoint is past them already.
	skipped map[uuid.UUID]bool
}

func newHandler(m ReadModel) *handler {
	h := &handler{model: m, name: m.Name(), version: m.Version(), handles: make(map[string]bool)}
	for _, typ := range m.EventTypes() {
		h.handles[typ] = true
	}
	h.queuer, _ = m.(Queuer)
	return h
}

// item is a decoded event the model handles, with its index in the batch.
type item struct {
	index int
	ev    Event
}

// decode upcasts and decodes the events of the batch that the model
// handles and has not skipped. An event that does not decode is an
// *applyError: it is the event's fault and no retry can change that.
func (h *handler) decode(reg *eventschemas.Registry, events []eventstore.Event) ([]item, error) {
	items := make([]item, 0, len(events))
	for i, ev := range events {
		if !h.handles[ev.Type] || h.skipped[ev.ID] {
			continue
		}
		payload, err := reg.Decode(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return nil, &applyError{index: i, ev: ev, err: err}
		}
		items = append(items, item{index: i, ev: Event{Event: ev, Payload: payload}})
	}
	return items, nil
}

// apply runs the model's changes for items inside tx, whose search_path is
// already the model's schema. It queues them into one pipelined batch when
// the model is a Queuer, and calls Apply per event otherwise. A failure is
// reported with the batch index of the event that caused it; whether it is
// a dead letter or a transient fault is for the caller to judge.
func (h *handler) apply(ctx context.Context, tx pgx.Tx, items []item) (index int, err error) {
	if h.queuer == nil {
		for _, it := range items {
			if err := h.model.Apply(ctx, tx, it.ev); err != nil {
				return it.index, err
			}
		}
		return -1, nil
	}

	b := &pgx.Batch{}
	ends := make([]int, len(items)) // statements queued up to and including item i
	for i, it := range items {
		if err := h.queuer.Queue(b, it.ev); err != nil {
			return it.index, err
		}
		ends[i] = b.Len()
	}
	if b.Len() == 0 {
		return -1, nil
	}
	results := tx.SendBatch(ctx, b)
	owner := 0
	for s := range b.Len() {
		for ends[owner] <= s {
			owner++
		}
		if _, err := results.Exec(); err != nil {
			_ = results.Close()
			return items[owner].index, err
		}
	}
	if err := results.Close(); err != nil {
		return items[len(items)-1].index, err
	}
	return -1, nil
}

// setSearchPath confines the rest of tx to one schema, so that DDL and
// Apply use unqualified names. pg_catalog stays implicitly in front.
func setSearchPath(ctx context.Context, tx pgx.Tx, schema string) error {
	path := pgx.Identifier{schema}.Sanitize()
	if _, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", path); err != nil {
		return fmt.Errorf("set search_path to %s: %w", schema, err)
	}
	return nil
}

// classify turns the failure of apply into an *applyError (a dead letter)
// unless it is a transient fault of the database.
func classify(events []eventstore.Event, index int, err error) error {
	if isTransient(err) || index < 0 || index >= len(events) {
		return err
	}
	return &applyError{index: index, ev: events[index], err: err}
}
