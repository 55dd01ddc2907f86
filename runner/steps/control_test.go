package steps_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
)

// brief is a compact view of results: "seq:status:name".
func brief(results []steps.StepResult) []string {
	out := make([]string, len(results))
	for i, r := range results {
		out[i] = fmt.Sprintf("%d:%s:%s", r.Sequence, r.Status, r.Name)
	}
	return out
}

func checkResults(t *testing.T, got []steps.StepResult, want []string) {
	t.Helper()
	b := brief(got)
	if strings.Join(b, "\n") != strings.Join(want, "\n") {
		t.Fatalf("results:\n%s\nwant:\n%s", strings.Join(b, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoopsAndConditions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	list := []steps.Step{
		st(`Save "" to runtime variable "seen"`),
		st(`Loop "3" times starting at "1" and do`),
		st(`Save "${seen}%index," to runtime variable "seen"`),
		st(`If "%index" "==" "2"`),
		st(`Save "${seen}two," to runtime variable "seen"`),
		st(`Else`),
		st(`# odd iteration`),
		st(`End If`),
		st(`End Loop`),
		st(`Assert "$seen" to be same as "1,2,two,3,"`),
		st(`Run feature with id "42" before continuing`),
		st(`################ done ################`),
	}
	_, results, err := e.run(list)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, results, []string{
		`1:Success:Save "" to runtime variable "seen"`,
		`2:Success:Loop "3" times starting at "1" and do`,
		`3:Success:Save "${seen}%index," to runtime variable "seen"`,
		`4:Success:If "%index" "==" "2"`,
		`5:Skipped:Save "${seen}two," to runtime variable "seen"`,
		`6:Success:Else`,
		`7:Success:# odd iteration`,
		`8:Success:End If`,
		`9:Success:Save "${seen}%index," to runtime variable "seen"`,
		`10:Success:If "%index" "==" "2"`,
		`11:Success:Save "${seen}two," to runtime variable "seen"`,
		`12:Success:Else`,
		`13:Skipped:# odd iteration`,
		`14:Success:End If`,
		`15:Success:Save "${seen}%index," to runtime variable "seen"`,
		`16:Success:If "%index" "==" "2"`,
		`17:Skipped:Save "${seen}two," to runtime variable "seen"`,
		`18:Success:Else`,
		`19:Success:# odd iteration`,
		`20:Success:End If`,
		`21:Success:End Loop`,
		`22:Success:Assert "$seen" to be same as "1,2,two,3,"`,
		`23:Success:Run feature with id "42" before continuing`,
		`24:Success:################ done ################`,
	})
	for _, r := range results {
		if r.Index < 0 || r.Index >= len(list) || list[r.Index].Content != r.Name {
			t.Fatalf("result %d has index %d", r.Sequence, r.Index)
		}
	}
}

func TestBreakAndContinue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustPass(
		st(`Save "" to runtime variable "seen"`),
		st(`Loop "5" times starting at "0" and do`),
		st(`If "%index" "==" "1"`),
		st(`Continue Loop`),
		st(`End If`),
		st(`If "%index" ">=" "3"`),
		st(`Break Loop`),
		st(`End If`),
		st(`Save "${seen}%index" to runtime variable "seen"`),
		st(`End Loop`),
		st(`Assert "$seen" to be same as "02"`),
		st(`Loop "0" times starting at "0" and do`),
		st(`Throw an error with "never runs" and leave`),
		st(`End Loop`),
		st(`If "abc" "contains" "b"`),
		st(`If "abc" "not contains" "b"`),
		st(`Throw an error with "inactive" and leave`),
		st(`End If`),
		st(`End If`),
	)
}

// Both sleep forms wait as long as they say (fractions, variables), and a
// sub-feature reference by name, expanded when the feature is saved, is a
// no-op when it runs.
func TestSleepAndSubfeatureByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	list := []steps.Step{
		st(`I sleep "0.4" seconds`),
		st(`I can sleep "$WAIT" seconds`),
		st(`Run feature with name "Login flow" before continuing`),
	}
	sum, results, err := e.run(list, variables.Variable{Name: "WAIT", Value: "0.3", Scope: variables.ScopeFeature})
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, results, []string{
		`1:Success:I sleep "0.4" seconds`,
		`2:Success:I can sleep "$WAIT" seconds`,
		`3:Success:Run feature with name "Login flow" before continuing`,
	})
	for i, least := range []time.Duration{400 * time.Millisecond, 300 * time.Millisecond} {
		if got := results[i].ExecutionTime; got < least || got > least+3*time.Second {
			t.Errorf("step %d slept %v, want %v", i+1, got, least)
		}
	}
	if sum.Status != steps.StatusSuccess || sum.OK != 3 {
		t.Errorf("summary %+v", sum)
	}
}

func TestFailuresStopOrContinue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	soft := st(`Assert "a" to be same as "b"`)
	soft.ContinueOnFailure = true
	list := []steps.Step{
		st(`Define Custom Error Message for next step: "the letters differ"`),
		soft,
		st(`Assert "x" to be same as "x"`),
		st(`Assert "c" to be same as "d"`),
		st(`Assert "never" to be same as "reached"`),
		st(`Assert "also" to be same as "not reached"`),
	}
	sum, results, err := e.run(list)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, results, []string{
		`1:Success:Define Custom Error Message for next step: "the letters differ"`,
		`2:Failed:Assert "a" to be same as "b"`,
		`3:Success:Assert "x" to be same as "x"`,
		`4:Failed:Assert "c" to be same as "d"`,
	})
	if results[1].Error != "the letters differ" || results[3].Error != `"c" does not match "d"` {
		t.Fatalf("errors %q, %q", results[1].Error, results[3].Error)
	}
	want := steps.Summary{Status: steps.StatusFailed, Total: 6, OK: 2, Fails: 2, Skipped: 2, Error: "the letters differ"}
	sum.ExecutionTime = 0
	if sum != want {
		t.Fatalf("summary %+v, want %+v", sum, want)
	}
}

func TestRejectedBeforeRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		list []steps.Step
		is   error
		text string
	}{
		{nil, steps.ErrNoSteps, "no steps found"},
		{[]steps.Step{st(`Goto URL "x"`), st(`Frobnicate the page`)}, steps.ErrUnknownStep, "step 2: unknown step: Frobnicate the page"},
		{[]steps.Step{st(`End If`)}, steps.ErrInvalidFlow, "End If without an open If"},
	}
	for _, tc := range tests {
		_, results, err := e.run(tc.list)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("Run(%v) = %v, want %v with %q", tc.list, err, tc.is, tc.text)
		}
		if len(results) != 0 {
			t.Errorf("Run(%v) executed %d steps", tc.list, len(results))
		}
	}
	sum, results, err := e.run([]steps.Step{st(`Loop "many" times starting at "1" and do`), st(`End Loop`)})
	if err != nil || len(results) != 1 || results[0].Error != `the loop count "many" is not a whole number` {
		t.Fatalf("bad loop count: %v %+v", err, results)
	}
	if sum.Total != 2 || sum.Fails != 1 || sum.Skipped != 1 {
		t.Fatalf("summary %+v", sum)
	}
	// Values from variables are checked once substituted, as Validate
	// checks literal ones.
	for _, tc := range []struct{ step, value, want string }{
		{`Loop "$N" times starting at "1" and do`, "-5", "the loop count -5 is not between 0 and 10000"},
		{`Loop "$N" times starting at "1" and do`, "999999999999", "the loop count 999999999999 is not between 0 and 10000"},
		{`I sleep "$N" seconds`, "abc", `"abc" is not a number of seconds`},
	} {
		list := []steps.Step{st(tc.step)}
		if strings.HasPrefix(tc.step, "Loop") {
			list = append(list, st(`End Loop`))
		}
		_, results, err := e.run(list, variables.Variable{Name: "N", Value: tc.value})
		if err != nil || len(results) != 1 || results[0].Error != tc.want {
			t.Errorf("%s with N=%s: %v %+v, want %q", tc.step, tc.value, err, results, tc.want)
		}
	}
}
