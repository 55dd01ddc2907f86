package variable_test

import (
	"testing"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/variable"
	"github.com/cometa-es/cometa/eventschemas"
)

type ev = eventschemas.Payload

const cipher = "U2FsdGVkX1+X8pvfbirj2eVHFfTaVKDFkHvLEPkJ9Qw="

var (
	member    = dt.Account(5, role.Anonymous, 3)
	outsider  = dt.Account(7, role.Devops, 4)
	traveller = dt.Account(8, role.Devops, 3, 4)
	admin     = dt.Account(1, role.Superuser)
)

func secret(t *testing.T) eventschemas.VariableValue {
	t.Helper()
	v, err := eventschemas.Ciphertext(cipher)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func set() []ev {
	return []ev{&eventschemas.VariableSet{VariableID: 9, DepartmentID: 3, EnvironmentID: 4,
		Name: "URL", Based: eventschemas.BasedEnvironment, Value: eventschemas.Plaintext("https://example.com")}}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	plainSet := variable.Set{Actor: member, VariableID: 9, DepartmentID: 3, EnvironmentID: 4,
		Name: " URL ", Value: "https://example.com"}
	deleted := append(set(), &eventschemas.VariableDeleted{VariableID: 9})
	with := func(change func(*variable.Set)) variable.Set {
		c := plainSet
		change(&c)
		return c
	}
	dt.Run(t, variable.State{}, []dt.Case[variable.Command]{
		{Name: "create plain", When: plainSet, Then: set()},
		{Name: "create encrypted", When: with(func(c *variable.Set) {
			c.Name, c.Encrypted, c.Value, c.FeatureID, c.FeatureDepartmentID = "PASSWORD", true, cipher, 12, 3
		}),
			Then: []ev{&eventschemas.VariableSet{VariableID: 9, DepartmentID: 3, EnvironmentID: 4, FeatureID: 12,
				Name: "PASSWORD", Based: eventschemas.BasedFeature, Value: secret(t)}}},
		{Name: "encrypted but plain text", When: with(func(c *variable.Set) { c.Encrypted, c.Value = true, "12345" }),
			Err: domain.ErrInvalid, Fields: []string{"variable_value"}, Message: "ciphertext"},
		{Name: "encrypted but only the prefix", When: with(func(c *variable.Set) {
			c.Encrypted, c.Value = true, "U2FsdGVkX1-plain"
		}), Err: domain.ErrInvalid, Fields: []string{"variable_value"}},
		{Name: "department scope", When: with(func(c *variable.Set) { c.Based = eventschemas.BasedDepartment }),
			Then: []ev{&eventschemas.VariableSet{VariableID: 9, DepartmentID: 3, EnvironmentID: 4,
				Name: "URL", Based: eventschemas.BasedDepartment, Value: eventschemas.Plaintext("https://example.com")}}},
		{Name: "feature scope without feature", When: with(func(c *variable.Set) { c.Based = eventschemas.BasedFeature }),
			Err: domain.ErrInvalid, Fields: []string{"feature"}},
		{Name: "feature of another department", When: with(func(c *variable.Set) {
			c.FeatureID, c.FeatureDepartmentID = 12, 4
		}), Err: domain.ErrInvalid, Fields: []string{"feature"}},
		{Name: "everything missing", When: variable.Set{Actor: member, VariableID: 9, Based: "global", Value: "a\x00"},
			Err: domain.ErrInvalid, Fields: []string{"department", "environment", "based", "variable_name", "variable_value"}},
		{Name: "create needs the flag", When: with(func(c *variable.Set) { c.Actor = viewer() }),
			Err: domain.ErrForbidden, Message: "create_variable"},
		{Name: "edit needs its own flag", Given: set(), When: with(func(c *variable.Set) {
			c.Actor, c.Value = creatorOnly(), "x"
		}), Err: domain.ErrForbidden, Message: "edit_variable"},
		{Name: "create in another department", When: with(func(c *variable.Set) { c.Actor = outsider }),
			Err: domain.ErrForbidden},
		{Name: "edit", Given: set(), When: with(func(c *variable.Set) { c.Value = "https://example.org" }),
			Then: []ev{&eventschemas.VariableSet{VariableID: 9, DepartmentID: 3, EnvironmentID: 4,
				Name: "URL", Based: eventschemas.BasedEnvironment, Value: eventschemas.Plaintext("https://example.org")}}},
		{Name: "edit to the same", Given: set(), When: plainSet},
		{Name: "edit plain to encrypted", Given: set(), When: with(func(c *variable.Set) { c.Encrypted, c.Value = true, cipher }),
			Then: []ev{&eventschemas.VariableSet{VariableID: 9, DepartmentID: 3, EnvironmentID: 4,
				Name: "URL", Based: eventschemas.BasedEnvironment, Value: secret(t)}}},
		{Name: "edit into another department", Given: set(), When: with(func(c *variable.Set) {
			c.Actor, c.DepartmentID = traveller, 4
		}), Then: []ev{&eventschemas.VariableSet{VariableID: 9, DepartmentID: 4, EnvironmentID: 4,
			Name: "URL", Based: eventschemas.BasedEnvironment, Value: eventschemas.Plaintext("https://example.com")}}},
		{Name: "edit from outside", Given: set(), When: with(func(c *variable.Set) { c.Actor, c.DepartmentID = outsider, 4 }),
			Err: domain.ErrForbidden},
		{Name: "edit deleted", Given: deleted, When: plainSet, Err: domain.ErrNotFound},
		{Name: "delete", Given: set(), When: variable.Delete{Actor: admin, VariableID: 9},
			Then: []ev{&eventschemas.VariableDeleted{VariableID: 9}}},
		{Name: "delete needs the flag", Given: set(), When: variable.Delete{Actor: member, VariableID: 9},
			Err: domain.ErrForbidden, Message: "delete_variable"},
		{Name: "delete twice", Given: deleted, When: variable.Delete{Actor: admin, VariableID: 9},
			Err: domain.ErrNotFound},
	})
}

// viewer is a member of department 3 whose role has no variable flags.
func viewer() access.Actor {
	a := member
	a.Role, _ = role.New("VIEWER", 5, role.ViewFeature)
	return a
}

// creatorOnly may create variables but not edit them.
func creatorOnly() access.Actor {
	a := member
	a.Role, _ = role.New("CREATOR", 5, role.CreateVariable)
	return a
}
