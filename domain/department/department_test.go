package department_test

import (
	"encoding/json"
	"testing"

	"github.com/cometa-es/cometa/domain"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/department"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

type ev = eventschemas.Payload

var (
	admin  = dt.Account(1, role.Superuser)
	devops = dt.Account(5, role.Devops, 3)
)

func created() []ev {
	return []ev{&eventschemas.DepartmentCreated{DepartmentID: 3, Name: "QA", Slug: "QA"}}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	deleted := append(created(), &eventschemas.DepartmentDeleted{DepartmentID: 3})
	dt.Run(t, department.State{}, []dt.Case[department.Command]{
		{Name: "create", When: department.Create{Actor: admin, DepartmentID: 3, Name: " Qualität & Test "},
			Then: []ev{&eventschemas.DepartmentCreated{DepartmentID: 3, Name: "Qualität & Test", Slug: "Qualitat-Test"}}},
		{Name: "create needs the flag", When: department.Create{Actor: devops, DepartmentID: 3, Name: "QA"},
			Err: domain.ErrForbidden, Message: "missing permission 'create_department'"},
		{Name: "create twice", Given: created(), When: department.Create{Actor: admin, DepartmentID: 3, Name: "QA"},
			Err: domain.ErrConflict},
		{Name: "create without name", When: department.Create{Actor: admin, DepartmentID: 3, Name: "  "},
			Err: domain.ErrInvalid, Fields: []string{"department_name"}},
		{Name: "create with a long name", When: department.Create{Actor: admin, DepartmentID: 3, Name: string(make([]byte, 101))},
			Err: domain.ErrInvalid, Fields: []string{"department_name"}},
		{Name: "rename", Given: created(), When: department.Rename{Actor: admin, DepartmentID: 3, Name: "Quality"},
			Then: []ev{&eventschemas.DepartmentRenamed{DepartmentID: 3, Name: "Quality", Slug: "Quality"}}},
		{Name: "rename to the same name", Given: created(), When: department.Rename{Actor: admin, DepartmentID: 3, Name: "QA"}},
		{Name: "rename unknown", When: department.Rename{Actor: admin, DepartmentID: 3, Name: "X"},
			Err: domain.ErrNotFound},
		{Name: "rename deleted", Given: deleted, When: department.Rename{Actor: admin, DepartmentID: 3, Name: "X"},
			Err: domain.ErrNotFound},
		{Name: "rename on another stream", Given: created(), When: department.Rename{Actor: admin, DepartmentID: 4, Name: "X"},
			Err: domain.ErrConflict},
		{Name: "rename needs the flag", Given: created(), When: department.Rename{Actor: devops, DepartmentID: 3, Name: "X"},
			Err: domain.ErrForbidden},
		{Name: "rename outside own departments", Given: created(),
			When: department.Rename{Actor: dt.Account(7, role.Manager, 4), DepartmentID: 3, Name: "X"},
			Err:  domain.ErrForbidden},
		{Name: "settings", Given: created(),
			When: department.ChangeSettings{Actor: admin, DepartmentID: 3, Settings: json.RawMessage(`{ "result_expire_days": 30 }`)},
			Then: []ev{&eventschemas.DepartmentSettingsChanged{DepartmentID: 3, Settings: json.RawMessage(`{"result_expire_days":30}`)}}},
		{Name: "settings unchanged", Given: created(),
			When: department.ChangeSettings{Actor: admin, DepartmentID: 3, Settings: json.RawMessage(`{}`)}},
		{Name: "settings not an object", Given: created(),
			When: department.ChangeSettings{Actor: admin, DepartmentID: 3, Settings: json.RawMessage(`[1]`)},
			Err:  domain.ErrInvalid, Fields: []string{"settings"}},
		{Name: "delete", Given: created(), When: department.Delete{Actor: admin, DepartmentID: 3},
			Then: []ev{&eventschemas.DepartmentDeleted{DepartmentID: 3}}},
		{Name: "delete twice", Given: deleted, When: department.Delete{Actor: admin, DepartmentID: 3},
			Err: domain.ErrNotFound},
		{Name: "delete needs the flag", Given: created(), When: department.Delete{Actor: devops, DepartmentID: 3},
			Err: domain.ErrForbidden},
	})
}

func TestFold(t *testing.T) {
	t.Parallel()
	s := department.Fold(append(created(),
		&eventschemas.DepartmentRenamed{DepartmentID: 3, Name: "Quality", Slug: "Quality"},
		&eventschemas.DepartmentSettingsChanged{DepartmentID: 3, Settings: json.RawMessage(`{"a":1}`)},
	))
	if s.ID != 3 || !s.Exists || s.Deleted || s.Name != "Quality" || string(s.Settings) != `{"a":1}` {
		t.Errorf("folded state %+v", s)
	}
	if got := department.Stream(3); got != "department-3" {
		t.Errorf("Stream(3) = %q", got)
	}
}
