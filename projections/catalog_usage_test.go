package projections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// TestCatalogUsage: only live features and variables count as users of an
// application or environment; deleted ones and those of a deleted
// department do not.
func TestCatalogUsage(t *testing.T) {
	t.Parallel()
	h := projectiontest.New(t, registry(t), projections.NewFeatures(), projections.NewVariables())
	ctx := context.Background()
	features := projections.NewFeatureReader(h.Pool)
	variables := projections.NewVariableReader(h.Pool)

	h.Append("department-3", &eventschemas.DepartmentCreated{DepartmentID: 3, Name: "QA", Slug: "QA"})
	h.Append("department-4", &eventschemas.DepartmentCreated{DepartmentID: 4, Name: "Old", Slug: "Old"})
	save := func(id, department, app, env int64) {
		def := definition(fmt.Sprint("F", id), department)
		def.AppID, def.EnvironmentID = app, env
		h.Append(fmt.Sprint("feature-", id), &eventschemas.FeatureCreated{FeatureID: id},
			&eventschemas.FeatureSaved{FeatureID: id, Version: 1, Definition: def})
	}
	save(7, 3, 5, 2)
	save(8, 3, 5, 2)
	save(9, 3, 5, 2)
	save(10, 4, 5, 2)
	save(11, 3, 1, 1)
	set := func(id, department, feature int64, based string) {
		h.Append(fmt.Sprint("variable-", id), &eventschemas.VariableSet{VariableID: id, DepartmentID: department,
			EnvironmentID: 2, FeatureID: feature, Name: fmt.Sprint("v", id), Based: based,
			Value: eventschemas.Plaintext("x")})
	}
	set(1, 3, 0, "environment")
	set(2, 3, 0, "environment")
	h.Append("variable-2", &eventschemas.VariableDeleted{VariableID: 2})
	set(3, 4, 0, "environment")
	set(4, 3, 9, "feature")
	set(5, 3, 7, "feature")
	h.Append("feature-9", &eventschemas.FeatureDeleted{FeatureID: 9})
	h.Append("department-4", &eventschemas.DepartmentDeleted{DepartmentID: 4})
	h.Sync()

	for _, tc := range []struct {
		name  string
		query func(ctx context.Context, id int64, limit int) (int, []int64, error)
		id    int64
		limit int
		want  string
	}{
		{"features of environment 2", features.FeaturesOfEnvironment, 2, 5, "2 [7 8]"},
		{"the first feature of environment 2", features.FeaturesOfEnvironment, 2, 1, "2 [7]"},
		{"features of application 5", features.FeaturesOfApplication, 5, 5, "2 [7 8]"},
		{"features of application 1", features.FeaturesOfApplication, 1, 5, "1 [11]"},
		{"features of an unused environment", features.FeaturesOfEnvironment, 99, 5, "0 []"},
		{"variables of environment 2", variables.VariablesOfEnvironment, 2, 5, "2 [1 5]"},
		{"variables of an unused environment", variables.VariablesOfEnvironment, 1, 5, "0 []"},
	} {
		n, ids, err := tc.query(ctx, tc.id, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := fmt.Sprint(n, " ", ids); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, got, tc.want)
		}
	}
}
