package feature_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/eventschemas"
)

type ev = eventschemas.Payload

// catalogue is a small step catalogue of the runner's kind: patterns with
// quoted {parameters}. Unknown sentences are refused naming the pattern
// that shares the longest prefix.
type catalogue []string

func testCatalogue() catalogue {
	return catalogue{
		`Goto URL "{url}"`, `wait until I can see "{something}" on page`,
		`I move mouse to "{css_selector}" and click`, `Send keys "{keys}"`, `Press Enter`,
		`Save selector "{css_selector}" value to environment variable "{variable_name}"`,
		`I sleep "{sleeptime}" seconds`, `I can sleep "{sleeptime}" seconds`,
		`Loop "{x}" times starting at "{index}" and do`, `End Loop`, `Break Loop`, `Continue Loop`,
		`If "{v1}" "{cond}" "{v2}"`, `Else`, `End If`,
		`Run feature with id "{feature_id}" before continuing`,
		`Run feature with name "{feature_name}" before continuing`,
	}
}

var param = regexp.MustCompile(`"\{[a-z_0-9]+\}"`)

func (c catalogue) Validate(sentence string) error {
	best, bestLen := "", -1
	for _, p := range c {
		literals := param.Split(p, -1)
		for i := range literals {
			literals[i] = regexp.QuoteMeta(literals[i])
		}
		if regexp.MustCompile("^" + strings.Join(literals, `"[^"]*"`) + "$").MatchString(sentence) {
			return nil
		}
		n := 0
		for n < len(p) && n < len(sentence) && p[n] == sentence[n] {
			n++
		}
		if n > bestLen {
			best, bestLen = p, n
		}
	}
	return fmt.Errorf("unknown step, the closest known step is %q", best)
}

// flowCatalogue is the test catalogue with a flow check that refuses one
// sentence wherever it is in the executed list, naming its index as the
// runner's catalogue does.
type flowCatalogue struct {
	catalogue
	refuse string
}

type indexedError struct{ index int }

func (e indexedError) Error() string {
	return fmt.Sprintf("step %d: refused by the flow check", e.index+1)
}
func (e indexedError) StepIndex() int { return e.index }

func (c flowCatalogue) ValidateFlow(contents []string) error {
	for i, s := range contents {
		if s == c.refuse {
			return fmt.Errorf("invalid flow: %w", indexedError{i})
		}
	}
	return nil
}

// step is an enabled step with Cometa's defaults.
func step(content string) feature.Step {
	return feature.Step{Keyword: "Given", Content: content, Type: feature.TypeNormal, Enabled: true,
		Timeout: feature.DefaultStepTimeout}
}

func withID(id string, st feature.Step) feature.Step {
	st.StepID = id
	return st
}

func disabled(st feature.Step) feature.Step {
	st.Enabled = false
	return st
}

// definition is a valid definition of department 3 with the given steps.
func definition(steps ...feature.Step) feature.Definition {
	return feature.Definition{
		FeatureName: "Search", Slug: "Search", AppID: 1, AppName: "Shop", EnvironmentID: 4,
		EnvironmentName: "staging", DepartmentID: 3, DepartmentName: "QA", Cloud: "local",
		Browsers: json.RawMessage(`[]`), Mobiles: json.RawMessage(`[]`), Video: true,
		EmailAddress: []string{}, EmailCCAddress: []string{}, EmailBCCAddress: []string{},
		Steps: steps,
	}
}

// ids returns a generator of the ids n1, n2, ...
func ids() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("n%d", n)
	}
}

// firstTestcase reads Cometa's "your first testcase" steps from the
// fixtures beside the project.
func firstTestcase(t *testing.T) []feature.Step {
	t.Helper()
	data, err := os.ReadFile("testdata/first-testcase.steps.json")
	if err != nil {
		t.Fatalf("the fixture must be beside the project: %v", err)
	}
	var steps []feature.Step
	if err := json.Unmarshal(data, &steps); err != nil {
		t.Fatal(err)
	}
	return steps
}
