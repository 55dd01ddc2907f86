package feature

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/slug"
	"github.com/cometa-es/cometa/eventschemas"
)

// Definition is everything a user edits about a feature: one version.
type Definition = eventschemas.FeatureDefinition

// Limits of a feature definition.
const (
	MaxNameLength  = 255
	MaxEmailLength = 250
	MaxSteps       = 2000
)

// normalize checks a definition as a client sent it and returns it with
// Cometa's defaults and derived values filled in: trimmed names, the slug,
// cloud "local", empty JSON arrays, e-mail lists without blanks, steps
// normalized (substeps the client sent back dropped). Browsers must be
// Chromium browser objects (checkBrowsers) and e-mail list items
// addresses. Every invalid field is reported. origin[i] is the 1-based
// position, in the list the client sent, of the returned step i.
// Catalogue checks are not done here.
func normalize(d Definition) (_ Definition, origin []int, _ error) {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	name, err := domain.RequireText("feature_name", d.FeatureName, MaxNameLength)
	add(err)
	d.FeatureName, d.Slug = name, slug.Make(name)
	add(domain.CheckFreeText("description", d.Description))

	for _, ref := range []struct {
		field string
		id    int64
		name  *string
	}{
		{"app_id", d.AppID, &d.AppName},
		{"environment_id", d.EnvironmentID, &d.EnvironmentName},
		{"department_id", d.DepartmentID, &d.DepartmentName},
	} {
		switch {
		case ref.id == 0:
			add(domain.Invalid(ref.field, "is required"))
		case ref.id < 0:
			add(domain.Invalid(ref.field, "must be a positive id, got %d", ref.id))
		}
		*ref.name = strings.TrimSpace(*ref.name)
		if len([]rune(*ref.name)) > MaxNameLength || domain.CheckFreeText(ref.field, *ref.name) != nil {
			add(domain.Invalid(strings.TrimSuffix(ref.field, "_id")+"_name", "must be text of at most %d characters", MaxNameLength))
		}
	}

	if d.Cloud = strings.TrimSpace(d.Cloud); d.Cloud == "" {
		d.Cloud = "local"
	} else if _, err := domain.RequireText("cloud", d.Cloud, 100); err != nil {
		add(err)
	}
	if d.Browsers, err = domain.RequireArray("browsers", d.Browsers); err != nil {
		add(err)
	} else {
		add(checkBrowsers(d.Browsers))
	}
	d.Mobiles, err = domain.RequireArray("mobiles", d.Mobiles)
	add(err)
	if d.MaximumNotificationOnError < 0 {
		add(domain.Invalid("maximum_notification_on_error", "must not be negative"))
	}
	for _, list := range []struct {
		field string
		addrs *[]string
	}{
		{"email_address", &d.EmailAddress},
		{"email_cc_address", &d.EmailCCAddress},
		{"email_bcc_address", &d.EmailBCCAddress},
	} {
		kept := []string{}
		for i, a := range *list.addrs {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			field := fmt.Sprintf("%s[%d]", list.field, i)
			if _, err := domain.RequireText(field, a, MaxEmailLength); err != nil {
				add(err)
			} else {
				add(checkAddress(field, a))
			}
			kept = append(kept, a)
		}
		*list.addrs = kept
	}
	if d.EmailSubject = strings.TrimSpace(d.EmailSubject); len([]rune(d.EmailSubject)) > MaxEmailLength {
		add(domain.Invalid("email_subject", "longer than %d characters", MaxEmailLength))
	}
	add(domain.CheckFreeText("email_subject", d.EmailSubject))
	add(domain.CheckFreeText("email_body", d.EmailBody))

	if len(d.Steps) > MaxSteps {
		add(domain.Invalid("steps", "more than %d steps", MaxSteps))
		return d, nil, errors.Join(errs...)
	}
	steps := make([]Step, 0, len(d.Steps))
	for i, st := range d.Steps {
		if st.Type == TypeSubstep {
			continue
		}
		st, err := normalizeStep(i+1, st)
		add(err)
		steps = append(steps, st)
		origin = append(origin, i+1)
	}
	d.Steps = steps
	return d, origin, errors.Join(errs...)
}

// validate normalizes d, checks every enabled step sentence against the
// catalogue, expands sub-features and checks loops and conditions, then
// the executed list with the catalogue's flow check when it has one. Step
// positions in its errors count the steps as the client sent them.
func validate(featureID int64, d Definition, cat Catalogue, lookup Lookup) (Definition, error) {
	d, origin, err := normalize(d)
	if err != nil {
		return d, err
	}
	if cat == nil || lookup == nil {
		return d, errors.New("validate feature definition: the command has no step catalogue or feature lookup")
	}
	var errs []error
	for i, st := range d.Steps {
		if !st.Enabled {
			continue
		}
		if err := cat.Validate(st.Content); err != nil {
			errs = append(errs, domain.InvalidStep(origin[i], "step_content", err))
		}
	}
	if len(errs) > 0 {
		return d, errors.Join(errs...)
	}
	expanded, err := expand(featureID, d.Steps, lookup)
	if err != nil {
		var fe *domain.FieldError
		if errors.As(err, &fe) && fe.Step > 0 {
			fe.Step = origin[fe.Step-1]
		}
		return d, err
	}
	for i := range expanded {
		expanded[i].Position = origin[expanded[i].Position-1]
	}
	executed := Executed(expanded)
	if err := checkStructure(featureID, executed); err != nil {
		return d, err
	}
	if flows, ok := cat.(FlowCatalogue); ok {
		return d, checkFlow(flows, executed)
	}
	return d, nil
}

// checkFlow checks the executed steps with the catalogue's flow check and
// reports a problem on the position of the step it names.
func checkFlow(flows FlowCatalogue, executed []ExpandedStep) error {
	contents := make([]string, len(executed))
	for i, st := range executed {
		contents[i] = st.Content
	}
	err := flows.ValidateFlow(contents)
	if err == nil {
		return nil
	}
	pos := 0
	var at interface{ StepIndex() int }
	if errors.As(err, &at) && at.StepIndex() >= 0 && at.StepIndex() < len(executed) {
		pos = executed[at.StepIndex()].Position
	}
	return domain.InvalidStep(pos, "step_content", err)
}
