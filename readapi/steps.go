package readapi

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/projections"
)

func (a *api) stepRoutes(r *routes) {
	h := a.featureAPI()
	r.get("/steps/:feature_id/", h.listSteps)
	r.post("/steps/:feature_id/patch/", h.patchSteps)
	r.get("/getJson/:feature_id/", h.executedSteps)
	r.get("/stepsByName/", h.stepsByName)
	r.post("/stepsByName/", h.stepsByName)
}

// listSteps is GET /backend/steps/<feature_id>/: {"results": [...]}, the
// feature's steps in saved order, each enabled sub-feature step followed
// by the steps it runs (step_type "substep", belongs_to their feature).
// With ?subSteps only what runs is listed: enabled steps other than the
// sub-feature steps themselves.
func (h *featureAPI) listSteps(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	v, err := h.visible(ctx, who, id)
	if err != nil {
		return err
	}
	list, err := h.fullSteps(ctx, v, false)
	if err != nil {
		return err
	}
	if c.Context().QueryArgs().Has("subSteps") {
		list = runnable(list)
	}
	return c.JSON(fiber.Map{"results": list})
}

// executedSteps is GET /backend/getJson/<feature_id>/: the bare list of
// the steps a run executes, sub-features expanded. A sub-feature that no
// longer resolves (deleted, renamed) is a 409 naming the step.
func (h *featureAPI) executedSteps(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	v, err := h.visible(ctx, who, id)
	if err != nil {
		return err
	}
	list, err := h.fullSteps(ctx, v, true)
	if err != nil {
		return err
	}
	return c.JSON(runnable(list))
}

// runnable keeps the enabled steps that execute.
func runnable(list []projections.StepView) []projections.StepView {
	out := []projections.StepView{}
	for _, s := range list {
		if s.Enabled && s.StepType != feature.TypeSubfeature {
			out = append(out, s)
		}
	}
	return out
}

// fullSteps returns the authored steps of v with the steps of its
// sub-features inlined after the steps that run them. When the
// sub-features no longer resolve, strict makes that a conflict; otherwise
// the authored steps are returned alone.
func (h *featureAPI) fullSteps(ctx context.Context, v projections.FeatureView, strict bool) ([]projections.StepView, error) {
	return h.fullStepsOf(ctx, v, nil, strict)
}

// fullStepsOf is fullSteps over the authored steps given, or the read
// model's current ones when authored is nil.
func (h *featureAPI) fullStepsOf(ctx context.Context, v projections.FeatureView, authored []projections.StepView,
	strict bool) ([]projections.StepView, error) {
	if authored == nil {
		var err error
		if authored, err = h.reader.Steps(ctx, v.FeatureID); err != nil {
			return nil, err
		}
	}
	steps := make([]feature.Step, len(authored))
	for i, s := range authored {
		steps[i] = feature.Step{StepID: s.StepID, Keyword: s.StepKeyword, Content: s.StepContent,
			Action: s.StepAction, Type: s.StepType, Enabled: s.Enabled, Screenshot: s.Screenshot,
			Compare: s.Compare, ContinueOnFailure: s.ContinueOnFailure, Timeout: s.Timeout}
	}
	if ids, names := feature.References(steps); len(ids)+len(names) == 0 {
		return nonNilSteps(authored), nil
	}

	lib, err := h.reader.Library(ctx, v.DepartmentID, steps)
	if err == nil {
		var expanded []feature.ExpandedStep
		if expanded, err = feature.Expand(v.FeatureID, steps, lib); err == nil {
			return h.render(ctx, v.FeatureID, authored, expanded)
		}
	}
	if strict {
		return nil, domain.Conflict("the sub-features of feature %d do not resolve: %v", v.FeatureID, err)
	}
	return nonNilSteps(authored), nil
}

// render turns an expanded step list into step views: authored steps as
// stored, inlined ones with the integer ids they have in their feature.
func (h *featureAPI) render(ctx context.Context, id int64, authored []projections.StepView,
	expanded []feature.ExpandedStep) ([]projections.StepView, error) {
	var from []int64
	for _, st := range expanded {
		if st.Type == feature.TypeSubstep {
			from = append(from, st.BelongsTo)
		}
	}
	ids, err := h.reader.IntStepIDs(ctx, from)
	if err != nil {
		return nil, err
	}
	out := make([]projections.StepView, 0, len(expanded))
	for _, st := range expanded {
		if st.Type != feature.TypeSubstep {
			out = append(out, authored[st.Position-1])
			continue
		}
		out = append(out, projections.StepView{ID: ids[st.BelongsTo][st.StepID], FeatureID: id,
			StepID: st.StepID, StepKeyword: st.Keyword, StepAction: st.Action, StepContent: st.Content,
			Enabled: st.Enabled, StepType: st.Type, Screenshot: st.Screenshot, Compare: st.Compare,
			BelongsTo: st.BelongsTo, Timeout: st.Timeout, ContinueOnFailure: st.ContinueOnFailure})
	}
	return out, nil
}

func nonNilSteps(list []projections.StepView) []projections.StepView {
	if list == nil {
		return []projections.StepView{}
	}
	return list
}

// patchSteps is the seed's POST /backend/steps/<feature_id>/patch/: it
// saves the feature's fields and steps from the body, as Cometa's PATCH
// /api/features/ does, and answers the feature and its steps.
func (h *featureAPI) patchSteps(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.EditFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	var body featureBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.FeatureID != nil && *body.FeatureID != id {
		return domain.Invalid("feature_id", "is %d, but the path names feature %d", *body.FeatureID, id)
	}
	v, authored, err := h.save(c, who, id, body)
	if err != nil {
		return err
	}
	list, err := h.fullStepsOf(c.UserContext(), v, authored, false)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "info": v, "results": list})
}

// stepsByNameInput names the feature, in the body or the query.
type stepsByNameInput struct {
	FeatureName string `json:"feature_name"`
}

// stepsByName is GET or POST /backend/stepsByName/: the steps of the
// caller's feature with that name and the lowest id, {"results": [...]},
// empty when there is none.
func (h *featureAPI) stepsByName(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	var in stepsByNameInput
	if err := decodeInput(c, &in, decodeOptions{optional: true}); err != nil {
		return err
	}
	name := strings.TrimSpace(in.FeatureName)
	if name == "" {
		return domain.Invalid("feature_name", "is required, in the body or as ?feature_name=")
	}
	if err := domain.CheckFreeText("feature_name", name); err != nil {
		return err
	}
	ctx := c.UserContext()
	id, ok, err := h.reader.FirstByName(ctx, name, who.Departments, who.SeesAllDepartments())
	if err != nil {
		return err
	}
	list := []projections.StepView{}
	if ok {
		if list, err = h.reader.Steps(ctx, id); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"results": nonNilSteps(list)})
}
