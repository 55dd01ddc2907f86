package projections_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/internal/cryptojs"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

func TestVariablesModel(t *testing.T) {
	t.Parallel()
	h := projectiontest.New(t, registry(t), projections.NewVariables())
	ctx := context.Background()
	r := projections.NewVariableReader(h.Pool)

	secret, err := cryptojs.Encrypt("pass", "s3cret ✓")
	if err != nil {
		t.Fatal(err)
	}
	cipher, err := eventschemas.Ciphertext(secret)
	if err != nil {
		t.Fatal(err)
	}
	h.Append("account-1", &eventschemas.AccountCreated{AccountID: 1, Name: "Ada", Email: "ada@example.com"})
	h.Append("department-3", &eventschemas.DepartmentCreated{DepartmentID: 3, Name: "QA", Slug: "QA"})
	h.Append("environment-2", &eventschemas.EnvironmentCreated{EnvironmentID: 2, Name: "ENV-3"})
	uses := definition("Uses", 3, step("a", `Send keys "$password"`), step("b", `Goto URL "${host}/x"`))
	h.Append("feature-7", &eventschemas.FeatureCreated{FeatureID: 7},
		&eventschemas.FeatureSaved{FeatureID: 7, Version: 1, Definition: uses})
	h.Append("variable-1", &eventschemas.VariableSet{VariableID: 1, DepartmentID: 3, EnvironmentID: 2,
		Name: "password", Based: "environment", Value: cipher})
	h.Append("variable-2", &eventschemas.VariableSet{VariableID: 2, DepartmentID: 3, EnvironmentID: 2,
		FeatureID: 7, Name: "host", Based: "feature", Value: eventschemas.Plaintext("https://a")})
	h.Append("variable-3", &eventschemas.VariableSet{VariableID: 3, DepartmentID: 3, EnvironmentID: 2,
		Name: "gone", Based: "environment", Value: eventschemas.Plaintext("x")},
		&eventschemas.VariableDeleted{VariableID: 3})
	h.Sync()

	list, err := r.List(ctx, projections.VariableFilter{Departments: []int64{3}, EnvironmentName: "ENV-3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("variables: %+v", list)
	}
	pw := list[0]
	if pw.VariableValue != secret || !pw.Encrypted || pw.DepartmentName == nil || *pw.DepartmentName != "QA" ||
		pw.CreatedByName == nil || *pw.CreatedByName != "Ada" || !cmp.Equal(pw.InUse, []int64{7}) {
		t.Errorf("password = %+v", pw)
	}
	if host := list[1]; host.Feature == nil || *host.Feature != 7 || host.FeatureName == nil ||
		!cmp.Equal(host.InUse, []int64{7}) {
		t.Errorf("host = %+v", host)
	}
	if other, _ := r.List(ctx, projections.VariableFilter{Departments: []int64{4}}); len(other) != 0 {
		t.Errorf("variables of department 4: %+v", other)
	}
	if id, _ := r.Find(ctx, 3, 2, 0, "environment", "password"); id != 1 {
		t.Errorf("find password = %d, want 1", id)
	}
	if id, _ := r.Find(ctx, 3, 2, 0, "environment", "gone"); id != 0 {
		t.Errorf("deleted variable found: %d", id)
	}
	dep, env, featDep, err := r.ScopeKnown(ctx, 3, 5, 7)
	if err != nil || !dep || env || featDep != 3 {
		t.Errorf("scope known = %v %v %d %v; want true false 3", dep, env, featDep, err)
	}

	// A deleted feature takes its feature variables along.
	h.Append("feature-7", &eventschemas.FeatureDeleted{FeatureID: 7})
	h.Sync()
	if list, _ := r.List(ctx, projections.VariableFilter{All: true}); len(list) != 1 || len(list[0].InUse) != 0 {
		t.Errorf("after deleting feature 7: %+v", list)
	}
	if max, _ := r.MaxID(ctx); max != 3 {
		t.Errorf("max id %d, want 3", max)
	}
	h.CheckRebuild()
}
