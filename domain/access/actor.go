// Package access describes who issues a command, and answers the questions
// every aggregate asks about them: does their role allow this, are they a
// member of this department, do they own this object.
package access

import (
	"slices"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
)

// Actor is the caller of a command, as the command layer loaded it: an
// account with its role and its department memberships, or a service.
type Actor struct {
	// AccountID is the caller's account, or 0 for a service (runner,
	// scheduler, bootstrap).
	AccountID int64
	// Role is the caller's role.
	Role role.Role
	// Departments are the ids of the caller's departments.
	Departments []int64
}

// Service returns the actor of an internal service: it has the SUPERUSER
// role and is a member of every department, as Cometa's internal calls are.
func Service() Actor {
	r, _ := role.Lookup(role.Superuser)
	return Actor{Role: r}
}

// Account returns the actor of an account with the named role. An unknown
// role name is a *domain.FieldError.
func Account(id int64, roleName string, departments []int64) (Actor, error) {
	r, err := role.Lookup(roleName)
	if err != nil {
		return Actor{}, err
	}
	return Actor{AccountID: id, Role: r, Departments: departments}, nil
}

// SeesAllDepartments reports whether the actor is exempt from department
// scoping. Cometa grants this by the role's name SUPERUSER or by the
// show_all_departments flag.
func (a Actor) SeesAllDepartments() bool {
	return a.Role.Name == role.Superuser || a.Role.Has(role.ShowAllDepartments)
}

// InDepartment reports whether the actor may see and change objects of the
// department.
func (a Actor) InDepartment(id int64) bool {
	return a.SeesAllDepartments() || slices.Contains(a.Departments, id)
}

// RequireDepartment returns an ErrForbidden error unless the actor may act
// in every listed department.
func (a Actor) RequireDepartment(ids ...int64) error {
	for _, id := range ids {
		if !a.InDepartment(id) {
			return domain.Forbidden("not a member of department %d", id)
		}
	}
	return nil
}

// Require returns a *domain.PermissionError unless the actor's role allows
// requirement (a flag or "a||b" alternatives).
func (a Actor) Require(requirement string) error { return a.Role.Require(requirement) }

// RequireOrOwn is Require with Cometa's ownership fallback: the owner of an
// object (its creator) may act on it without the flag. owner 0 (no owner)
// never matches.
func (a Actor) RequireOrOwn(requirement string, owner int64) error {
	if a.AccountID != 0 && a.AccountID == owner {
		return nil
	}
	return a.Require(requirement)
}
