package steps

import (
	"context"
	"strconv"
	"strings"
	"time"
)

func controlSteps() []definition {
	return []definition{
		{pattern: `Loop "{x}" times starting at "{index}" and do`, kind: kindLoop, run: stepLoop,
			checks:      map[string]check{"x": wholeIn("the loop count", 0, maxIterations), "index": anyWhole("the loop start")},
			description: `Runs the steps up to End Loop x times; %index counts from the start value.<br>Example: Loop "3" times starting at "1" and do`},
		{pattern: `End Loop`, kind: kindEndLoop,
			description: `Ends the steps of a Loop.<br>Example: End Loop`},
		{pattern: `Break Loop`, kind: kindBreakLoop,
			description: `Leaves the current Loop.<br>Example: Break Loop`},
		{pattern: `Continue Loop`, kind: kindContinueLoop,
			description: `Goes on with the next iteration of the current Loop.<br>Example: Continue Loop`},
		{pattern: `If "{value1}" "{condition}" "{value2}"`, kind: kindIf, run: stepIf,
			checks:      map[string]check{"condition": oneOf("condition", false, conditions...)},
			description: `Runs the steps up to Else or End If only when the condition holds: equals, not equals, contains, not contains (text) or >=, <=, ==, !=, >, < (numbers); the others are Skipped.<br>Example: If "$ENV" "equals" "staging"`},
		{pattern: `Else`, kind: kindElse,
			description: `Starts the steps that run when the If condition does not hold.<br>Example: Else`},
		{pattern: `End If`, kind: kindEndIf,
			description: `Ends an If block.<br>Example: End If`},
		{pattern: `Run feature with id "{feature_id}" before continuing`, kind: kindSubfeature, raw: true,
			description: `Runs the steps of another feature here (they are put in place when the feature is saved).<br>Example: Run feature with id "320" before continuing`},
		{pattern: `Run feature with name "{feature_name}" before continuing`, kind: kindSubfeature, raw: true,
			description: `Runs the steps of another feature, found by name, here (put in place when the feature is saved).<br>Example: Run feature with name "Login" before continuing`},
		{pattern: `Define Custom Error Message for next step: "{error_message}"`, run: stepCustomError,
			description: `When the next step fails, its error is this message.<br>Example: Define Custom Error Message for next step: "The login page did not open"`},
		{pattern: `I sleep "{sleeptime}" seconds`, run: stepSleep,
			checks:      map[string]check{"sleeptime": checkSleep},
			description: `Waits the number of seconds (the step's timeout must be longer).<br>Example: I sleep "2" seconds`},
		{pattern: `I can sleep "{sleeptime}" seconds`, run: stepSleep,
			checks:      map[string]check{"sleeptime": checkSleep},
			description: `Waits the number of seconds (the step's timeout must be longer).<br>Example: I can sleep "0.5" seconds`},
		{pattern: `#{comment}`, kind: kindComment, raw: true,
			description: `A comment; does nothing.<br>Example: #log in first`},
		{pattern: `################ {comment} ################`, kind: kindComment, raw: true,
			description: `A section heading comment; does nothing.<br>Example: ################ Checkout ################`},
	}
}

func wholeNumber(s, what string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, failf("%s %q is not a whole number", what, s)
	}
	return n, nil
}

// maxIterations bounds a loop, so that a typo cannot run for ever.
const maxIterations = 10000

func stepLoop(_ context.Context, x *stepRun) error {
	n, err := wholeNumber(x.arg("x"), "the loop count")
	if err != nil {
		return err
	}
	if n < 0 || n > maxIterations {
		return failf("the loop count %d is not between 0 and %d", n, maxIterations)
	}
	start, err := wholeNumber(x.arg("index"), "the loop start")
	if err != nil {
		return err
	}
	x.loopCount, x.loopStart = n, start
	return nil
}

// conditions are the conditions of If: text comparisons, then numeric.
var conditions = []string{"equals", "not equals", "contains", "not contains", ">=", "<=", ">", "<", "==", "!="}

func stepIf(_ context.Context, x *stepRun) error {
	a, cond, b := x.arg("value1"), strings.TrimSpace(x.arg("condition")), x.arg("value2")
	x.noteVar("value1", a)
	x.noteVar("value2", b)
	switch cond {
	case "equals":
		x.cond = a == b
		return nil
	case "not equals":
		x.cond = a != b
		return nil
	case "contains":
		x.cond = strings.Contains(a, b)
		return nil
	case "not contains":
		x.cond = !strings.Contains(a, b)
		return nil
	}
	cmp, ok := map[string]func(p, q float64) bool{
		">=": func(p, q float64) bool { return p >= q },
		"<=": func(p, q float64) bool { return p <= q },
		">":  func(p, q float64) bool { return p > q },
		"<":  func(p, q float64) bool { return p < q },
		"==": func(p, q float64) bool { return p == q },
		"!=": func(p, q float64) bool { return p != q },
	}[cond]
	if !ok {
		return failf("unknown condition %q: use equals, not equals, contains, not contains, >=, <=, >, <, == or !=", cond)
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(a), 64)
	if err != nil {
		return failf("%q is not a number", a)
	}
	q, err := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err != nil {
		return failf("%q is not a number", b)
	}
	x.cond = cmp(p, q)
	return nil
}

func stepCustomError(_ context.Context, x *stepRun) error {
	x.r.customError = x.r.vars.Mask(x.arg("error_message"))
	return nil
}

func stepSleep(ctx context.Context, x *stepRun) error {
	secs, err := strconv.ParseFloat(strings.TrimSpace(x.arg("sleeptime")), 64)
	if err != nil || secs < 0 {
		return failf("%q is not a number of seconds", x.arg("sleeptime"))
	}
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
