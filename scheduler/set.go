package scheduler

import (
	"context"
	"fmt"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// Set sets or clears a feature's schedule: it loads the schedule stream,
// lets the domain decide and appends with the revision it loaded. ok is
// false when the schedule already was what cmd asks for. A refused command
// (a *domain.FieldError, matching domain.ErrInvalid) appends nothing.
// Whether the feature exists and the actor may edit it is checked before,
// by the caller.
func Set(ctx context.Context, log *commands.Log, meta commands.Meta, cmd schedule.Set) (
	res eventstore.AppendResult, ok bool, err error) {
	res, ok, err = log.Execute(ctx, schedule.Stream(cmd.FeatureID), meta,
		func(history []commands.Recorded, _ bool) ([]eventschemas.Payload, error) {
			var state schedule.State
			for _, r := range history {
				state = state.Evolve(r.Payload)
			}
			return state.Decide(cmd)
		})
	if err != nil {
		return res, false, fmt.Errorf("set schedule of feature %d: %w", cmd.FeatureID, err)
	}
	return res, ok, nil
}
