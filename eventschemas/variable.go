package eventschemas

// Event types of the variable stream ("variable-<id>").
const (
	TypeVariableSet     = "VariableSet"
	TypeVariableDeleted = "VariableDeleted"
)

// VariableSchemas lists the schemas of the variable events.
func VariableSchemas() []Schema {
	return []Schema{
		v1[VariableSet](),
		v1[VariableDeleted](),
	}
}

// Scopes of a variable (Cometa's "based"): which features see it.
const (
	BasedDepartment  = "department"
	BasedEnvironment = "environment"
	BasedFeature     = "feature"
)

// VariableSet creates a variable or replaces all of its fields. A value
// marked encrypted holds only ciphertext (see VariableValue). EnvironmentID
// and FeatureID are 0 when the variable names none.
type VariableSet struct {
	VariableID    int64         `json:"variable_id"`
	DepartmentID  int64         `json:"department_id"`
	EnvironmentID int64         `json:"environment_id"`
	FeatureID     int64         `json:"feature_id"`
	Name          string        `json:"variable_name"`
	Based         string        `json:"based"`
	Value         VariableValue `json:"value"`
}

// EventType returns TypeVariableSet.
func (*VariableSet) EventType() string { return TypeVariableSet }

// VariableDeleted removes a variable.
type VariableDeleted struct {
	VariableID int64 `json:"variable_id"`
}

// EventType returns TypeVariableDeleted.
func (*VariableDeleted) EventType() string { return TypeVariableDeleted }
