package commands

import (
	"context"
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// Schedules carries out the schedule commands on behalf of an account:
// set, replace or clear the schedule of a feature.
type Schedules struct{ log *Log }

// NewSchedules returns the schedule commands.
func NewSchedules(log *Log) *Schedules { return &Schedules{log: log} }

// Set sets or clears the schedule of feature cmd.FeatureID as actor, who
// becomes the schedule's owner (cmd.OwnerID is replaced by the actor's
// account): the scheduled runs run with the owner's permissions.
//
// The feature must exist, live, in one of the actor's departments, and
// that department must not be deleted (its stream says so; a SUPERUSER is
// refused too); any other feature is domain.ErrNotFound, so that its
// existence does not leak. The actor needs edit_feature or to be the
// feature's creator (Cometa's ownership rule), else a
// *domain.PermissionError. The expression, zone and policy are the
// domain's to refuse (a *domain.FieldError). A refused command appends
// nothing; changed is false when the schedule already was what cmd asks
// for.
//
// The feature is read from its stream, not from a read model, so a feature
// just created can be scheduled at once and a deleted one cannot.
func (s *Schedules) Set(ctx context.Context, meta Meta, actor access.Actor, cmd schedule.Set) (
	res eventstore.AppendResult, changed bool, err error) {
	history, _, err := s.log.Load(ctx, feature.Stream(cmd.FeatureID))
	if err != nil {
		return res, false, fmt.Errorf("set schedule of feature %d: %w", cmd.FeatureID, err)
	}
	f := feature.Fold(payloadsOf(history))
	if !f.Exists || f.Deleted || f.ID != cmd.FeatureID || !actor.InDepartment(f.Current().DepartmentID) {
		return res, false, fmt.Errorf("set schedule: %w", domain.NotFound("feature", cmd.FeatureID))
	}
	gone, err := departmentDeleted(ctx, s.log, f.Current().DepartmentID)
	if err != nil {
		return res, false, fmt.Errorf("set schedule of feature %d: %w", cmd.FeatureID, err)
	}
	if gone {
		return res, false, fmt.Errorf("set schedule: %w", domain.NotFound("feature", cmd.FeatureID))
	}
	if err := actor.RequireOrOwn(string(role.EditFeature), f.CreatedBy); err != nil {
		return res, false, fmt.Errorf("set schedule of feature %d: %w", cmd.FeatureID, err)
	}

	cmd.OwnerID = actor.AccountID
	return SetSchedule(ctx, s.log, meta, cmd)
}

// SetSchedule sets or clears a feature's schedule without any check of the
// feature or of permissions (the caller made them): it loads the schedule
// stream, lets the domain decide and appends with the revision it loaded,
// re-deciding after a lost race. changed is false when the schedule already
// was what cmd asks for. A refused command (a *domain.FieldError, matching
// domain.ErrInvalid) appends nothing.
func SetSchedule(ctx context.Context, log *Log, meta Meta, cmd schedule.Set) (
	res eventstore.AppendResult, changed bool, err error) {
	res, changed, err = log.Execute(ctx, schedule.Stream(cmd.FeatureID), meta,
		func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
			return domain.Fold(schedule.State{}, payloadsOf(history)).Decide(cmd)
		})
	if err != nil {
		return res, false, fmt.Errorf("set schedule of feature %d: %w", cmd.FeatureID, err)
	}
	return res, changed, nil
}
