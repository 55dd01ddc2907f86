package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/department"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// joinRounds bounds the rounds of Execute attempts at joining a created
// department (each round is up to maxAttempts appends).
const joinRounds = 16

// CreateDepartment opens a department with the next free id (c.DepartmentID
// is ignored) and, when the actor is an account, makes it a member, as
// Cometa does. The two appends are not atomic: should the second fail, the
// department exists without its creator as a member and the error says so.
// The name is claimed first (DepartmentName): a name another department
// holds is refused with a 400 naming department_name.
func CreateDepartment(ctx context.Context, l *Log, ids *IDs, meta Meta, c department.Create) (int64, eventstore.AppendResult, error) {
	id, res, err := createNamed(ctx, ids, "department", meta, DepartmentName, c.Name,
		func(s department.State, id int64) ([]eventschemas.Payload, error) {
			c.DepartmentID = id
			return s.Decide(c)
		})
	if err != nil || c.Actor.AccountID == 0 {
		return id, res, err
	}
	// Joining only adds to a set, so losing a race on the account's stream
	// (the same account creating several departments at once) is retried
	// beyond Execute's budget: the department exists already, and a 409
	// now would leave its creator outside it.
	join := account.JoinDepartment{Actor: c.Actor, AccountID: c.Actor.AccountID, DepartmentID: id}
	var (
		joined eventstore.AppendResult
		ok     bool
	)
	for range joinRounds {
		joined, ok, err = ChangeAccount(ctx, l, meta, c.Actor.AccountID, join)
		if !errors.Is(err, eventstore.ErrConflict) {
			break
		}
	}
	if err != nil {
		return id, res, fmt.Errorf("department %d created, but its creator did not join it: %w", id, err)
	}
	if ok {
		res = joined
	}
	return id, res, nil
}

// ChangeDepartment carries out a department.Rename, ChangeSettings or
// Delete on department id's stream. A rename claims the new name first
// and releases the old one after; a deletion releases the name.
func ChangeDepartment(ctx context.Context, l *Log, meta Meta, id int64, c department.Command) (eventstore.AppendResult, bool, error) {
	stream := department.Stream(id)
	decide := folded(func(s department.State) ([]eventschemas.Payload, error) {
		return s.Decide(c)
	})
	switch c := c.(type) {
	case department.Rename:
		return renamed(ctx, l, meta, DepartmentName, stream, c.Name, decide)
	case department.Delete:
		return removed(ctx, l, meta, DepartmentName, stream, decide)
	}
	return l.Execute(ctx, stream, meta, decide)
}

// liveDepartments returns ids without the departments whose streams say
// they were deleted, in the order given. An account's stream keeps a
// deleted department among its memberships (DepartmentDeleted is appended
// to the department's stream only), so an actor built from that stream
// passes through here. A department that was never created is kept: it
// is not this function's to refuse.
func liveDepartments(ctx context.Context, l *Log, ids []int64) ([]int64, error) {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		deleted, err := departmentDeleted(ctx, l, id)
		if err != nil {
			return nil, err
		}
		if !deleted {
			out = append(out, id)
		}
	}
	return out, nil
}

// requireDepartment refuses, as an invalid field, a department id whose
// stream holds no live department (never created, or deleted since). It
// reads the stream, not a read model, so a department deleted a moment ago
// is refused too.
func requireDepartment(ctx context.Context, l *Log, field string, id int64) error {
	s, err := LoadDepartment(ctx, l, id)
	if err != nil {
		return err
	}
	if !s.Exists || s.Deleted {
		return domain.Invalid(field, "no such object: %d", id)
	}
	return nil
}

// departmentDeleted reports whether department id's stream holds its
// DepartmentDeleted.
func departmentDeleted(ctx context.Context, l *Log, id int64) (bool, error) {
	s, err := LoadDepartment(ctx, l, id)
	return s.Deleted, err
}

// LoadDepartment returns department id as its stream makes it; a
// department never created has Exists false.
func LoadDepartment(ctx context.Context, l *Log, id int64) (department.State, error) {
	history, _, err := l.Load(ctx, department.Stream(id))
	if err != nil {
		return department.State{}, fmt.Errorf("load department %d: %w", id, err)
	}
	return department.Fold(payloadsOf(history)), nil
}
