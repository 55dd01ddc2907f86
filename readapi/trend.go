package readapi

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
)

// trendModel is the read model behind the trend endpoints.
const trendModel = "trend"

// Bounds of ?last= of the trend.
const (
	defaultTrendRuns = 10
	maxTrendRuns     = 1000
)

func (a *api) trendRoutes(r *routes) {
	h := a.eventAPI()
	r.get("/api/features/:feature_id/trend/", h.featureTrend)
	r.get("/api/feature_results/:feature_result_id/changes/", h.resultChanges)
}

// featureTrend is GET /backend/api/features/<id>/trend/?last=N: the last N
// finished results of the feature (removed and canceled ones left out),
// oldest first, with their duration, outcome and pixel difference, and
// over them the pass rate and averages.
func (h *eventAPI) featureTrend(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	last, err := queryInt(c, "last", defaultTrendRuns, 1)
	if err != nil {
		return err
	}
	last = min(last, maxTrendRuns)
	ctx := c.UserContext()
	if err := h.fresh(ctx, trendModel, historyModel); err != nil {
		return err
	}
	f, ok, err := projections.NewHistoryReader(h.Pool).Feature(ctx, id)
	if err != nil {
		return err
	}
	if !ok || f.Deleted || f.DepartmentGone || !who.InDepartment(f.DepartmentID) {
		return domain.NotFound("feature", id)
	}
	points, err := h.trend.Last(ctx, id, last)
	if err != nil {
		return err
	}
	if points == nil {
		points = []projections.TrendPoint{}
	}
	var passed int
	var execution, duration, pixels int64
	for _, p := range points {
		if p.Success {
			passed++
		}
		execution += p.ExecutionTime
		duration += p.Duration
		pixels += p.PixelDiff
	}
	out := fiber.Map{"feature_id": id, "last": last, "runs": len(points), "passed": passed,
		"pass_rate": nil, "average_execution_time": nil, "average_duration": nil, "average_pixel_diff": nil,
		"results": points}
	if n := len(points); n > 0 {
		out["pass_rate"] = float64(passed) / float64(n)
		out["average_execution_time"] = float64(execution) / float64(n)
		out["average_duration"] = float64(duration) / float64(n)
		out["average_pixel_diff"] = float64(pixels) / float64(n)
	}
	return c.JSON(out)
}

// resultChanges is GET /backend/api/feature_results/<id>/changes/: the
// version the result executed, the feature's last success before it
// finished, and for a failed result changed_since_last_success, the diff
// from that success's version to this one.
func (h *eventAPI) resultChanges(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := h.fresh(ctx, trendModel, historyModel, eventLogModel); err != nil {
		return err
	}
	res, ok, err := h.trend.Result(ctx, id)
	if err != nil {
		return err
	}
	deps, known, err := h.events.Scope(ctx, resultStream(id))
	if err != nil {
		return err
	}
	if !ok || !known || !visibleIn(who, deps) {
		return domain.NotFound("feature result", id)
	}
	changes, err := h.changedSinceLastSuccess(ctx, res)
	if err != nil {
		return err
	}
	var last any
	if res.LastSuccessResult != 0 {
		last = fiber.Map{"feature_result_id": res.LastSuccessResult, "feature_version": res.LastSuccessVersion}
	}
	return c.JSON(fiber.Map{"feature_result_id": id, "run_id": res.RunID, "feature_id": res.FeatureID,
		"feature_version": res.FeatureVersion, "status": res.Status, "last_success": last,
		"changed_since_last_success": changes})
}

// changedSinceLastSuccess is a failed result's changed_since_last_success:
// the diff from the version of the feature's last successful result
// (before this one finished) to the version this one executed. It is nil
// for a result that has not finished, did not fail, or whose feature
// never succeeded before; an empty diff means the failure came with the
// same version that last passed. The runs read side can add it to its
// result answers through this method.
func (a *api) changedSinceLastSuccess(ctx context.Context, res projections.TrendResult) (*diffAnswer, error) {
	if !res.Finished || res.Status != eventschemas.StatusFailed || res.LastSuccessResult == 0 {
		return nil, nil
	}
	from, to, ok, err := projections.NewHistoryReader(a.Pool).Definitions(ctx, res.FeatureID,
		res.LastSuccessVersion, res.FeatureVersion)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("versions %d and %d of feature %d are not in the history: %w",
			res.LastSuccessVersion, res.FeatureVersion, res.FeatureID, domain.ErrNotFound)
	}
	d := newDiffAnswer(res.FeatureID, res.LastSuccessVersion, res.FeatureVersion, from, to)
	return &d, nil
}
