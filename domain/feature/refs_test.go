package feature_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain/feature"
)

func TestReferences(t *testing.T) {
	t.Parallel()
	steps := []feature.Step{
		step(`Run feature with id "7" before continuing`),
		step(`Run feature with name "Login ✓" before continuing`),
		disabled(step(`Run feature with id "8" before continuing`)),
		step(`Run feature with id "7" before continuing`),
		step(`Run feature with id "x" before continuing`),
		step("Run feature with name \"a\x00b\" before continuing"),
		step("Run feature with name \"\xff\" before continuing"),
		step("Press Enter"),
	}
	ids, names := feature.References(steps)
	if !cmp.Equal(ids, []int64{7}) || !cmp.Equal(names, []string{"Login ✓"}) {
		t.Errorf("references = %v %v, want [7] [Login ✓]", ids, names)
	}
}
