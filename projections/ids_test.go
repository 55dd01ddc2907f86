package projections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/projections/projectiontest"
)

// TestIDSeedRemembersDeletedIDs checks that the seed of the id allocator
// is the highest id ever claimed, deleted or not, per kind, and that the
// model rebuilds to the same tables.
func TestIDSeedRemembersDeletedIDs(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	h := projectiontest.New(t, reg, projections.IDs{})
	for _, id := range []int64{1, 2, 7} {
		h.Append(fmt.Sprint("department-", id), &eventschemas.DepartmentCreated{DepartmentID: id, Name: "d", Slug: "d"})
	}
	h.Append("department-7", &eventschemas.DepartmentDeleted{DepartmentID: 7})
	h.Append("feature-3", &eventschemas.FeatureDeleted{FeatureID: 3})
	h.Append("tick-3-20261203T1000", &eventschemas.FeatureDeleted{FeatureID: 3})
	h.Sync()

	seed := projections.IDSeed(h.Pool)
	for kind, want := range map[string]int64{"department": 7, "feature": 3, "folder": 0} {
		got, err := seed(context.Background(), kind)
		if err != nil || got != want {
			t.Errorf("seed(%q) = %d, %v; want %d", kind, got, err, want)
		}
	}
	h.CheckRebuild()
}
