package readapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/cometa-es/cometa/projections"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

func (a *api) resultRoutes(r *routes) {
	h := a.runAPI()
	r.get("/api/feature_results/", h.listRunsOfFeature)
	r.post("/api/feature_results/", refuseRecorded("feature results"))
	r.patch("/api/feature_results/", h.patchResultByBody)
	// One path, two meanings: Cometa today serves a feature result at
	// /backend/api/feature_results/<feature_result_id>/, the seed's
	// document the results of a feature at /api/feature_results/<feature_id>/.
	// Each form keeps its meaning (docs/compatibility.md).
	r.app.Add(fiber.MethodGet, "/backend/api/feature_results/:feature_result_id/", r.auth, h.getResult)
	r.app.Add(fiber.MethodGet, "/api/feature_results/:feature_id/", r.auth, h.resultsOfFeaturePath)
	r.patch("/api/feature_results/:feature_result_id/", h.patchResult)
	r.delete("/api/feature_results/:feature_result_id/", h.deleteResult)
	r.get("/api/feature_results_by_featureid/", h.resultsOfFeatureQuery)
	r.get("/feature_results/:feature_result_id/log/", h.resultLog)
	r.get("/feature_results/:feature_result_id/remove/:again/", h.removeResultTwice)
	r.get("/feature_runs/:run_id/remove/", h.deleteRun)
	r.patch("/api/feature_run/:run_id/", h.patchRun)
	r.delete("/api/feature_run/:run_id/", h.deleteRun)
	r.delete("/api/feature_run/", h.deleteRunsOfFeature)
}

// refuseRecorded answers Cometa's legacy creates of results recorded
// elsewhere: results are what the runner recorded, event by event, and
// their totals are sums of those events, so a client cannot post one.
func refuseRecorded(what string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAllow, "GET")
		return fiber.NewError(fiber.StatusMethodNotAllowed,
			what+" are recorded by the runner as it executes a run (POST /backend/exectest/); they cannot be created")
	}
}

// featureQuery is the ?feature_id=&archived= of the list endpoints. Page
// and size are only named here: readPage checks them, with their limits.
// FeatureResultID is read only to be refused: Cometa's message for a
// missing feature_id names it, but these lists are of a feature, and a
// single result has its own route.
type featureQuery struct {
	FeatureID       *int64  `json:"feature_id"`
	FeatureResultID *string `json:"feature_result_id"`
	Archived        bool    `json:"archived"`
	Page            string  `json:"page"`
	Size            string  `json:"size"`
}

// readFeatureQuery returns the feature and the archived flag a list asks
// for.
func readFeatureQuery(c *fiber.Ctx) (featureID int64, archived bool, _ error) {
	var q featureQuery
	if err := decodeQuery(c, &q, false); err != nil {
		return 0, false, err
	}
	switch {
	case q.FeatureResultID != nil:
		return 0, false, domain.Invalid("feature_result_id", "this list takes feature_id; a single result is "+
			"GET /backend/api/feature_results/<feature_result_id>/")
	case q.FeatureID == nil:
		return 0, false, domain.Invalid("feature_id",
			"No feature_result_id nor feature_id specified: give ?feature_id=<id>")
	case *q.FeatureID <= 0:
		return 0, false, domain.Invalid("feature_id", "must be a positive integer, got %d", *q.FeatureID)
	}
	return *q.FeatureID, q.Archived, nil
}

// listRunsOfFeature is GET /backend/api/feature_results/?feature_id=: a
// page of the feature's runs (not results), newest first, each with its
// results; ?archived=true lists the saved ones.
func (h *runAPI) listRunsOfFeature(c *fiber.Ctx) error {
	who := callerOf(c)
	featureID, archived, err := readFeatureQuery(c)
	if err != nil {
		return err
	}
	p, err := readPage(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := h.visibleRunFeature(ctx, who, featureID); err != nil {
		return err
	}
	runs, count, err := h.listRuns(ctx, who, featureID, archived, p)
	if err != nil {
		return err
	}
	return c.JSON(pageBody(c, p, count, runs))
}

// resultsOfFeature answers a page of a feature's results, newest first.
func (h *runAPI) resultsOfFeature(c *fiber.Ctx, featureID int64, archived bool) error {
	who := callerOf(c)
	p, err := readPage(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := h.visibleRunFeature(ctx, who, featureID); err != nil {
		return err
	}
	list, count, err := h.queryResults(ctx, who, `r.feature_id = $3 AND r.archived = $4`,
		`r.result_date DESC, r.feature_result_id DESC`, &p, featureID, archived)
	if err != nil {
		return err
	}
	return c.JSON(pageBody(c, p, count, list))
}

// resultsOfFeaturePath is the seed's GET /api/feature_results/<feature_id>/.
func (h *runAPI) resultsOfFeaturePath(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	archived := c.QueryBool("archived", false)
	return h.resultsOfFeature(c, id, archived)
}

// resultsOfFeatureQuery is Cometa's GET
// /backend/api/feature_results_by_featureid/?feature_id=.
func (h *runAPI) resultsOfFeatureQuery(c *fiber.Ctx) error {
	featureID, archived, err := readFeatureQuery(c)
	if err != nil {
		return err
	}
	return h.resultsOfFeature(c, featureID, archived)
}

// getResult is GET /backend/api/feature_results/<feature_result_id>/:
// {"result": {...}}.
func (h *runAPI) getResult(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	r, err := h.findResult(ctx, callerOf(c), id)
	if err != nil {
		return err
	}
	if r.Status == eventschemas.StatusFailed {
		if r.ChangedSinceLastSuccess, err = h.resultChanges(ctx, id); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"result": r})
}

// resultChanges is a failed result's changed_since_last_success (nil when
// the feature never succeeded before it), from the trend and history
// models.
func (h *runAPI) resultChanges(ctx context.Context, id int64) (*diffAnswer, error) {
	if err := h.fresh(ctx, trendModel, historyModel); err != nil {
		return nil, err
	}
	res, ok, err := projections.NewTrendReader(h.Pool).Result(ctx, id)
	if err != nil || !ok {
		return nil, err
	}
	return h.changedSinceLastSuccess(ctx, res)
}

// resultLog is GET /backend/feature_results/<id>/log/: the runner's log.
func (h *runAPI) resultLog(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	r, err := h.findResult(c.UserContext(), callerOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "log": r.log})
}

// resultPatch is the body of PATCH /backend/api/feature_results/: the
// columns Cometa's UI changes. Other columns are derived from events and
// cannot be set; they are ignored as in a whole object sent back.
type resultPatch struct {
	FeatureResultID int64   `json:"feature_result_id"`
	Archived        *bool   `json:"archived"`
	Status          *string `json:"status"`
	Success         *bool   `json:"success"`
}

// patchResultByBody is PATCH /backend/api/feature_results/ with the id in
// the body.
func (h *runAPI) patchResultByBody(c *fiber.Ctx) error {
	var body resultPatch
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.FeatureResultID <= 0 {
		return domain.Invalid("feature_result_id", "is required")
	}
	return h.applyResultPatch(c, body.FeatureResultID, body)
}

// patchResult is PATCH /backend/api/feature_results/<id>/.
func (h *runAPI) patchResult(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	var body resultPatch
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.FeatureResultID != 0 && body.FeatureResultID != id {
		return domain.Invalid("feature_result_id", "%d does not match the path's %d", body.FeatureResultID, id)
	}
	return h.applyResultPatch(c, id, body)
}

// applyResultPatch archives and overrides the status of a result. Status
// and success must agree; success alone means Success or Failed.
func (h *runAPI) applyResultPatch(c *fiber.Ctx, id int64, body resultPatch) error {
	status := ""
	switch {
	case body.Status != nil:
		status = *body.Status
		if body.Success != nil && *body.Success != (status == eventschemas.StatusSuccess) {
			return domain.Invalid("success", "%v does not agree with status %q", *body.Success, status)
		}
	case body.Success != nil && *body.Success:
		status = eventschemas.StatusSuccess
	case body.Success != nil:
		status = eventschemas.StatusFailed
	}
	if body.Archived == nil && status == "" {
		return domain.Invalid("archived", "nothing to change: give archived, status or success")
	}

	who := callerOf(c)
	ctx := c.UserContext()
	meta := h.meta(c)
	var last eventstore.Position
	if status != "" {
		res, ok, err := h.results.ChangeResultStatus(ctx, meta, who.Actor, id, status)
		if err != nil {
			return err
		}
		if ok {
			last = res.Position
		}
	}
	if body.Archived != nil {
		res, ok, err := h.results.ArchiveResult(ctx, meta, who.Actor, id, *body.Archived)
		if err != nil {
			return err
		}
		if ok {
			last = res.Position
		}
	}
	if !last.IsZero() {
		if err := h.settle(ctx, last, runsModels...); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"success": true})
}

// deleteResult is DELETE /backend/api/feature_results/<id>/.
func (h *runAPI) deleteResult(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	return h.removeResult(c, id)
}

// removeResultTwice is the old GET
// /backend/feature_results/<id>/remove/<id>/; both ids must be the same.
func (h *runAPI) removeResultTwice(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	again, err := pathID(c, "again")
	if err != nil {
		return err
	}
	if again != id {
		return domain.Invalid("feature_result_id", "the path names two feature results, %d and %d", id, again)
	}
	return h.removeResult(c, id)
}

func (h *runAPI) removeResult(c *fiber.Ctx, id int64) error {
	ctx := c.UserContext()
	res, err := h.results.RemoveResult(ctx, h.meta(c), callerOf(c).Actor, id)
	if err != nil {
		return err
	}
	if err := h.settle(ctx, res.Position, runsModels...); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}

// runPatch is the body of PATCH /backend/api/feature_run/<run_id>/.
type runPatch struct {
	Archived *bool `json:"archived"`
}

// patchRun archives a run or unarchives it.
func (h *runAPI) patchRun(c *fiber.Ctx) error {
	id, err := pathID(c, "run_id")
	if err != nil {
		return err
	}
	var body runPatch
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.Archived == nil {
		return domain.Invalid("archived", "is required (the only column of a run that can change)")
	}
	ctx := c.UserContext()
	res, ok, err := h.results.ArchiveRun(ctx, h.meta(c), callerOf(c).Actor, id, *body.Archived)
	if err != nil {
		return err
	}
	if ok {
		if err := h.settle(ctx, res.Position, runsModels...); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"success": true})
}

// deleteRun removes a run with its results (DELETE
// /backend/api/feature_run/<id>/, the old GET
// /backend/feature_runs/<id>/remove/).
func (h *runAPI) deleteRun(c *fiber.Ctx) error {
	id, err := pathID(c, "run_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	res, err := h.results.RemoveRun(ctx, h.meta(c), callerOf(c).Actor, id)
	if !res.Position.IsZero() {
		if serr := h.settle(ctx, res.Position, runsModels...); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}

// deleteRunsOfFeature is DELETE
// /backend/api/feature_run/?feature_id=&type=all|all_failed|all_except_last:
// removes the feature's unsaved runs of that kind.
func (h *runAPI) deleteRunsOfFeature(c *fiber.Ctx) error {
	who := callerOf(c)
	featureID, _, err := readFeatureQuery(c)
	if err != nil {
		return err
	}
	kind := c.Query("type")
	var filter string
	switch kind {
	case "all":
		filter = "true"
	case "all_failed":
		filter = `(n.status = 'Failed' OR n.fails > 0 OR EXISTS (SELECT 1 FROM rm_runs.results s
			WHERE s.run_id = n.run_id AND NOT s.removed AND NOT s.running AND NOT s.success))`
	case "all_except_last":
		filter = `n.run_id <> (SELECT l.run_id FROM rm_runs.last_runs l WHERE l.feature_id = n.feature_id)`
	default:
		return domain.Invalid("type", "Unknow type, please send one of next types: all, all_failed, all_except_last")
	}
	ctx := c.UserContext()
	if err := h.visibleRunFeature(ctx, who, featureID); err != nil {
		return err
	}
	if err := who.Require(string(role.RemoveFeatureRuns)); err != nil {
		return err
	}
	rows, err := h.Pool.Query(ctx, `SELECT n.run_id FROM rm_runs.runs n
		WHERE n.feature_id = $1 AND NOT n.removed AND NOT n.archived AND n.results > 0 AND n.running = 0
			AND `+filter+` ORDER BY n.run_id`, featureID)
	if err != nil {
		return fmt.Errorf("list runs to remove: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("list runs to remove: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list runs to remove: %w", err)
	}

	meta := h.meta(c)
	removed := []int64{}
	var last eventstore.Position
	var failed error
	for _, id := range ids {
		res, err := h.results.RemoveRun(ctx, meta, who.Actor, id)
		if !res.Position.IsZero() {
			last = res.Position
		}
		if errors.Is(err, commands.ErrSavedResults) {
			failed = err
			continue
		}
		// A run removed meanwhile, or one requested in a department
		// deleted since (the feature moved out of it), is left as it is:
		// RemoveRun refused it before appending anything.
		if errors.Is(err, domain.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		removed = append(removed, id)
	}
	if !last.IsZero() {
		if err := h.settle(ctx, last, runsModels...); err != nil {
			return err
		}
	}
	if failed != nil {
		return failed
	}
	return c.JSON(fiber.Map{"success": true, "removed": removed})
}
