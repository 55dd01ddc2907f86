package readapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/projections"
)

// keptRebuildJobs bounds the rebuilds started over the API that GET
// /admin/projections/ lists.
const keptRebuildJobs = 20

// adminAPI serves the read models' status, rebuilds and skips of
// dead-lettered events to SUPERUSER.
type adminAPI struct {
	*api
	jobs *rebuildJobs
}

func (a *api) adminRoutes(r *routes) {
	h := &adminAPI{api: a, jobs: &rebuildJobs{}}
	r.get("/api/admin/projections/", h.status)
	r.post("/api/admin/projections/rebuild/", h.rebuild)
	r.post("/api/admin/projections/skip/", h.skip)
}

// rebuildJobs are the rebuilds this process started over the API.
// TODO(admin): jobs live in this process's memory only; after a restart,
// or in another API process, only the Manager's progress of a running
// rebuild is shown.
type rebuildJobs struct {
	mu   sync.Mutex
	next int64
	jobs []*rebuildJob
}

// rebuildJob is one rebuild request and how far it got.
type rebuildJob struct {
	ID         int64               `json:"id"`
	ReadModels []string            `json:"read_models"`
	State      string              `json:"state"`
	StartedAt  time.Time           `json:"started_at"`
	FinishedAt *time.Time          `json:"finished_at"`
	Error      *string             `json:"error"`
	Progress   map[string]int64    `json:"progress"`
	Results    []rebuildResultJSON `json:"results"`
	err        error               // of a failure, for a waiting request
	done       chan struct{}
}

// The states of a rebuild job.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
)

type rebuildResultJSON struct {
	Name     string `json:"name"`
	Version  int    `json:"version"`
	Events   int64  `json:"events"`
	Position string `json:"position"`
	Checksum string `json:"checksum"`
	// Duration is in ms.
	Duration int64 `json:"duration"`
}

// start registers a job for names.
func (j *rebuildJobs) start(names []string, now time.Time) *rebuildJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.next++
	job := &rebuildJob{ID: j.next, ReadModels: names, State: jobRunning, StartedAt: now.UTC(),
		Progress: map[string]int64{}, Results: []rebuildResultJSON{}, done: make(chan struct{})}
	j.jobs = append(j.jobs, job)
	if len(j.jobs) > keptRebuildJobs {
		j.jobs = slices.Delete(j.jobs, 0, len(j.jobs)-keptRebuildJobs)
	}
	return job
}

// progress records a rebuild's progress report.
func (j *rebuildJobs) progress(job *rebuildJob, p projections.Progress) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job.Progress[p.Name] = p.Events
}

// finish records the outcome of job.
func (j *rebuildJobs) finish(job *rebuildJob, results []projections.RebuildResult, err error, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, r := range results {
		job.Results = append(job.Results, rebuildResultJSON{Name: r.Name, Version: r.Version, Events: r.Events,
			Position: r.Position.String(), Checksum: r.Checksum, Duration: r.Duration.Milliseconds()})
	}
	t := now.UTC()
	job.FinishedAt, job.State = &t, jobDone
	if err != nil {
		msg := err.Error()
		job.State, job.Error, job.err = jobFailed, &msg, rebuildError(err)
	}
	close(job.done)
}

// snapshot returns copies of the jobs, newest first.
func (j *rebuildJobs) snapshot() []rebuildJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]rebuildJob, 0, len(j.jobs))
	for i := len(j.jobs) - 1; i >= 0; i-- {
		out = append(out, copyJob(j.jobs[i]))
	}
	return out
}

func (j *rebuildJobs) copyOf(job *rebuildJob) rebuildJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	return copyJob(job)
}

func copyJob(job *rebuildJob) rebuildJob {
	c := *job
	c.Progress = make(map[string]int64, len(job.Progress))
	for k, v := range job.Progress {
		c.Progress[k] = v
	}
	c.Results = slices.Clone(job.Results)
	return c
}

// rebuildError maps the Manager's busy error to a conflict.
func rebuildError(err error) error {
	if errors.Is(err, projections.ErrBusy) {
		return fmt.Errorf("%w: %w", err, domain.ErrConflict)
	}
	return err
}

// projectionJSON is one read model's status.
type projectionJSON struct {
	Name          string        `json:"name"`
	Version       int           `json:"version"`
	StoredVersion int           `json:"stored_version"`
	State         string        `json:"state"`
	Checkpoint    string        `json:"checkpoint"`
	LagEvents     int64         `json:"lag_events"`
	LagCapped     bool          `json:"lag_capped"`
	LagSeconds    float64       `json:"lag_seconds"`
	UpdatedAt     *time.Time    `json:"updated_at"`
	Failure       *failureJSON  `json:"failure"`
	PendingSkips  []skipJSON    `json:"pending_skips"`
	Rebuild       *progressJSON `json:"rebuild"`
}

// skipJSON is a skip request no projector has acted on yet.
type skipJSON struct {
	EventID     string    `json:"event_id"`
	Stream      string    `json:"stream"`
	Revision    uint64    `json:"revision"`
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
}

type failureJSON struct {
	Stream   string `json:"stream"`
	Revision uint64 `json:"revision"`
	Position string `json:"position"`
	EventID  string `json:"event_id"`
	Cause    string `json:"cause"`
}

type progressJSON struct {
	Events   int64   `json:"events"`
	Position string  `json:"position"`
	Elapsed  int64   `json:"elapsed"`
	Rate     float64 `json:"rate"`
}

// status is GET /backend/api/admin/projections/ (SUPERUSER): every read
// model's version, state, checkpoint, lag, last failure and pending skips,
// the progress of a running rebuild (in this process or another), and the
// rebuilds started over the API in this process, newest first.
func (h *adminAPI) status(c *fiber.Ctx) error {
	if err := requireSuperuser(callerOf(c)); err != nil {
		return err
	}
	list, err := h.Projections.Status(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]projectionJSON, len(list))
	for i, st := range list {
		p := projectionJSON{Name: st.Name, Version: st.Version, StoredVersion: st.StoredVersion,
			State: string(st.State), Checkpoint: st.Checkpoint.String(), LagEvents: st.LagEvents,
			LagCapped: st.LagCapped, LagSeconds: st.LagSeconds, PendingSkips: skipsJSON(st.PendingSkips)}
		if !st.UpdatedAt.IsZero() {
			t := st.UpdatedAt.UTC()
			p.UpdatedAt = &t
		}
		if f := st.Failure; f != nil {
			p.Failure = &failureJSON{Stream: f.Stream, Revision: f.Revision, Position: f.Position.String(),
				EventID: f.EventID.String(), Cause: f.Cause}
		}
		if r := st.Rebuild; r != nil {
			p.Rebuild = &progressJSON{Events: r.Events, Position: r.Position.String(),
				Elapsed: r.Elapsed.Milliseconds(), Rate: r.Rate}
		}
		out[i] = p
	}
	return c.JSON(fiber.Map{"results": out, "rebuilds": h.jobs.snapshot()})
}

func skipsJSON(list []projections.SkipRequest) []skipJSON {
	out := make([]skipJSON, len(list))
	for i, r := range list {
		out[i] = skipJSON{EventID: r.EventID.String(), Stream: r.Stream, Revision: r.Revision,
			RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt.UTC()}
	}
	return out
}

// rebuildBody names the read models to rebuild: a list, or ["all"], or
// all set. With wait set the request answers when the rebuild is over.
type rebuildBody struct {
	ReadModels []string `json:"read_models"`
	All        bool     `json:"all"`
	Wait       bool     `json:"wait"`
}

// rebuild is POST /backend/api/admin/projections/rebuild/ (SUPERUSER):
// replay the whole log into fresh tables of the named read models and swap
// them in, as `cometa projections rebuild` does. It answers 202 with the
// job at once (progress in GET /admin/projections/), or with wait 200 with
// the finished job. A model already rebuilding is 409; an unknown name is
// 400. The rebuild stops when the server shuts down.
func (h *adminAPI) rebuild(c *fiber.Ctx) error {
	if err := requireSuperuser(callerOf(c)); err != nil {
		return err
	}
	var body rebuildBody
	if err := decodeBody(c, &body, decodeOptions{strict: true}); err != nil {
		return err
	}
	names, err := h.rebuildNames(body)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	list, err := h.Projections.Status(ctx)
	if err != nil {
		return err
	}
	for _, st := range list {
		if st.State == projections.StateRebuilding && slices.Contains(names, st.Name) {
			return domain.Conflict("read model %q is being rebuilt already", st.Name)
		}
	}

	job := h.jobs.start(names, h.Now())
	shutdown := c.Context().Done()
	go h.run(job, shutdown)
	if !body.Wait {
		return c.Status(fiber.StatusAccepted).JSON(h.jobs.copyOf(job))
	}
	<-job.done
	done := h.jobs.copyOf(job)
	switch {
	case done.State == jobFailed && c.Context().Err() != nil:
		// The shutdown stopped the rebuild (run watches the same signal).
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"success": false,
			"error": "server shutting down: the rebuild stopped before it was done (a read model is " +
				"swapped in only once rebuilt); start it again"})
	case done.State == jobFailed:
		return done.err
	}
	return c.JSON(done)
}

// rebuildNames checks the body's read model names: every one must be a
// read model of the Manager, "all" stands for all of them.
func (h *adminAPI) rebuildNames(body rebuildBody) ([]string, error) {
	all := h.Projections.Names()
	if body.All || slices.Equal(body.ReadModels, []string{"all"}) {
		return all, nil
	}
	if len(body.ReadModels) == 0 {
		return nil, domain.Invalid("read_models",
			`name the read models to rebuild (of %v), ["all"], or set "all": true`, all)
	}
	var errs []error
	for _, n := range body.ReadModels {
		if !slices.Contains(all, n) {
			errs = append(errs, domain.Invalid("read_models", "no read model %q (the read models are %v)", n, all))
		}
	}
	if len(errs) > 0 {
		return nil, joinInvalid(errs)
	}
	return slices.Compact(slices.Clone(body.ReadModels)), nil
}

// run rebuilds job's models one after the other until done or the server
// shuts down.
func (h *adminAPI) run(job *rebuildJob, shutdown <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	results, err := h.Projections.Rebuild(ctx, func(p projections.Progress) { h.jobs.progress(job, p) },
		job.ReadModels...)
	h.jobs.finish(job, results, err, h.Now())
	if err != nil {
		h.Logger.ErrorContext(ctx, "rebuild over the API failed", "job", job.ID, "read_models", job.ReadModels,
			"err", err)
		return
	}
	h.Logger.InfoContext(ctx, "rebuild over the API done", "job", job.ID, "read_models", job.ReadModels,
		"duration", time.Since(start))
}

// skipBody names a dead letter to skip: a read model and the id of the
// event it cannot apply (failure.event_id in GET /admin/projections/).
type skipBody struct {
	ReadModel string `json:"read_model"`
	EventID   string `json:"event_id"`
}

// skip is POST /backend/api/admin/projections/skip/ (SUPERUSER): ask that a
// read model move past an event it cannot apply, as `cometa projections
// skip` does. The request is only recorded on the event's dead letter, with
// the caller; the model's projector, in whichever process, skips the event
// at its next retry. It answers 202. A missing or malformed field or an
// unknown read model is 400, an event without a dead letter of the model
// 404, a dead letter resolved already 409.
func (h *adminAPI) skip(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := requireSuperuser(who); err != nil {
		return err
	}
	var body skipBody
	if err := decodeBody(c, &body, decodeOptions{strict: true}); err != nil {
		return err
	}
	id, err := h.skipTarget(body)
	if err != nil {
		return err
	}

	by := fmt.Sprintf("account %d (%s)", who.AccountID, who.Email)
	if err := h.Projections.RequestSkip(c.UserContext(), body.ReadModel, id, by); err != nil {
		return err
	}
	h.Logger.InfoContext(c.UserContext(), "skip of a dead-lettered event requested",
		"read_model", body.ReadModel, "event_id", id, "account_id", who.AccountID)
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{
		"success": true, "read_model": body.ReadModel, "event_id": id.String(), "requested_by": by,
		"message": "skip requested: the read model's projector skips the event at its next retry",
	})
}

// skipTarget checks the body's read model and event id, naming every
// problem at once.
func (h *adminAPI) skipTarget(body skipBody) (uuid.UUID, error) {
	var errs []error
	all := h.Projections.Names()
	switch {
	case body.ReadModel == "":
		errs = append(errs, domain.Invalid("read_model", "name the read model (one of %v)", all))
	case !slices.Contains(all, body.ReadModel):
		errs = append(errs, domain.Invalid("read_model", "no read model %q (the read models are %v)",
			body.ReadModel, all))
	}
	id, err := uuid.Parse(body.EventID)
	switch {
	case body.EventID == "":
		errs = append(errs, domain.Invalid("event_id",
			"give the id of the event the read model cannot apply (failure.event_id in the status)"))
	case err != nil:
		errs = append(errs, domain.Invalid("event_id", "%q is not a UUID", body.EventID))
	}
	if len(errs) > 0 {
		return uuid.Nil, joinInvalid(errs)
	}
	return id, nil
}
