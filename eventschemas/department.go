package eventschemas

import "encoding/json"

// Event types of the department stream ("department-<id>").
const (
	TypeDepartmentCreated         = "DepartmentCreated"
	TypeDepartmentRenamed         = "DepartmentRenamed"
	TypeDepartmentSettingsChanged = "DepartmentSettingsChanged"
	TypeDepartmentDeleted         = "DepartmentDeleted"
)

// DepartmentSchemas lists the schemas of the department events.
func DepartmentSchemas() []Schema {
	return []Schema{
		v1[DepartmentCreated](),
		v1[DepartmentRenamed](),
		v1[DepartmentSettingsChanged](),
		v1[DepartmentDeleted](),
	}
}

// DepartmentCreated opens a department. Slug is derived from Name when the
// event is decided and kept as written, so a rebuild never recomputes it.
type DepartmentCreated struct {
	DepartmentID int64  `json:"department_id"`
	Name         string `json:"department_name"`
	Slug         string `json:"slug"`
}

// EventType returns TypeDepartmentCreated.
func (*DepartmentCreated) EventType() string { return TypeDepartmentCreated }

// DepartmentRenamed gives a department a new name and slug.
type DepartmentRenamed struct {
	DepartmentID int64  `json:"department_id"`
	Name         string `json:"department_name"`
	Slug         string `json:"slug"`
}

// EventType returns TypeDepartmentRenamed.
func (*DepartmentRenamed) EventType() string { return TypeDepartmentRenamed }

// DepartmentSettingsChanged replaces a department's settings object (keys
// such as "continue_on_failure" or "result_expire_days").
type DepartmentSettingsChanged struct {
	DepartmentID int64           `json:"department_id"`
	Settings     json.RawMessage `json:"settings"`
}

// EventType returns TypeDepartmentSettingsChanged.
func (*DepartmentSettingsChanged) EventType() string { return TypeDepartmentSettingsChanged }

// DepartmentDeleted removes a department. Memberships, folders and
// variables of the department go with it in the read models.
type DepartmentDeleted struct {
	DepartmentID int64 `json:"department_id"`
}

// EventType returns TypeDepartmentDeleted.
func (*DepartmentDeleted) EventType() string { return TypeDepartmentDeleted }
