package feature_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/feature"
)

func subfeature(content string) feature.Step {
	s := step(content)
	s.Type = feature.TypeSubfeature
	return s
}

func TestExpand(t *testing.T) {
	t.Parallel()
	login := step(`Goto URL "https://example.com/login"`)
	lib := feature.Library{
		{ID: 7, Name: "Login", Steps: []feature.Step{login, disabled(step("Press Enter"))}},
		{ID: 8, Name: "Wrapper", ContinueOnFailure: true, Steps: []feature.Step{
			subfeature(`Run feature with name "Login" before continuing`), step(`Send keys "x"`)}},
	}
	careful := subfeature(`Run feature with id "7" before continuing`)
	careful.ContinueOnFailure = true
	steps := []feature.Step{
		step("Press Enter"),
		subfeature(`Run feature with id "8" before continuing`),
		disabled(subfeature(`Run feature with id "7" before continuing`)),
		careful,
	}
	got, err := feature.Expand(12, steps, lib)
	if err != nil {
		t.Fatal(err)
	}
	sub := func(st feature.Step, from int64, pos int, cof bool) feature.ExpandedStep {
		st.Type, st.ContinueOnFailure = feature.TypeSubstep, cof
		return feature.ExpandedStep{Step: st, BelongsTo: from, Position: pos}
	}
	want := []feature.ExpandedStep{
		{Step: steps[0], BelongsTo: 12, Position: 1},
		{Step: steps[1], BelongsTo: 12, Position: 2},
		sub(login, 7, 2, true), // Wrapper continues on failure, so does all it runs
		sub(step(`Send keys "x"`), 8, 2, true),
		{Step: steps[2], BelongsTo: 12, Position: 3},
		{Step: steps[3], BelongsTo: 12, Position: 4},
		sub(login, 7, 4, true), // the step that runs it continues on failure
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expanded (-want +got):\n%s", diff)
	}
	executed := feature.Executed(got)
	if diff := cmp.Diff([]feature.ExpandedStep{want[0], want[2], want[3], want[6]}, executed); diff != "" {
		t.Errorf("executed (-want +got):\n%s", diff)
	}
}

func TestExpandCycle(t *testing.T) {
	t.Parallel()
	lib := feature.Library{
		{ID: 7, Steps: []feature.Step{subfeature(`Run feature with id "9" before continuing`)}},
		{ID: 9, Name: "Nine", Steps: []feature.Step{subfeature(`Run feature with id "7" before continuing`)}},
	}
	_, err := feature.Expand(1, []feature.Step{step("Press Enter"),
		subfeature(`Run feature with name "Nine" before continuing`)}, lib)
	var cycle *feature.CycleError
	if !errors.As(err, &cycle) || !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("got %v, want an invalid cycle", err)
	}
	if got, want := cycle.Error(), "Infinite loop found. Trace: 1 ➔ 9 ➔ 7 ➔ 9"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if fields := domain.Fields(err); len(fields) != 1 || fields[0].Step != 2 {
		t.Errorf("fields %v, want step 2", fields)
	}
}

func TestExpandIsBounded(t *testing.T) {
	t.Parallel()
	// Feature k runs feature k-1 twice: 2^20 steps if nothing stopped it.
	lib := feature.Library{{ID: 0, Steps: []feature.Step{step("Press Enter")}}}
	for k := int64(1); k <= 20; k++ {
		run := subfeature(`Run feature with id "` + itoa(k-1) + `" before continuing`)
		lib = append(lib, feature.Referenced{ID: k, Steps: []feature.Step{run, run}})
	}
	_, err := feature.Expand(100, []feature.Step{subfeature(`Run feature with id "20" before continuing`)}, lib)
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("got %v, want invalid", err)
	}
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// A feature saved while its sub-feature had no loop gets nested loops
// once the sub-feature gains one: Expand, which a run request uses,
// refuses the list on the step that runs the sub-feature, naming it.
func TestExpandRefusesLoopsNestedThroughSubfeatures(t *testing.T) {
	t.Parallel()
	authored := []feature.Step{step(`Loop "2" times starting at "1" and do`),
		subfeature(`Run feature with id "41" before continuing`), step("End Loop")}
	before := feature.Library{{ID: 41, Steps: []feature.Step{step("Press Enter")}}}
	if _, err := feature.Expand(40, authored, before); err != nil {
		t.Fatalf("before feature 41 had a loop: %v", err)
	}
	after := feature.Library{{ID: 41, Steps: []feature.Step{step(`Loop "3" times starting at "1" and do`),
		step("Press Enter"), step("End Loop")}}}
	_, err := feature.Expand(40, authored, after)
	if !errors.Is(err, feature.ErrMultiLevelLoop) || !errors.Is(err, domain.ErrInvalid) ||
		!strings.Contains(err.Error(), "feature 41") {
		t.Fatalf("got %v, want a nested loop naming feature 41", err)
	}
	if fields := domain.Fields(err); len(fields) != 1 || fields[0].Step != 2 {
		t.Errorf("fields %v, want step 2", fields)
	}
}
