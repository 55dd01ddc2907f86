package steps

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/go-rod/rod"
)

func variableSteps() []definition {
	return []definition{
		{pattern: `Save selector "{css_selector}" value to environment variable "{variable_name}"`, run: stepSaveSelector,
			description: `Saves the element's value (or its text, newlines as spaces) as an environment variable, kept after the run.<br>Example: Save selector "#order-id" value to environment variable "ORDER_ID"`},
		{pattern: `Save "{value}" to environment variable "{variable_name}"`, run: stepSaveEnvironment, docstring: "value",
			description: `Saves the value as an environment variable, kept after the run; a docstring may hold a multi-line value.<br>Example: Save "$ORDER_ID" to environment variable "LAST_ORDER"`},
		{pattern: `Save "{value}" to runtime variable "{variable_name}"`, run: stepSaveRuntime, docstring: "value",
			description: `Keeps the value as a variable for the rest of this run only.<br>Example: Save "alice" to runtime variable "USER"`},
		{pattern: `Get value from "{selector}" and store in the "{variable_name}" with "{option}"`, run: stepGetValue,
			description: `Keeps the element's text as a run variable; option "" or "trim the spaces".<br>Example: Get value from "#total" and store in the "TOTAL" with "trim the spaces"`},
		{pattern: `Get "{attribute}" value of "{selector}" and store in the "{variable_name}" with "{option}"`, run: stepGetAttribute,
			description: `Keeps the element's attribute as a run variable; option "" or "trim the spaces".<br>Example: Get "href" value of "a.download" and store in the "LINK" with ""`},
		{pattern: `Add a timestamp to the "{prefix}" and save it to "{variable_name}"`, run: stepTimestamp,
			description: `Keeps prefix-<unix seconds> as a run variable, for unique names.<br>Example: Add a timestamp to the "order" and save it to "ORDER_NAME"`},
		{pattern: `Create a string of random "{x}" numbers and save to "{variable_name}"`, run: stepRandomDigits,
			checks:      map[string]check{"x": wholeIn("the number of digits", 1, 1000)},
			description: `Keeps x random digits as a run variable.<br>Example: Create a string of random "6" numbers and save to "PIN"`},
		{pattern: `Generate random "{information}" and store in "{variable}"`, run: stepRandomInfo,
			checks:      map[string]check{"information": oneOf("kind", true, randomKindNames()...)},
			description: `Keeps a random value of a kind (first_name, last_name, name, email, phone_number, city, country, postalcode, uuid, number, word, day_of_week, day_of_month) as a run variable.<br>Example: Generate random "email" and store in "EMAIL"`},
		{pattern: `Generate random string based on "{regex_pattern}" and store in "{variable}"`, run: stepRandomRegex,
			description: `Keeps a random string matching the regular expression as a run variable.<br>Example: Generate random string based on "[A-Z]{3}-[0-9]{4}" and store in "PLATE"`},
	}
}

// setRuntime keeps a variable for the rest of the run. A value that holds
// a secret stays masked.
func setRuntime(x *stepRun, name, value string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return failf("the variable name is empty")
	}
	secret := x.r.vars.Mask(value) != value
	x.r.vars.Set(name, value, secret)
	x.noteVar(name, value)
	return nil
}

func saveEnvironment(ctx context.Context, x *stepRun, name, value string) error {
	if x.s.opts.Sink == nil {
		return failf("environment variables cannot be saved by this runner")
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return failf("the variable name is empty")
	}
	if err := x.s.opts.Sink.SaveEnvironmentVariable(ctx, name, value); err != nil {
		if isCtxErr(err) {
			return err
		}
		return failf("could not save environment variable %q: %s", name, x.r.vars.Mask(err.Error()))
	}
	return setRuntime(x, name, value)
}

func stepSaveSelector(ctx context.Context, x *stepRun) error {
	var value string
	err := x.s.act(ctx, parseSelector(x.arg("css_selector")), false, func(el *rod.Element) (bool, error) {
		res, err := evalOn(el, `function() {
  const v = (this.value !== undefined && this.value !== '') ? String(this.value) : (this.innerText || this.textContent || '');
  return v.replace(/\r?\n/g, ' ');
}`)
		if err != nil {
			return false, err
		}
		value = res.Value.Str()
		return true, nil
	})
	if err != nil {
		return err
	}
	return saveEnvironment(ctx, x, x.arg("variable_name"), value)
}

func stepSaveEnvironment(ctx context.Context, x *stepRun) error {
	return saveEnvironment(ctx, x, x.arg("variable_name"), x.arg("value"))
}

func stepSaveRuntime(_ context.Context, x *stepRun) error {
	return setRuntime(x, x.arg("variable_name"), x.arg("value"))
}

func trimOption(option string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(option)) {
	case "":
		return false, nil
	case "trim the spaces":
		return true, nil
	}
	return false, failf(`unknown option %q: use "" or "trim the spaces"`, option)
}

func stepGetValue(ctx context.Context, x *stepRun) error {
	trim, err := trimOption(x.arg("option"))
	if err != nil {
		return err
	}
	el, err := x.s.find(ctx, parseSelector(x.arg("selector")), false)
	if err != nil {
		return err
	}
	res, err := evalOn(el, `function() { return this.innerText !== undefined ? this.innerText : this.textContent }`)
	if err != nil {
		return err
	}
	v := res.Value.Str()
	if trim {
		v = strings.TrimSpace(v)
	}
	return setRuntime(x, x.arg("variable_name"), v)
}

func stepGetAttribute(ctx context.Context, x *stepRun) error {
	trim, err := trimOption(x.arg("option"))
	if err != nil {
		return err
	}
	attr := x.arg("attribute")
	el, err := x.s.find(ctx, parseSelector(x.arg("selector")), false)
	if err != nil {
		return err
	}
	v, err := el.Attribute(attr)
	if err != nil {
		return err
	}
	if v == nil {
		return failf("%s has no attribute %q", quoteSel(x.arg("selector")), attr)
	}
	value := *v
	if trim {
		value = strings.TrimSpace(value)
	}
	return setRuntime(x, x.arg("variable_name"), value)
}

func stepTimestamp(_ context.Context, x *stepRun) error {
	v := x.arg("prefix") + "-" + strconv.FormatInt(x.s.opts.Now().Unix(), 10)
	return setRuntime(x, x.arg("variable_name"), v)
}

func stepRandomDigits(_ context.Context, x *stepRun) error {
	n, err := strconv.Atoi(strings.TrimSpace(x.arg("x")))
	if err != nil || n < 1 || n > 1000 {
		return failf("%q is not a number of digits between 1 and 1000", x.arg("x"))
	}
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + rand.IntN(10)))
	}
	return setRuntime(x, x.arg("variable_name"), b.String())
}

func stepRandomInfo(_ context.Context, x *stepRun) error {
	kind := strings.ToLower(strings.TrimSpace(x.arg("information")))
	gen, ok := randomKinds[kind]
	if !ok {
		return failf("unknown kind %q: use one of %s", x.arg("information"), strings.Join(randomKindNames(), ", "))
	}
	return setRuntime(x, x.arg("variable"), gen())
}

func stepRandomRegex(_ context.Context, x *stepRun) error {
	v, err := randomMatching(x.arg("regex_pattern"))
	if err != nil {
		return err
	}
	return setRuntime(x, x.arg("variable"), v)
}
