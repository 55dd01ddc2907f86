package readapi

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/projections"
)

// scheduleModels are the read models a schedule change must reach before
// the write answers: the schedules model and the features model, whose
// feature JSON shows the schedule.
var scheduleModels = []string{"schedules", "features"}

// nextRunsShown is how many fire times the feature JSON's next_runs lists.
const nextRunsShown = 5

// Bounds of the tick history page.
const (
	defaultTickPage = 100
	maxTickPage     = 1000
)

// scheduleAPI serves the schedules of features: setting one (Cometa's
// /schedule/<feature_id>/, any verb), the list of the schedules a caller
// may see, and one feature's tick and change history.
type scheduleAPI struct {
	*api
	reader   *projections.ScheduleReader
	commands *commands.Schedules
}

func (a *api) scheduleRoutes(r *routes) {
	h := &scheduleAPI{api: a, reader: projections.NewScheduleReader(a.Pool), commands: commands.NewSchedules(a.Log)}
	// Cometa answers this path for any verb; the seed documents GET.
	for _, method := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete} {
		r.handle(method, "/schedule/:feature_id/", h.set)
	}
	r.get("/api/schedules/", h.list)
	r.get("/api/features/:feature_id/schedule/history/", h.history)
}

// scheduleBody is what /schedule/<feature_id>/ reads, from the JSON body
// or, without one, the query parameters.
type scheduleBody struct {
	// Schedule is a five-field cron expression or a descriptor; "" (and
	// Cometa's "now") removes the schedule.
	Schedule *string `json:"schedule"`
	// OriginalTimezone is the IANA zone the expression is read in; UTC
	// when absent.
	OriginalTimezone *string `json:"original_timezone"`
	// CatchUp is "skip" (the default) or "run_once".
	CatchUp *string `json:"catch_up"`
}

// fireJSON is one fire time of a schedule: the instant in UTC, the same
// instant in the schedule's zone, and the local wall time the expression
// matched (different only when that time did not exist, a spring-forward
// gap).
type fireJSON struct {
	UTC          time.Time `json:"utc"`
	Local        time.Time `json:"local"`
	NominalLocal string    `json:"nominal_local"`
	Shifted      bool      `json:"shifted"`
}

// scheduleJSON is a schedule as the schedule endpoints show it.
type scheduleJSON struct {
	projections.ScheduleView
	// NextRun is the next fire time, null for an inactive schedule.
	NextRun *fireJSON `json:"next_run"`
}

// set is /backend/schedule/<feature_id>/ with {"schedule",
// "original_timezone", "catch_up"}: it sets, replaces or (with "")
// removes the feature's schedule, owned by the caller, and answers
// {"success": true, "schedule": <schedule or null>}. A DELETE without a
// schedule removes it, as the verb says.
func (h *scheduleAPI) set(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	// Optional: a request with neither body nor query is answered below,
	// by what it lacks.
	var body scheduleBody
	if err := decodeInput(c, &body, decodeOptions{optional: true}); err != nil {
		return err
	}
	if body.Schedule == nil {
		if c.Method() != fiber.MethodDelete {
			return domain.Invalid("schedule", "Schedule not provided: give a cron expression, or \"\" to remove it")
		}
		body.Schedule = new(string)
	}
	cmd := schedule.Set{FeatureID: id, Expression: *body.Schedule, Now: h.Now()}
	if strings.TrimSpace(cmd.Expression) == "now" {
		cmd.Expression = "" // Cometa's other way of saying "remove"
	}
	if body.OriginalTimezone != nil {
		cmd.Zone = *body.OriginalTimezone
	}
	if body.CatchUp != nil {
		cmd.CatchUp = schedule.CatchUp(*body.CatchUp)
	}

	ctx := c.UserContext()
	res, _, err := h.commands.Set(ctx, h.meta(c), who.Actor, cmd)
	if err != nil {
		return err
	}
	if err := h.settle(ctx, res.Position, scheduleModels...); err != nil {
		return err
	}
	// TODO(schedules): a concurrent set landing between the settle and
	// this read makes the answer show the other request's schedule; the
	// schedules model keeps only the current one.
	v, ok, err := h.reader.Get(ctx, id)
	if err != nil {
		return err
	}
	var out *scheduleJSON
	if ok && v.Active {
		s := h.scheduleJSON(v)
		out = &s
	}
	return c.JSON(fiber.Map{"success": true, "schedule": out})
}

// list is GET /backend/api/schedules/: the active schedules of the
// caller's departments (SUPERUSER: all), each with its next run.
func (h *scheduleAPI) list(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	views, err := h.reader.List(c.UserContext(), who.Departments, who.SeesAllDepartments())
	if err != nil {
		return err
	}
	out := make([]scheduleJSON, 0, len(views))
	for _, v := range views {
		out = append(out, h.scheduleJSON(v))
	}
	return c.JSON(fiber.Map{"success": true, "schedules": out})
}

// historyQuery pages the tick history.
type historyQuery struct {
	Limit  *int   `json:"limit"`
	Before string `json:"before"`
}

// history is GET /backend/api/features/<id>/schedule/history/: the
// feature's schedule (or null), its ticks newest first (fired with the
// run, missed), a page of at most limit (default 100) before the instant
// before, and every change of the schedule with its actor and time.
func (h *scheduleAPI) history(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	var q historyQuery
	if err := decodeQuery(c, &q, true); err != nil {
		return err
	}
	page := projections.TickQuery{Limit: defaultTickPage}
	if q.Limit != nil {
		if *q.Limit < 1 || *q.Limit > maxTickPage {
			return domain.Invalid("limit", "must be between 1 and %d, got %d", maxTickPage, *q.Limit)
		}
		page.Limit = *q.Limit
	}
	if q.Before != "" {
		if page.Before, err = time.Parse(time.RFC3339, q.Before); err != nil {
			return domain.Invalid("before", "must be an RFC 3339 instant such as 2026-03-29T01:00:00Z, got %q",
				q.Before)
		}
	}

	ctx := c.UserContext()
	if err := h.visibleFeature(ctx, who, id); err != nil {
		return err
	}
	ticks, err := h.reader.Ticks(ctx, id, page)
	if err != nil {
		return err
	}
	changes, err := h.reader.Changes(ctx, id)
	if err != nil {
		return err
	}
	v, ok, err := h.reader.Get(ctx, id)
	if err != nil {
		return err
	}
	var current *scheduleJSON
	if ok && v.Active {
		s := h.scheduleJSON(v)
		current = &s
	}
	if ticks == nil {
		ticks = []projections.TickView{}
	}
	if changes == nil {
		changes = []projections.ChangeView{}
	}
	return c.JSON(fiber.Map{"success": true, "feature_id": id, "schedule": current, "ticks": ticks,
		"changes": changes})
}

// visibleFeature checks that feature id is live and in one of the caller's
// departments, as the schedules model knows it; any other is not found.
func (h *scheduleAPI) visibleFeature(ctx context.Context, who Caller, id int64) error {
	f, ok, err := h.reader.Feature(ctx, id)
	if err != nil {
		return err
	}
	if !ok || f.Deleted || !who.InDepartment(f.DepartmentID) {
		return domain.NotFound("feature", id)
	}
	return nil
}

func (h *scheduleAPI) scheduleJSON(v projections.ScheduleView) scheduleJSON {
	out := scheduleJSON{ScheduleView: v}
	if !v.Active {
		return out
	}
	if fires := nextRuns(v.Expression, v.Zone, h.Now(), 1); len(fires) == 1 {
		out.NextRun = &fires[0]
	}
	return out
}

// nextRuns returns the next n fire times after now of expr in zone, none
// for no schedule. A stored schedule was valid when it was set; should
// its zone have gone from the tz database since, it shows no fire times
// (and the scheduler logs the problem).
func nextRuns(expr, zone string, now time.Time, n int) []fireJSON {
	if expr == "" {
		return []fireJSON{}
	}
	fires, err := schedule.NextRuns(expr, zone, now, n)
	if err != nil {
		return []fireJSON{}
	}
	out := make([]fireJSON, len(fires))
	for i, f := range fires {
		out[i] = fireJSON{UTC: f.At.UTC(), Local: f.Local, NominalLocal: f.Nominal, Shifted: f.Shifted}
	}
	return out
}

// featureJSON is a feature as the feature endpoints answer it: the
// features model's view and, computed at read time from the schedule it
// names, next_runs (the next five fire times; [] without a schedule).
type featureJSON struct {
	projections.FeatureView
	NextRuns []fireJSON `json:"next_runs"`
}

// withNextRuns adds next_runs to a feature. It is the hook the feature
// endpoints call on every feature they answer with.
func (a *api) withNextRuns(v projections.FeatureView) featureJSON {
	var expr, zone string
	if v.OriginalCron != nil {
		expr = *v.OriginalCron
	}
	if v.OriginalTimezone != nil {
		zone = *v.OriginalTimezone
	}
	return featureJSON{FeatureView: v, NextRuns: nextRuns(expr, zone, a.Now(), nextRunsShown)}
}

// withNextRunsAll is withNextRuns for a list.
func (a *api) withNextRunsAll(list []projections.FeatureView) []featureJSON {
	out := make([]featureJSON, len(list))
	for i, v := range list {
		out[i] = a.withNextRuns(v)
	}
	return out
}
