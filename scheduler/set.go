package scheduler

import (
	"context"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventstore"
)

// Set sets or clears a feature's schedule without checking the feature or
// the actor; it is commands.SetSchedule, kept here for its callers. An API
// handler should use commands.Schedules.Set, which checks both.
func Set(ctx context.Context, log *commands.Log, meta commands.Meta, cmd schedule.Set) (
	res eventstore.AppendResult, ok bool, err error) {
	return commands.SetSchedule(ctx, log, meta, cmd)
}
