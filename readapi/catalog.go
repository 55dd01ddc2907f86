package readapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

func (a *api) catalogRoutes(r *routes) {
	r.get("/api/applications/", a.listApplications)
	r.post("/api/applications/", a.createApplication)
	r.patch("/api/applications/:app_id/:app_name/", a.renameApplication)
	r.delete("/api/applications/:app_id/", a.deleteApplication)
	r.get("/api/environments/", a.listEnvironments)
	r.post("/api/environments/", a.createEnvironment)
	r.patch("/api/environments/:environment_id/:environment_name/", a.renameEnvironment)
	r.delete("/api/environments/:environment_id/", a.deleteEnvironment)
}

// applicationJSON is an application as Cometa serializes it.
type applicationJSON struct {
	AppID     int64  `json:"app_id"`
	AppName   string `json:"app_name"`
	Slug      string `json:"slug"`
	CreatedOn string `json:"created_on"`
}

// queryApplications reads every application, or the one with id when id
// is not 0, in id order.
func (a *api) queryApplications(ctx context.Context, id int64) ([]applicationJSON, error) {
	rows, err := a.Pool.Query(ctx, `SELECT app_id, app_name, slug, created_on FROM rm_catalog.applications
		WHERE $1 = 0 OR app_id = $1 ORDER BY app_id`, id)
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	out := []applicationJSON{}
	var (
		app     applicationJSON
		created time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&app.AppID, &app.AppName, &app.Slug, &created}, func() error {
		app.CreatedOn = created.UTC().Format(isoMicro)
		out = append(out, app)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return out, nil
}

// listApplications is GET /backend/api/applications/: every application
// (they belong to no department).
func (a *api) listApplications(c *fiber.Ctx) error {
	list, err := a.queryApplications(c.UserContext(), 0)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": list})
}

// createApplication adds an application with a unique name and answers
// 201 with it.
func (a *api) createApplication(c *fiber.Ctx) error {
	who := callerOf(c)
	var body struct {
		AppName *string `json:"app_name"`
	}
	if err := decodeBody(c, &body, decodeOptions{strict: true}); err != nil {
		return err
	}
	if body.AppName == nil {
		return domain.Invalid("app_name", "is required")
	}
	ctx := c.UserContext()
	if err := a.applicationNameFree(ctx, *body.AppName, 0); err != nil {
		return err
	}
	id, res, err := commands.CreateApplication(ctx, a.IDs, a.meta(c),
		catalog.CreateApplication{Actor: who.Actor, Name: *body.AppName})
	if err != nil {
		return err
	}
	if err := a.settle(ctx, res.Position, "catalog"); err != nil {
		return err
	}
	list, err := a.queryApplications(ctx, id)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return domain.NotFound("application", id)
	}
	return created(c, list[0])
}

// applicationNameFree returns a 400 naming app_name when another
// application than except has the name (as domain.NameKey compares
// names): application names are unique in Cometa. It answers early from
// the read model and covers names taken before claims existed; the
// command's claim (commands.ApplicationName) is what decides between
// concurrent requests.
func (a *api) applicationNameFree(ctx context.Context, name string, except int64) error {
	if _, err := domain.RequireText("app_name", name, catalog.MaxNameLength); err != nil {
		return err
	}
	var taken bool
	err := a.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_catalog.applications
		WHERE name_key = $1 AND app_id <> $2)`, domain.NameKey(name), except).Scan(&taken)
	if err != nil {
		return fmt.Errorf("look up application name: %w", err)
	}
	if taken {
		return domain.Invalid("app_name", "application with this app name already exists")
	}
	return nil
}

// renameApplication is Cometa's PATCH /api/applications/<id>/<new_name>/.
// The id and the new name are the path's; a body is optional (see
// renameBody).
func (a *api) renameApplication(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "app_id")
	if err != nil {
		return err
	}
	name, err := url.PathUnescape(c.Params("app_name"))
	if err != nil {
		return domain.Invalid("app_name", "not a valid path segment")
	}
	if err := renameBody(c, "app_id", id, "app_name", name); err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := a.applicationNameFree(ctx, name, id); err != nil {
		return err
	}
	res, _, err := commands.ChangeApplication(ctx, a.Log, a.meta(c), id,
		catalog.RenameApplication{Actor: who.Actor, ApplicationID: id, Name: name})
	return a.catalogAnswer(c, res.Position, err)
}

// deleteApplication removes an application that no live feature uses; one
// in use is a 409 naming the features (see applicationUsage).
func (a *api) deleteApplication(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "app_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	used, err := a.applicationUsage(ctx, id)
	if err != nil {
		return err
	}
	res, _, err := commands.ChangeApplication(ctx, a.Log, a.meta(c), id,
		catalog.DeleteApplication{Actor: who.Actor, ApplicationID: id, UsedBy: used})
	return a.catalogAnswer(c, res.Position, err)
}

// usersShown is how many ids of the features (and variables) that use an
// application or environment a refused deletion names.
const usersShown = 5

// applicationUsage looks up the live features that use application id. The
// command refuses the deletion with a 409 while there are any, after its
// permission and existence checks, so those answers come first.
//
// TODO(catalog): the check reads the read models, so a feature saved at the
// same moment as the deletion can slip through (a known race).
func (a *api) applicationUsage(ctx context.Context, id int64) (catalog.Usage, error) {
	var (
		u   catalog.Usage
		err error
	)
	features := projections.NewFeatureReader(a.Pool)
	u.Features, u.FeatureIDs, err = features.FeaturesOfApplication(ctx, id, usersShown)
	return u, err
}

// environmentUsage is applicationUsage for environment id: the live
// features that use it and the live variables scoped to it.
//
// TODO(catalog): the check reads the read models, so a feature saved at the
// same moment as the deletion can slip through (a known race). The same
// holds for a variable.
func (a *api) environmentUsage(ctx context.Context, id int64) (catalog.Usage, error) {
	var (
		u   catalog.Usage
		err error
	)
	features, variables := projections.NewFeatureReader(a.Pool), projections.NewVariableReader(a.Pool)
	if u.Features, u.FeatureIDs, err = features.FeaturesOfEnvironment(ctx, id, usersShown); err != nil {
		return u, err
	}
	u.Variables, u.VariableIDs, err = variables.VariablesOfEnvironment(ctx, id, usersShown)
	return u, err
}

// environmentJSON is an environment as Cometa serializes it.
type environmentJSON struct {
	EnvironmentID   int64  `json:"environment_id"`
	EnvironmentName string `json:"environment_name"`
	CreatedOn       string `json:"created_on"`
}

// queryEnvironments reads every environment, or the one with id when id
// is not 0, in id order.
func (a *api) queryEnvironments(ctx context.Context, id int64) ([]environmentJSON, error) {
	rows, err := a.Pool.Query(ctx, `SELECT environment_id, environment_name, created_on
		FROM rm_catalog.environments WHERE $1 = 0 OR environment_id = $1 ORDER BY environment_id`, id)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	out := []environmentJSON{}
	var (
		env     environmentJSON
		created time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&env.EnvironmentID, &env.EnvironmentName, &created}, func() error {
		env.CreatedOn = created.UTC().Format(isoMicro)
		out = append(out, env)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	return out, nil
}

// listEnvironments is GET /backend/api/environments/.
func (a *api) listEnvironments(c *fiber.Ctx) error {
	list, err := a.queryEnvironments(c.UserContext(), 0)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": list})
}

// createEnvironment adds an environment (names need not be unique, as in
// Cometa) and answers 201 with it.
func (a *api) createEnvironment(c *fiber.Ctx) error {
	who := callerOf(c)
	var body struct {
		EnvironmentName *string `json:"environment_name"`
	}
	if err := decodeBody(c, &body, decodeOptions{strict: true}); err != nil {
		return err
	}
	if body.EnvironmentName == nil {
		return domain.Invalid("environment_name", "is required")
	}
	ctx := c.UserContext()
	id, res, err := commands.CreateEnvironment(ctx, a.IDs, a.meta(c),
		catalog.CreateEnvironment{Actor: who.Actor, Name: *body.EnvironmentName})
	if err != nil {
		return err
	}
	if err := a.settle(ctx, res.Position, "catalog"); err != nil {
		return err
	}
	list, err := a.queryEnvironments(ctx, id)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return domain.NotFound("environment", id)
	}
	return created(c, list[0])
}

// renameEnvironment is Cometa's PATCH /api/environments/<id>/<new_name>/.
// The id and the new name are the path's; a body is optional (see
// renameBody).
func (a *api) renameEnvironment(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "environment_id")
	if err != nil {
		return err
	}
	name, err := url.PathUnescape(c.Params("environment_name"))
	if err != nil {
		return domain.Invalid("environment_name", "not a valid path segment")
	}
	if err := renameBody(c, "environment_id", id, "environment_name", name); err != nil {
		return err
	}
	res, _, err := commands.ChangeEnvironment(c.UserContext(), a.Log, a.meta(c), id,
		catalog.RenameEnvironment{Actor: who.Actor, EnvironmentID: id, Name: name})
	return a.catalogAnswer(c, res.Position, err)
}

// deleteEnvironment removes an environment that no live feature or
// variable uses; one in use is a 409 naming them (see environmentUsage).
func (a *api) deleteEnvironment(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "environment_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	used, err := a.environmentUsage(ctx, id)
	if err != nil {
		return err
	}
	res, _, err := commands.ChangeEnvironment(ctx, a.Log, a.meta(c), id,
		catalog.DeleteEnvironment{Actor: who.Actor, EnvironmentID: id, UsedBy: used})
	return a.catalogAnswer(c, res.Position, err)
}

// renameBody checks the optional body of a catalogue rename, whose id and
// new name are the path's. A client may send the object back, so fields
// other than the id and the name are ignored, and so is an absent or null
// id or name; one that differs from the path's is a 400 naming both values
// rather than being silently overruled. Malformed JSON is a 400 as for any
// body.
func renameBody(c *fiber.Ctx, idField string, id int64, nameField, name string) error {
	var body map[string]json.RawMessage
	if err := decodeBody(c, &body, decodeOptions{optional: true}); err != nil {
		return err
	}
	if raw, ok := body[idField]; ok && string(raw) != "null" {
		var got int64
		if err := decodeJSON(raw, &got, false); err != nil {
			return domain.Invalid(idField, "must be an integer id, got %s", raw)
		}
		if got != id {
			return domain.Invalid(idField,
				"the body says %d but the path says %d: the id is the path's", got, id)
		}
	}
	if raw, ok := body[nameField]; ok && string(raw) != "null" {
		var got string
		if err := decodeJSON(raw, &got, false); err != nil {
			return domain.Invalid(nameField, "must be a string, got %s", raw)
		}
		// Compared as they will be stored (domain.RequireText trims them),
		// so that the body may repeat the path's name with its padding.
		if strings.TrimSpace(got) != strings.TrimSpace(name) {
			bodyName, pathName := distinctQuotes(got, name)
			return domain.Invalid(nameField,
				"the body says %s but the path says %s: the new name is the last path segment",
				bodyName, pathName)
		}
	}
	return nil
}

// distinctQuotes quotes a and b, which differ, as Go quotes them, or with
// every character outside ASCII escaped when those forms could look the
// same: the two are one text in different Unicode normal forms (NFC "Café"
// against NFD "Cafe\u0301"), or one holds a character drawn as nothing.
// A message then shows how they differ.
func distinctQuotes(a, b string) (string, string) {
	visible := func(s string) bool { return domain.AllVisible(strings.ReplaceAll(s, " ", "")) }
	if norm.NFC.String(a) == norm.NFC.String(b) || !visible(a) || !visible(b) {
		return strconv.QuoteToASCII(a), strconv.QuoteToASCII(b)
	}
	return strconv.Quote(a), strconv.Quote(b)
}

// catalogAnswer finishes a catalogue change: the error, or the settled
// {"success": true}.
func (a *api) catalogAnswer(c *fiber.Ctx, pos eventstore.Position, err error) error {
	if err != nil {
		return err
	}
	if err := a.settle(c.UserContext(), pos, "catalog"); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}
