package steps_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/runner/steps"
)

var _ feature.FlowCatalogue = (*steps.Catalogue)(nil)

// What the feature domain saves with this catalogue, the runner runs: each
// value or flow the executor would refuse is refused at save, on the
// authored step it comes from.
func TestFeatureSavesWithTheCatalogue(t *testing.T) {
	t.Parallel()
	author, err := access.Account(5, role.Devops, []int64{3})
	if err != nil {
		t.Fatal(err)
	}
	lib := feature.Library{
		{ID: 41, Name: "Looping", Steps: []feature.Step{enabled(`Loop "2" times starting at "1" and do`),
			enabled(`Press Enter`), enabled(`End Loop`)}},
		// Saved before the catalogue lost a step.
		{ID: 42, Name: "Old", Steps: []feature.Step{enabled(`I teleport to "Mars"`)}},
	}
	save := func(contents ...string) error {
		list := make([]feature.Step, len(contents))
		for i, c := range contents {
			list[i] = enabled(c)
		}
		n := 0
		newID := func() string { n++; return fmt.Sprintf("s%d", n) }
		_, err := feature.State{}.Decide(feature.Create{Actor: author, FeatureID: 40, Catalogue: steps.NewCatalogue(),
			Lookup: lib, NewStepID: newID, Definition: feature.Definition{
				FeatureName: "Checked", AppID: 1, EnvironmentID: 2, DepartmentID: 3, Steps: list}})
		return err
	}
	if err := save(`StartBrowser and call URL "https://example.org/"`, `Loop "$N" times starting at "%index" and do`,
		`I sleep "$WAIT" seconds`, `Break Loop`, `End Loop`, `Run feature with id "41" before continuing`); err != nil {
		t.Fatalf("a runnable feature: %v", err)
	}
	tests := []struct {
		contents []string
		step     int
		want     string
	}{
		{[]string{`Press Enter`, `Break Loop`}, 2, "Break Loop outside a Loop"},
		{[]string{`Continue Loop`}, 1, "Continue Loop outside a Loop"},
		{[]string{`Loop "-5" times starting at "1" and do`, `End Loop`}, 1, "the loop count -5 is not between 0 and 10000"},
		{[]string{`Loop "999999999999" times starting at "1" and do`, `End Loop`}, 1, "not between 0 and 10000"},
		{[]string{`I sleep "abc" seconds`}, 1, `"abc" is not a number of seconds`},
		{[]string{`StartBrowser and call URL "file:///root/.cometa/encryption-passphrase"`}, 1, `has scheme "file"`},
		{[]string{`Goto URL "file:///etc/passwd"`}, 1, `has scheme "file"`},
		{[]string{`Loop "2" times starting at "1" and do`, `Run feature with id "41" before continuing`, `End Loop`}, 2,
			"feature 41"},
		{[]string{`Press Enter`, `Run feature with id "42" before continuing`}, 2, `unknown step: I teleport to "Mars"`},
	}
	for _, tc := range tests {
		err := save(tc.contents...)
		fields := domain.Fields(err)
		if !errors.Is(err, domain.ErrInvalid) || len(fields) != 1 || fields[0].Step != tc.step ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("save %q: %v, want invalid step %d with %q", tc.contents, err, tc.step, tc.want)
		}
	}
}

func enabled(content string) feature.Step {
	return feature.Step{Keyword: "Given", Content: content, Enabled: true}
}
