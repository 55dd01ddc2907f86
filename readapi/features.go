package readapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
	"github.com/cometa-es/cometa/scheduler"
)

// featureModels are the read models a feature change must reach before
// the write answers: each projects feature events.
var featureModels = []string{"features", "folders", "variables"}

// featureAPI serves features and their steps. Features of a department
// the caller is not a member of answer 404, as if they did not exist.
type featureAPI struct {
	*api
	reader   *projections.FeatureReader
	commands *commands.Features
}

func (a *api) featureAPI() *featureAPI {
	reader := projections.NewFeatureReader(a.Pool)
	return &featureAPI{api: a, reader: reader, commands: commands.NewFeatures(a.Log, a.IDs, a.Steps, reader)}
}

func (a *api) featureRoutes(r *routes) {
	h := a.featureAPI()
	r.get("/api/features/", h.list)
	r.get("/api/features/:feature_id/", h.get)
	r.post("/api/features/", h.create)
	r.patch("/api/features/", h.patch)
	r.delete("/api/features/:feature_id/", h.remove)
}

// list is GET /backend/api/features/: the features of the caller's
// departments (SUPERUSER: all) as {"results": [...]}.
func (h *featureAPI) list(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	list, err := h.reader.List(c.UserContext(), who.Departments, who.SeesAllDepartments())
	if err != nil {
		return err
	}
	if list == nil {
		list = []projections.FeatureView{}
	}
	return c.JSON(fiber.Map{"results": h.withNextRunsAll(list)})
}

// get is GET /backend/api/features/<id>/: {"results": [feature]}.
func (h *featureAPI) get(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	v, err := h.visible(c.UserContext(), who, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": []featureJSON{h.withNextRuns(v)}})
}

// visible returns live feature id when the caller may see it; any other
// is not found.
func (h *featureAPI) visible(ctx context.Context, who Caller, id int64) (projections.FeatureView, error) {
	v, ok, err := h.reader.Get(ctx, id)
	if err != nil {
		return v, err
	}
	if !ok || !who.InDepartment(v.DepartmentID) {
		return v, domain.NotFound("feature", id)
	}
	return v, nil
}

// create is the seed's POST /api/features/ (and /backend/api/features/):
// a new feature from the body, answered 201 with the feature.
func (h *featureAPI) create(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.CreateFeature)); err != nil {
		return err
	}
	var body featureBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	v, err := h.createFrom(c, who, body)
	if err != nil {
		return err
	}
	return created(c, h.withNextRuns(v))
}

// createFrom makes the feature body describes and returns it as the read
// model shows it once the write has reached it.
func (h *featureAPI) createFrom(c *fiber.Ctx, who Caller, body featureBody) (projections.FeatureView, error) {
	ctx := c.UserContext()
	def := feature.Definition{Video: true, AttachPDFReportToEmail: true}
	if body.DepartmentID == nil && len(who.Departments) == 1 {
		def.DepartmentID = who.Departments[0]
	}
	if err := h.edit(0, body)(ctx, &def, true); err != nil {
		return projections.FeatureView{}, err
	}
	sched, err := h.scheduleOf(c, who, body)
	if err != nil {
		return projections.FeatureView{}, err
	}
	id, created, err := h.commands.Create(ctx, h.meta(c), who.Actor, def)
	if err != nil {
		return projections.FeatureView{}, err
	}
	res, err := h.setSchedule(c, sched, id, created)
	if err != nil {
		return projections.FeatureView{}, err
	}
	if err := h.settle(ctx, res.Position, featureModels...); err != nil {
		return projections.FeatureView{}, err
	}
	v, _, err := h.written(ctx, who, id, 1, created.Position)
	return v, err
}

// patch is Cometa's PATCH /backend/api/features/, what its UI uses to
// create (feature_id 0, answered 201) and to edit: the fields in the body
// replace the feature's, the others stay. With "version" the edit is
// refused (409) unless the feature is still at that version.
func (h *featureAPI) patch(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.EditFeature)); err != nil {
		return err
	}
	var body featureBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	switch {
	case body.FeatureID == nil:
		return domain.Invalid("feature_id", "is required (0 creates a feature)")
	case *body.FeatureID < 0:
		return domain.Invalid("feature_id", "must not be negative")
	case *body.FeatureID == 0:
		v, err := h.createFrom(c, who, body)
		if err != nil {
			return err
		}
		return created(c, fiber.Map{"success": true, "info": h.withNextRuns(v)})
	}
	v, _, err := h.save(c, who, *body.FeatureID, body)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "info": h.withNextRuns(v)})
}

// save applies body to feature id and returns the feature at the version
// this save wrote once the read models show it (see written).
func (h *featureAPI) save(c *fiber.Ctx, who Caller, id int64, body featureBody) (
	projections.FeatureView, []projections.StepView, error) {
	ctx := c.UserContext()
	expected := 0
	if body.Version != nil {
		if *body.Version < 1 {
			return projections.FeatureView{}, nil, domain.Invalid("version", "must be a version number (1 or more)")
		}
		expected = *body.Version
	}
	sched, err := h.scheduleOf(c, who, body)
	if err != nil {
		return projections.FeatureView{}, nil, err
	}
	apply := h.edit(id, body)
	saved, err := h.commands.Save(ctx, h.meta(c), who.Actor, id, expected,
		func(ctx context.Context, cur feature.Definition) (feature.Definition, error) {
			err := apply(ctx, &cur, false)
			return cur, err
		})
	if err != nil {
		return projections.FeatureView{}, nil, err
	}
	res, err := h.setSchedule(c, sched, id, saved.AppendResult)
	if err != nil {
		return projections.FeatureView{}, nil, err
	}
	if err := h.settle(ctx, res.Position, featureModels...); err != nil {
		return projections.FeatureView{}, nil, err
	}
	return h.written(ctx, who, id, saved.Version, saved.Position)
}

// written returns feature id as the write at pos left it, at version n,
// for the answer to that write. The features read model holds the latest
// version only, which is n unless a concurrent save has overtaken this
// one since it settled; then version n comes from the history read model
// (the answer must not show another request's edit as this one's), with
// its authored steps (steps is nil when the read model's current steps are
// version n's).
func (h *featureAPI) written(ctx context.Context, who Caller, id int64, n int, pos eventstore.Position) (
	v projections.FeatureView, steps []projections.StepView, err error) {
	if v, err = h.visible(ctx, who, id); err != nil || v.Version == n {
		return v, nil, err
	}
	if err := h.settle(ctx, pos, historyModel); err != nil {
		return v, nil, err
	}
	s, ok, err := projections.NewHistoryReader(h.Pool).Version(ctx, id, n)
	if err != nil {
		return v, nil, err
	}
	if !ok {
		return v, nil, fmt.Errorf("feature %d version %d: %w", id, n, domain.ErrNotFound)
	}
	return v.AtVersion(s), s.StepViews(), nil
}

// scheduleOf returns the schedule the body asks for, checked before the
// feature is saved, or nil when the body names none.
func (h *featureAPI) scheduleOf(c *fiber.Ctx, who Caller, body featureBody) (*schedule.Set, error) {
	if body.Schedule == nil {
		return nil, nil
	}
	cmd := schedule.Set{Expression: *body.Schedule, OwnerID: who.AccountID, Now: h.Now()}
	if body.OriginalTimezone != nil {
		cmd.Zone = *body.OriginalTimezone
	}
	// Deciding on a schedule not set yet checks the expression and zone.
	probe := cmd
	probe.FeatureID = 1
	if _, err := (schedule.State{}).Decide(probe); err != nil {
		return nil, err
	}
	return &cmd, nil
}

// setSchedule sets sched (when not nil) on feature id and returns the
// later of the two writes.
//
// TODO(features): the schedule is a second append after the feature's;
// a store fault in between leaves the feature saved without it.
func (h *featureAPI) setSchedule(c *fiber.Ctx, sched *schedule.Set, id int64, saved eventstore.AppendResult) (
	eventstore.AppendResult, error) {
	if sched == nil {
		return saved, nil
	}
	cmd := *sched
	cmd.FeatureID = id
	res, _, err := scheduler.Set(c.UserContext(), h.Log, h.meta(c), cmd)
	if err != nil || res.Position.Less(saved.Position) {
		return saved, err
	}
	return res, nil
}

// remove is DELETE /backend/api/features/<id>/: {"success": true}. The
// creator, or a caller with delete_feature, may delete.
func (h *featureAPI) remove(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	res, err := h.commands.Delete(ctx, h.meta(c), who.Actor, id)
	if err != nil {
		return err
	}
	if err := h.settle(ctx, res.Position, featureModels...); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}

// edit returns the function that applies body to a definition of feature
// id (0 for a new one): the fields the body names, its steps with the ids
// they had, and the names of the department, application and environment
// as the catalogue has them. With all set, every reference is checked;
// otherwise only those the body changes.
func (h *featureAPI) edit(id int64, body featureBody) func(context.Context, *feature.Definition, bool) error {
	return func(ctx context.Context, def *feature.Definition, all bool) error {
		before := *def
		body.applyTo(def)
		steps, given, err := body.steps()
		if err != nil {
			return err
		}
		if given {
			known := map[int64]string{}
			if id != 0 {
				if known, err = h.reader.StepIDs(ctx, id); err != nil {
					return err
				}
			}
			def.Steps = toSteps(steps, known)
		}
		return h.checkCatalog(ctx, def, before, all)
	}
}

// checkCatalog checks that the department, application and environment of
// def exist (all of them, or those that differ from before) and copies
// their names. The features read model's copy of the catalogue may lag a
// catalogue change just made, so a miss waits for it to catch up once.
func (h *featureAPI) checkCatalog(ctx context.Context, def *feature.Definition, before feature.Definition, all bool) error {
	dep, app, env := def.DepartmentID, def.AppID, def.EnvironmentID
	if !all {
		dep, app, env = changed(dep, before.DepartmentID), changed(app, before.AppID), changed(env, before.EnvironmentID)
	}
	dep, app, env = max(dep, 0), max(app, 0), max(env, 0)
	names, err := h.reader.Names(ctx, dep, app, env)
	if err != nil {
		return err
	}
	missing := func() bool {
		return (dep != 0 && names.Department == nil) || (app != 0 && names.Application == nil) ||
			(env != 0 && names.Environment == nil)
	}
	if missing() {
		if err := h.catchUp(ctx, "features"); err != nil {
			return err
		}
		if names, err = h.reader.Names(ctx, dep, app, env); err != nil {
			return err
		}
	}
	var errs []error
	for _, ref := range []struct {
		field string
		id    int64
		name  *string
		into  *string
	}{
		{"department_id", dep, names.Department, &def.DepartmentName},
		{"app_id", app, names.Application, &def.AppName},
		{"environment_id", env, names.Environment, &def.EnvironmentName},
	} {
		switch {
		case ref.id == 0:
		case ref.name == nil:
			errs = append(errs, domain.Invalid(ref.field, "no such object: %d", ref.id))
		default:
			*ref.into = *ref.name
		}
	}
	return errors.Join(errs...)
}

// changed returns now when it differs from was, else 0.
func changed(now, was int64) int64 {
	if now == was {
		return 0
	}
	return now
}

// catchUp waits until the named read models have reached the end of the
// log as it is now.
func (a *api) catchUp(ctx context.Context, models ...string) error {
	head, _, err := a.Log.Store().Head(ctx)
	if err != nil {
		return err
	}
	return a.settle(ctx, head, models...)
}
