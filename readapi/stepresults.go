package readapi

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
)

func (a *api) stepResultRoutes(r *routes) {
	h := a.runAPI()
	r.get("/api/feature_results/:feature_result_id/step_results/", h.listSteps)
	r.post("/api/feature_results/:feature_result_id/step_results/", refuseRecorded("step results"))
	r.get("/api/feature_results/:feature_id/step_results/:feature_result_id/", h.listStepsOfFeature)
	r.post("/api/feature_results/:feature_id/step_results/:feature_result_id/", refuseRecorded("step results"))
	r.get("/api/step_result/:step_result_id/", h.getStep)
	r.patch("/api/step_result/:step_result_id/", h.patchStep)
	r.get("/steps/:step_result_id/pixel_diff/:pixel_diff/", h.pixelDiff)
}

// listSteps is the seed's GET
// /backend/api/feature_results/<feature_result_id>/step_results/: a page
// of the result's step results in execution order.
func (h *runAPI) listSteps(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	return h.pageOfSteps(c, 0, id)
}

// listStepsOfFeature is Cometa's GET
// /backend/api/feature_results/<feature_id>/step_results/<feature_result_id>/;
// the result must be one of the feature's.
func (h *runAPI) listStepsOfFeature(c *fiber.Ctx) error {
	feature, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	return h.pageOfSteps(c, feature, id)
}

func (h *runAPI) pageOfSteps(c *fiber.Ctx, feature, id int64) error {
	p, err := readPage(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	r, err := h.findResult(ctx, callerOf(c), id)
	if err != nil {
		return err
	}
	if feature != 0 && r.FeatureID != feature {
		// The caller sees the result, so its feature can be named.
		return fmt.Errorf("feature result %d of feature %d (it is a result of feature %d; "+
			"this route is /api/feature_results/<feature_id>/step_results/<feature_result_id>/): %w",
			id, feature, r.FeatureID, domain.ErrNotFound)
	}
	list, count, err := h.stepsOf(ctx, id, &p)
	if err != nil {
		return err
	}
	return c.JSON(pageBody(c, p, count, list))
}

// getStep is GET /backend/api/step_result/<id>/: {"success": true,
// "results": {...}} with the neighbouring step results of the same result
// as next and previous.
func (h *runAPI) getStep(c *fiber.Ctx) error {
	id, err := pathID(c, "step_result_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	s, err := h.findStep(ctx, callerOf(c), id)
	if err != nil {
		return err
	}
	var next, prev *int64
	err = h.Pool.QueryRow(ctx, `SELECT
			(SELECT step_result_id FROM rm_runs.step_results WHERE feature_result_id = $1 AND sequence > $2
				ORDER BY sequence LIMIT 1),
			(SELECT step_result_id FROM rm_runs.step_results WHERE feature_result_id = $1 AND sequence < $2
				ORDER BY sequence DESC LIMIT 1)`, s.FeatureResultID, s.StepExecutionSequence).Scan(&next, &prev)
	if err != nil {
		return fmt.Errorf("neighbours of step result %d: %w", id, err)
	}
	vars := []any{}
	for k, v := range s.CurrentStepVariablesValue {
		vars = append(vars, fiber.Map{"variable_name": k, "variable_value": v})
	}
	return c.JSON(fiber.Map{"success": true, "results": fiber.Map{
		"step_result_id": s.StepResultID, "feature_result_id": s.FeatureResultID,
		"step_execution_sequence": s.StepExecutionSequence, "belongs_to": s.BelongsTo.FeatureID,
		"current_step_variables_values": vars, "database_query_result": s.DatabaseQueryResult,
		"diff": s.Diff, "error": s.Error, "execution_time": s.ExecutionTime, "files": s.Files,
		"next": next, "previous": prev, "notes": s.Notes, "pixel_diff": s.PixelDiff, "rest_api_id": nil,
		"relative_execution_time": s.RelativeExecutionTime, "screenshot_current": s.ScreenshotCurrent,
		"screenshot_difference": s.ScreenshotDifference, "screenshot_style": s.ScreenshotStyle,
		"screenshot_template": s.ScreenshotTemplate, "screenshots": s.Screenshots, "status": s.Status,
		"step_name": s.StepName, "step_type": s.StepType, "success": s.Success, "template_name": nil,
	}})
}

// stepPatch is the body of PATCH /backend/api/step_result/<id>/: the
// status override of Cometa's UI. Other columns are what the runner
// recorded and are ignored.
type stepPatch struct {
	Status *string `json:"status"`
}

// patchStep overrides a step result's status (Success, Failed or
// Skipped); the result's success follows. It needs change_result_status.
func (h *runAPI) patchStep(c *fiber.Ctx) error {
	id, err := pathID(c, "step_result_id")
	if err != nil {
		return err
	}
	var body stepPatch
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.Status == nil {
		return domain.Invalid("status", "is required (the only column of a step result that can change)")
	}
	ctx := c.UserContext()
	who := callerOf(c)
	s, err := h.findStep(ctx, who, id)
	if err != nil {
		return err
	}
	res, changed, err := h.results.ChangeStepStatus(ctx, h.meta(c), who.Actor, s.FeatureResultID,
		s.StepExecutionSequence, *body.Status)
	if err != nil {
		return err
	}
	if changed {
		if err := h.settle(ctx, res.Position, runsModels...); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"success": true})
}

// pixelDiff is the old GET /backend/steps/<step_result_id>/pixel_diff/<n>/,
// with which Cometa's runner reported a step's pixel difference. Here the
// runner records the difference it measured (ScreenshotCompared) and
// totals are sums of those, so a client's number is never stored: the
// same number as recorded is acknowledged, another one is a 409 naming the
// recorded value. Nothing is appended either way.
func (h *runAPI) pixelDiff(c *fiber.Ctx) error {
	id, err := pathID(c, "step_result_id")
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(c.Params("pixel_diff"), 10, 64)
	if err != nil || n < 0 {
		return domain.Invalid("pixel_diff", "must be a non-negative integer, got %q", c.Params("pixel_diff"))
	}
	ctx := c.UserContext()
	who := callerOf(c)
	s, err := h.findStep(ctx, who, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.NotFound("step result", id)
	}
	if err != nil {
		return err
	}
	if err := who.Require(string(role.ChangeResultStatus)); err != nil {
		return err
	}
	if s.PixelDiff != n {
		return domain.Conflict("the runner measured %d differing pixels for step result %d; "+
			"pixel differences are recorded by the runner, not set", s.PixelDiff, id)
	}
	return c.JSON(fiber.Map{"success": true, "pixel_diff": s.PixelDiff})
}
