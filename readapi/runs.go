package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

// maxRunWait bounds how long POST /backend/exectest/ with wait: true waits
// for the run to end before it answers 504 with the run's result ids.
const maxRunWait = 30 * time.Minute

// runAPI serves runs, their results, step results and screenshots. Objects
// of a feature outside the caller's departments answer 404, as if they did
// not exist.
type runAPI struct {
	*api
	runs    *commands.Runs
	results *commands.RunResults
}

func (a *api) runAPI() *runAPI {
	queue := projections.NewRunQueueReader(a.Pool)
	runs := commands.NewRuns(a.Log, a.IDs, commands.RunsConfig{
		Library: projections.NewFeatureReader(a.Pool), Variables: queue, Running: queue,
	})
	return &runAPI{api: a, runs: runs, results: commands.NewRunResults(a.Log)}
}

func (a *api) runRoutes(r *routes) {
	h := a.runAPI()
	r.post("/exectest/", h.execTest)
	r.get("/exectest/", h.execTest)
	r.get("/killTask/:feature_id/", h.killTask)
	r.get("/killTaskPID/:pid/", h.killTaskPID)
	r.get("/updateTask/", h.updateTask)
	r.post("/updateTask/", h.updateTask)
	r.get("/api/feature_results/:feature_result_id/junit/", h.junitReport)
}

// execBody is the body (or, for GET, the query) of /backend/exectest/.
// Cometa's other keys (confirm, jobId) are ignored. Browsers is only read
// to be refused: a run takes its feature's browsers, and a list sent here
// must not look as if it had been used.
type execBody struct {
	FeatureID *int64          `json:"feature_id"`
	Wait      bool            `json:"wait"`
	Browsers  json.RawMessage `json:"browsers"`
}

// execTest is POST (and GET) /backend/exectest/: it requests a run of the
// feature, one result per browser, and answers {"success": true,
// "feature_result_ids": [...], "run_id": N}. With wait: true it answers
// once every result has ended, adding the results ("results") and the
// run's status.
func (h *runAPI) execTest(c *fiber.Ctx) error {
	who := callerOf(c)
	var body execBody
	// Optional: with neither a body nor a query, the answer names
	// feature_id rather than asking for a body the query form can replace.
	if err := decodeInput(c, &body, decodeOptions{optional: true}); err != nil {
		return err
	}
	featureID, err := requiredID("feature_id", body.FeatureID, "the id of the feature to run")
	if err != nil {
		return err
	}
	if given(body.Browsers) {
		return domain.Invalid("browsers", "a run uses the browsers of its feature; set them with "+
			"PATCH /backend/api/features/ (this route takes feature_id and wait)")
	}
	ctx := c.UserContext()
	req, err := h.runs.Request(ctx, h.meta(c), who.Actor, commands.RunInput{FeatureID: featureID})
	if err != nil {
		return err
	}
	if err := h.settle(ctx, req.Position, runsModels...); err != nil {
		return err
	}
	answer := fiber.Map{"success": true, "feature_result_ids": req.ResultIDs, "run_id": req.RunID}
	if !body.Wait {
		return c.JSON(answer)
	}

	// TODO(runs): WaitFinished follows the whole log per waiting request;
	// many concurrent waits would be cheaper on one shared subscription.
	waitCtx, cancel := context.WithTimeout(ctx, maxRunWait)
	defer cancel()
	// A server that shuts down ends the wait at once (fasthttp closes the
	// request context's Done then), so that a stop is not held up by a run
	// that may take half an hour, and the client learns why.
	defer context.AfterFunc(c.Context(), cancel)()
	if _, err := h.runs.WaitFinished(waitCtx, req.RunID); err != nil {
		switch {
		case c.Context().Err() != nil:
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"success": false,
				"error": fmt.Sprintf("server shutting down: run %d had not finished when the server began "+
					"to stop; its results show how it ends", req.RunID),
				"feature_result_ids": req.ResultIDs, "run_id": req.RunID})
		case errors.Is(err, context.DeadlineExceeded):
			return c.Status(fiber.StatusGatewayTimeout).JSON(fiber.Map{"success": false,
				"error":              fmt.Sprintf("run %d was still running after %s", req.RunID, maxRunWait),
				"feature_result_ids": req.ResultIDs, "run_id": req.RunID})
		}
		return err
	}
	if err := h.catchUp(ctx, "runs"); err != nil {
		return err
	}
	results, _, err := h.queryResults(ctx, who, `r.run_id = $3`, `r.feature_result_id`, nil, req.RunID)
	if err != nil {
		return err
	}
	var status string
	if err := h.Pool.QueryRow(ctx, `SELECT status FROM rm_runs.runs WHERE run_id = $1`, req.RunID).
		Scan(&status); err != nil {
		return fmt.Errorf("read run %d: %w", req.RunID, err)
	}
	answer["results"], answer["status"] = results, status
	return c.JSON(answer)
}

// killTask is GET /backend/killTask/<feature_id>/: every queued or running
// result of the feature is asked to stop (it ends Canceled). It answers
// {"success": true, "tasks": <count>, "feature_result_ids": [...]}.
// Cometa checks no permission here; this server wants run_feature.
//
// A deleted feature (or one of a deleted department) may still have
// results running: those the caller sees (by the department their run
// pinned) are killed as killTaskPID kills them, and only a deleted
// feature with none is a 404.
func (h *runAPI) killTask(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	visible := h.visibleRunFeature(ctx, who, id)
	if errors.Is(visible, domain.ErrNotFound) {
		return h.killRunning(c, `r.feature_id = $3`, id, visible)
	}
	if visible != nil {
		return visible
	}
	if err := who.Require(string(role.RunFeature)); err != nil {
		return err
	}
	// The run queue names the unfinished results: let it see every run
	// requested so far.
	if err := h.catchUp(ctx, "runqueue"); err != nil {
		return err
	}
	killed, res, err := h.runs.KillFeature(ctx, h.meta(c), id, "", who.AccountID)
	if err != nil {
		return err
	}
	if len(killed) > 0 {
		if err := h.settle(ctx, res.Position, runsModels...); err != nil {
			return err
		}
	}
	if killed == nil {
		killed = []int64{}
	}
	return c.JSON(fiber.Map{"success": true, "tasks": len(killed), "feature_result_ids": killed})
}

// killRunning kills the running results matching where (its argument is
// $3) that the caller may see, and answers as killTask; with none it
// returns notFound. It serves killTaskPID and killTask on a feature the
// caller cannot see as a feature (deleted, with its department or alone).
func (h *runAPI) killRunning(c *fiber.Ctx, where string, arg any, notFound error) error {
	who := callerOf(c)
	ctx := c.UserContext()
	if err := h.catchUp(ctx, "runs"); err != nil {
		return err
	}
	tasks, err := h.runningTasks(ctx, who, where, arg)
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		return notFound
	}
	if err := who.Require(string(role.RunFeature)); err != nil {
		return err
	}
	killed, err := h.kill(c, tasks)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "tasks": len(killed), "feature_result_ids": killed})
}

// killTaskPID is GET /backend/killTaskPID/<pid>/: the running results whose
// local browser has that process id (ResultStarted records it) are asked
// to stop. Runners on other machines may reuse a pid: each running result
// with it that the caller may see is killed.
//
// TODO(runs): a pid names a process only on one host; a runner-qualified
// form (runner identity and pid) would make the kill exact.
func (h *runAPI) killTaskPID(c *fiber.Ctx) error {
	pid, err := pathID(c, "pid")
	if err != nil {
		return err
	}
	// The read model keeps pids as PostgreSQL integers, as the kernel
	// hands them out (Linux's pid_max is at most 2^22).
	if pid > math.MaxInt32 {
		return domain.Invalid("pid", "must be a process id (1 to %d), got %d", math.MaxInt32, pid)
	}
	return h.killRunning(c, `r.pid = $3`, pid, fmt.Errorf("no running task with pid %d: %w", pid, domain.ErrNotFound))
}

// task is a queued or running result.
type task struct{ result, run int64 }

// runningTasks lists the queued and running results matching where (its
// argument is $3) that the caller may see.
func (h *runAPI) runningTasks(ctx context.Context, who Caller, where string, arg any) ([]task, error) {
	rows, err := h.Pool.Query(ctx, `SELECT r.feature_result_id, r.run_id
		FROM rm_runs.results r LEFT JOIN rm_runs.features f ON f.feature_id = r.feature_id
		WHERE r.running AND NOT r.removed AND `+where+` AND `+visibleResult+` ORDER BY r.feature_result_id`,
		who.SeesAllDepartments(), nonNil(who.Departments), arg)
	if err != nil {
		return nil, fmt.Errorf("find running tasks: %w", err)
	}
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (task, error) {
		var t task
		err := r.Scan(&t.result, &t.run)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("find running tasks: %w", err)
	}
	return tasks, nil
}

// kill asks each task to stop and returns the ids of those that were not
// asked before. A queued result ends Canceled at once; a running one is
// ended by its runner.
func (h *runAPI) kill(c *fiber.Ctx, tasks []task) ([]int64, error) {
	ctx := c.UserContext()
	who := callerOf(c)
	meta := h.meta(c)
	killed := []int64{}
	var last eventstore.Position
	for _, t := range tasks {
		res, changed, err := h.runs.KillResult(ctx, meta, t.result, t.run, "", who.AccountID)
		if err != nil {
			return killed, err
		}
		if changed {
			killed, last = append(killed, t.result), res.Position
		}
	}
	if !last.IsZero() {
		if err := h.settle(ctx, last, runsModels...); err != nil {
			return killed, err
		}
	}
	return killed, nil
}

// requiredID checks an id field of a body or query: absent is "is
// required" with what it names, zero or negative "must be a positive
// integer".
func requiredID(field string, id *int64, what string) (int64, error) {
	switch {
	case id == nil:
		return 0, domain.Invalid(field, "is required: %s", what)
	case *id <= 0:
		return 0, domain.Invalid(field, "must be a positive integer, got %d", *id)
	}
	return *id, nil
}

// updateTaskBody is the body (or query) of /backend/updateTask/, as
// Cometa's runner sent it.
type updateTaskBody struct {
	Action          string `json:"action"`
	FeatureID       *int64 `json:"feature_id"`
	FeatureResultID int64  `json:"feature_result_id"`
	PID             int64  `json:"pid"`
	Browser         any    `json:"browser"`
}

// taskJSON is a running result as a task.
type taskJSON struct {
	FeatureResultID int64  `json:"feature_result_id"`
	FeatureID       int64  `json:"feature_id"`
	RunID           int64  `json:"run_id"`
	PID             int    `json:"pid"`
	Runner          string `json:"runner"`
	BrowserVersion  string `json:"browser_version"`
}

// updateTask is GET (and POST) /backend/updateTask/. In Cometa the runner
// registered its processes here; in this server the runner's own events
// (ResultClaimed, ResultStarted, ResultFinished) are the task registry, so
// the action changes nothing: the answer lists the feature's running
// tasks as those events made them.
func (h *runAPI) updateTask(c *fiber.Ctx) error {
	who := callerOf(c)
	var body updateTaskBody
	if err := decodeInput(c, &body, decodeOptions{}); err != nil {
		return err
	}
	featureID, err := requiredID("feature_id", body.FeatureID, "the id of the feature")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := h.visibleRunFeature(ctx, who, featureID); err != nil {
		return err
	}
	if err := who.Require(string(role.RunFeature)); err != nil {
		return err
	}
	rows, err := h.Pool.Query(ctx, `SELECT feature_result_id, feature_id, run_id, pid, runner, browser_version
		FROM rm_runs.results WHERE feature_id = $1 AND running AND NOT removed ORDER BY feature_result_id`,
		featureID)
	if err != nil {
		return fmt.Errorf("list tasks of feature %d: %w", featureID, err)
	}
	tasks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[taskJSON])
	if err != nil {
		return fmt.Errorf("list tasks of feature %d: %w", featureID, err)
	}
	if tasks == nil {
		tasks = []taskJSON{}
	}
	return c.JSON(fiber.Map{"success": true, "tasks": tasks,
		"message": "tasks are recorded by the runner's own events; nothing was changed"})
}
