package steps_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cometa-es/cometa/runner/steps"
	"github.com/cometa-es/cometa/runner/variables"
)

var fixedNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func TestVariables(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *steps.Options) { o.Now = func() time.Time { return fixedNow } })
	vars := []variables.Variable{
		{Name: "user", Value: "department-user", Scope: variables.ScopeDepartment},
		{Name: "user", Value: "feature-user", Scope: variables.ScopeFeature},
		{Name: "username", Value: "alice", Scope: variables.ScopeEnvironment},
		{Name: "PASSWORD", Value: encrypt("hunter2"), Scope: variables.ScopeEnvironment},
	}
	list := []steps.Step{
		st(`Goto URL "` + e.page("forms.html") + `"`),
		st(`Set value "$username/${user}" on "#name"`),
		st(`Check if "#name" contains "alice/feature-user" in JS property "value"`),
		st(`Set value "$PASSWORD" on "#notes"`),
		st(`Check if "#notes" contains "hunter2" in JS property "value"`),
		st(`Save selector "#name" value to environment variable "SAVED"`),
		st(`Save "x-$SAVED" to environment variable "DERIVED"`),
		st(`Save "$PASSWORD" to runtime variable "COPY"`),
		st(`Assert "$COPY" to be same as "hunter2"`),
		st(`Add a timestamp to the "order" and save it to "ORDER"`),
		st(`Assert "$ORDER" to be same as "order-1741964966"`),
		st(`Assert "#today;%d.%m.%Y;days=+1" to be same as "15.03.2025"`),
		st(`Create a string of random "6" numbers and save to "PIN"`),
		st(`Generate random "email" and store in "EMAIL"`),
		st(`Generate random string based on "[A-Z]{3}-[0-9]{4}" and store in "PLATE"`),
		st(`Get value from "#name" and store in the "NAME_TEXT" with "trim the spaces"`),
		st(`Get "id" value of "#notes" and store in the "NOTES_ID" with ""`),
		st(`Assert "$NOTES_ID" to be same as "notes"`),
		st(`Save "$PIN|$EMAIL|$PLATE" to environment variable "RANDOMS"`),
	}
	_, results, err := e.run(list, vars...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Status != steps.StatusSuccess {
			t.Fatalf("step %d %q: %s", r.Sequence, r.Name, r.Error)
		}
	}
	if got := e.sink.get("SAVED"); got != "alice/feature-user" {
		t.Errorf("SAVED = %q", got)
	}
	if got := e.sink.get("DERIVED"); got != "x-alice/feature-user" {
		t.Errorf("DERIVED = %q", got)
	}
	if !regexp.MustCompile(`^\d{6}\|[a-z.]+\d{3}@example\.org\|[A-Z]{3}-\d{4}$`).MatchString(e.sink.get("RANDOMS")) {
		t.Errorf("RANDOMS = %q", e.sink.get("RANDOMS"))
	}
	// Names stay as written; a secret never shows in what is returned.
	if results[3].Name != `Set value "$PASSWORD" on "#notes"` {
		t.Errorf("name = %q", results[3].Name)
	}
	if got := results[7].Variables["COPY"]; got != variables.Mask {
		t.Errorf("the secret runtime variable is reported as %q", got)
	}
	if got := results[5].Variables["SAVED"]; got != "alice/feature-user" {
		t.Errorf("SAVED reported as %q", got)
	}
}

func TestVariableFailuresAndMasking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vars := []variables.Variable{
		{Name: "PASSWORD", Value: encrypt("hunter2")},
		{Name: "TOKEN", Value: "tok-123456", Encrypted: true},
	}
	fail := func(list ...steps.Step) string {
		t.Helper()
		_, results, err := e.run(list, vars...)
		if err != nil {
			t.Fatal(err)
		}
		last := results[len(results)-1]
		if last.Status != steps.StatusFailed {
			t.Fatalf("%q: %s", last.Name, last.Status)
		}
		return last.Error
	}
	if msg := fail(st(`Assert "$PASSWORD" to be same as "wrong"`)); msg != `"[ENCRYPTED]" does not match "wrong"` {
		t.Errorf("masked assert: %q", msg)
	}
	if msg := fail(st(`Goto URL "`+e.page("forms.html")+`"`), st(`I can see "$TOKEN" on page`)); !strings.Contains(msg, `could not find "[ENCRYPTED]"`) || strings.Contains(msg, "tok-123456") {
		t.Errorf("masked lookup: %q", msg)
	}
	if msg := fail(st(`Define Custom Error Message for next step: "login for $PASSWORD failed"`), st(`Assert "a" to be same as "b"`)); msg != "login for [ENCRYPTED] failed" {
		t.Errorf("masked custom error: %q", msg)
	}
	if msg := fail(st(`Set value "$MISSING" on "#name"`)); msg != `variable "MISSING" is not defined` {
		t.Errorf("undefined variable: %q", msg)
	}
	if msg := fail(st(`Generate random "spaceship" and store in "X"`)); !strings.HasPrefix(msg, `unknown kind "spaceship": use one of `) {
		t.Errorf("random kind: %q", msg)
	}
	if msg := fail(st(`Generate random string based on "[a-" and store in "X"`)); !strings.HasPrefix(msg, `invalid regular expression "[a-"`) {
		t.Errorf("random regex: %q", msg)
	}
	e.sink.fail = errors.New("store down for tok-123456")
	if msg := fail(st(`Save "$TOKEN" to environment variable "T"`)); msg != `could not save environment variable "T": store down for [ENCRYPTED]` {
		t.Errorf("sink failure: %q", msg)
	}
}

func TestSaveWithoutSink(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *steps.Options) { o.Sink = nil })
	if msg := e.mustFail(st(`Goto URL "`+e.page("forms.html")+`"`), st(`Save "v" to environment variable "X"`)); msg != "environment variables cannot be saved by this runner" {
		t.Fatalf("no sink: %q", msg)
	}
}
