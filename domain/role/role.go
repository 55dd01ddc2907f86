package role

import (
	"fmt"
	"strings"

	"github.com/cometa-es/cometa/domain"
)

// The names of Cometa's default roles.
const (
	Superuser = "SUPERUSER"
	Manager   = "MANAGER"
	Devops    = "DEVOPS"
	Anonymous = "ANONYMOUS"
	Analysis  = "ANALYSIS"
)

// Default is the role of an account created without one.
const Default = Anonymous

// Role is a named set of permission flags with a power. A role may grant
// only roles of lower or equal power.
type Role struct {
	Name  string
	Power int
	set   uint64 // bit i: Flags()[i] is granted
}

// New returns a role with the given flags. view_admin_panel is derived
// from the panel flags as Cometa does, whether or not it is listed; an
// unknown flag is an error.
func New(name string, power int, flags ...Flag) (Role, error) {
	r := Role{Name: name, Power: power}
	for _, f := range flags {
		b := bit(f)
		if b < 0 {
			return Role{}, fmt.Errorf("role %q: unknown flag %q", name, f)
		}
		if f != ViewAdminPanel {
			r.set |= 1 << b
		}
	}
	for _, f := range adminPanels() {
		if r.Has(f) {
			r.set |= 1 << bit(ViewAdminPanel)
			break
		}
	}
	return r, nil
}

func mustNew(name string, power int, flags ...Flag) Role {
	r, err := New(name, power, flags...)
	if err != nil {
		panic(err) // the defaults below are constants of this package
	}
	return r
}

// Defaults returns Cometa's five roles in descending power.
func Defaults() []Role {
	everything := Flags()
	// Cometa's fixture does not set these for SUPERUSER; it sees all
	// departments because code special-cases the role's name.
	var superuser []Flag
	for _, f := range everything {
		if f != ShowAllDepartments && f != ShowDepartmentUsers && f != ManageMobiles {
			superuser = append(superuser, f)
		}
	}
	featureWork := []Flag{CreateFeature, EditFeature, RunFeature, ViewFeature, CreateVariable, EditVariable}
	devops := append([]Flag{DownloadResultFiles, CreateFolder, DeleteFolder}, featureWork...)
	return []Role{
		mustNew(Superuser, 100, superuser...),
		mustNew(Manager, 30, append([]Flag{ChangeResultStatus}, devops...)...),
		mustNew(Devops, 20, devops...),
		mustNew(Anonymous, 10, featureWork...),
		mustNew(Analysis, 0, devops...),
	}
}

// Lookup returns the default role named name. An unknown name is a
// *domain.FieldError for "permission_name".
func Lookup(name string) (Role, error) {
	for _, r := range Defaults() {
		if r.Name == name {
			return r, nil
		}
	}
	return Role{}, domain.Invalid("permission_name", "unknown role %q", name)
}

// Has reports whether the role grants f.
func (r Role) Has(f Flag) bool {
	b := bit(f)
	return b >= 0 && r.set&(1<<b) != 0
}

// Granted lists the role's flags in the order of Flags.
func (r Role) Granted() []Flag {
	var out []Flag
	for _, f := range Flags() {
		if r.Has(f) {
			out = append(out, f)
		}
	}
	return out
}

// Allows reports whether the role satisfies a requirement written as
// Cometa does: one flag, or alternatives joined by "||" of which any one
// suffices. Unknown flags are never granted.
func (r Role) Allows(requirement string) bool {
	for _, name := range strings.Split(requirement, "||") {
		if r.Has(Flag(strings.TrimSpace(name))) {
			return true
		}
	}
	return false
}

// Require returns nil when the role allows requirement, else a
// *domain.PermissionError carrying the requirement as written.
func (r Role) Require(requirement string) error {
	if r.Allows(requirement) {
		return nil
	}
	return &domain.PermissionError{Flags: requirement}
}

// CanGrant reports whether an account of role granter may give an account
// the role target: only roles of lower or equal power.
func CanGrant(granter, target Role) bool { return target.Power <= granter.Power }

// Assignable lists the default roles that granter may give, in descending
// power (Cometa's login payload calls them "permissions").
func Assignable(granter Role) []Role {
	var out []Role
	for _, r := range Defaults() {
		if CanGrant(granter, r) {
			out = append(out, r)
		}
	}
	return out
}
