package readapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/projections"
)

// variableAPI serves variables. Variables of a department the caller is
// not a member of answer 404. Values of encrypted variables are shown
// and stored only as their ciphertext, and never logged.
type variableAPI struct {
	*api
	reader   *projections.VariableReader
	commands *commands.Variables
}

func (a *api) variableRoutes(r *routes) {
	reader := projections.NewVariableReader(a.Pool)
	h := &variableAPI{api: a, reader: reader,
		commands: commands.NewVariables(a.Log, a.IDs, reader, a.Passphrase)}
	r.get("/api/variables/", h.list)
	r.get("/api/variables/:environment_name/", h.list)
	r.post("/api/variables/", h.create)
	r.patch("/api/variables/:variable_id/", h.update)
	r.delete("/api/variables/:variable_id/", h.remove)
}

// list is GET /backend/api/variables/ (Cometa: every variable of the
// caller's departments) and the seed's GET
// /backend/api/variables/<environment_name>/ (those of one environment):
// a bare array.
//
// ?environment_id= narrows either list to the environment of that id,
// which must exist. With both, the id picks the environment (names are
// not unique) and the name must be that environment's.
func (h *variableAPI) list(c *fiber.Ctx) error {
	who := callerOf(c)
	var q struct {
		EnvironmentID *int64 `json:"environment_id"`
	}
	if err := decodeQuery(c, &q, false); err != nil {
		return err
	}
	name, err := pathEnvironment(c)
	if err != nil {
		return err
	}
	if q.EnvironmentID != nil && *q.EnvironmentID <= 0 {
		return domain.Invalid("environment_id", "must be a positive integer, got %d", *q.EnvironmentID)
	}

	ctx := c.UserContext()
	filter := projections.VariableFilter{Departments: who.Departments, All: who.SeesAllDepartments()}
	switch {
	case q.EnvironmentID != nil:
		id := *q.EnvironmentID
		known, found, err := h.reader.EnvironmentName(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return domain.NotFound("environment", id)
		}
		if name != "" && name != known {
			return domain.Invalid("environment_name", "%q is not the name of environment_id %d (that is %q)",
				name, id, known)
		}
		filter.EnvironmentID = id
	case name != "":
		if err := h.unambiguous(ctx, name); err != nil {
			return err
		}
		filter.EnvironmentName = name
	}
	list, err := h.reader.List(ctx, filter)
	if err != nil {
		return err
	}
	if list == nil {
		list = []projections.VariableView{}
	}
	return c.JSON(list)
}

// pathEnvironment returns the environment name of the list's path,
// percent-decoded and trimmed, or "" when the path has none. A name no
// environment could have (nothing visible in it, too long, a control
// character) is refused by the rule environment names are made with.
func pathEnvironment(c *fiber.Ctx) (string, error) {
	raw := c.Params("environment_name")
	if raw == "" {
		return "", nil
	}
	env, err := url.PathUnescape(strings.Clone(raw))
	if err != nil {
		return "", domain.Invalid("environment_name", "%v", err)
	}
	return domain.RequireText("environment_name", env, catalog.MaxNameLength)
}

// unambiguous refuses an environment name of the list's path that no
// environment has (a 404), or that several have: their variables mixed in
// one array could not be told apart, since each shows only its
// environment's name. The path is shared with the writes of a variable by
// id, so the 404 says that a GET there names an environment.
func (h *variableAPI) unambiguous(ctx context.Context, env string) error {
	ids, err := h.reader.EnvironmentsByName(ctx, env)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("environment %q: %w (GET /variables/<name>/ takes an environment name, "+
			"not a variable id; variables are read in the list, GET /variables/)", env, domain.ErrNotFound)
	}
	if len(ids) > 1 {
		return domain.Invalid("environment_name",
			"%q is the name of more than one environment: add ?environment_id= to pick one", env)
	}
	return nil
}

// variableBody is either the seed's batch, {environment_name (or
// environment_id), department_id?, variables: [{variable_name,
// variable_value}]}, or
// Cometa's single variable, {department, environment, feature,
// variable_name, variable_value, encrypted, based}. PATCH takes the single
// form's keys, each optional.
type variableBody struct {
	EnvironmentName *string         `json:"environment_name"`
	EnvironmentID   *int64          `json:"environment_id"`
	DepartmentID    *int64          `json:"department_id"`
	Variables       *[]variableItem `json:"variables"`

	Department  *int64 `json:"department"`
	Environment *int64 `json:"environment"`
	// Feature is a feature id, or null for none (absent: unchanged).
	Feature       json.RawMessage `json:"feature"`
	VariableName  *string         `json:"variable_name"`
	VariableValue *string         `json:"variable_value"`
	Encrypted     *bool           `json:"encrypted"`
	Based         *string         `json:"based"`
}

// variableItem is one variable of the seed's batch.
type variableItem struct {
	VariableName  *string `json:"variable_name"`
	VariableValue *string `json:"variable_value"`
	Encrypted     bool    `json:"encrypted"`
}

// create is POST /backend/api/variables/: the seed's batch sets every
// variable of the list in the environment (creating or replacing it) and
// answers {"success": true, "data": [...]}; Cometa's single body creates
// one variable and answers {"success": true, "data": {...}}. Both are 201
// when something was created.
func (h *variableAPI) create(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.CreateVariable)); err != nil {
		return err
	}
	var body variableBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.Variables != nil || body.EnvironmentName != nil {
		return h.batch(c, who, body)
	}

	in, err := body.single(who)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	id, res, err := h.commands.Create(ctx, h.meta(c), who.Actor, in)
	if err != nil {
		return err
	}
	v, err := h.settled(ctx, who, res, id)
	if err != nil {
		return err
	}
	return created(c, fiber.Map{"success": true, "data": v})
}

// single reads Cometa's single-variable body; each missing key is named.
func (b variableBody) single(who Caller) (commands.VariableInput, error) {
	var errs []error
	require := func(ok bool, key string) {
		if !ok {
			errs = append(errs, domain.Invalid(key, "%s is required.", key))
		}
	}
	dep := b.Department
	if dep == nil {
		dep = b.DepartmentID
	}
	if dep == nil && len(who.Departments) == 1 {
		dep = &who.Departments[0]
	}
	require(dep != nil, "department")
	require(b.Environment != nil, "environment")
	require(b.VariableName != nil, "variable_name")
	require(b.VariableValue != nil, "variable_value")
	errs = append(errs, b.checkTexts()...)
	if err := errors.Join(errs...); err != nil {
		return commands.VariableInput{}, err
	}
	in := commands.VariableInput{DepartmentID: *dep, EnvironmentID: *b.Environment,
		Name: *b.VariableName, Value: *b.VariableValue}
	err := b.applyTo(&in)
	return in, err
}

// checkTexts refuses the single form's texts that PostgreSQL cannot take
// (a NUL, bytes that are not UTF-8), naming the field. It runs before any
// query: the commands look the name up before they validate it, and the
// database's refusal names no field.
func (b variableBody) checkTexts() []error {
	var errs []error
	for _, t := range []struct {
		field string
		text  *string
	}{{"variable_name", b.VariableName}, {"variable_value", b.VariableValue}, {"based", b.Based}} {
		if t.text == nil {
			continue
		}
		if err := domain.CheckFreeText(t.field, *t.text); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// applyTo copies the single form's optional keys onto in.
func (b variableBody) applyTo(in *commands.VariableInput) error {
	if b.Department != nil {
		in.DepartmentID = *b.Department
	}
	if b.Environment != nil {
		in.EnvironmentID = *b.Environment
	}
	switch raw := bytes.TrimSpace(b.Feature); {
	case len(raw) == 0:
	case bytes.Equal(raw, []byte("null")):
		in.FeatureID = 0
	default:
		if err := json.Unmarshal(raw, &in.FeatureID); err != nil {
			return domain.Invalid("feature", "must be a feature id or null")
		}
	}
	if b.VariableName != nil {
		in.Name = *b.VariableName
	}
	if b.VariableValue != nil {
		in.Value = *b.VariableValue
	}
	if b.Encrypted != nil {
		in.Encrypted = *b.Encrypted
	}
	if b.Based != nil {
		in.Based = *b.Based
	}
	return nil
}

// batch carries out the seed's body. Every item is checked before the
// first is set.
//
// TODO(variables): the items are set one after the other, each in its own
// stream; a failure half-way (a lost race, a store fault) leaves the
// earlier ones set.
func (h *variableAPI) batch(c *fiber.Ctx, who Caller, body variableBody) error {
	ctx := c.UserContext()
	var errs []error
	switch {
	case body.EnvironmentID != nil && body.EnvironmentName != nil:
		errs = append(errs, domain.Invalid("environment_id", "give environment_id or environment_name, not both"))
	case body.EnvironmentID != nil:
		if *body.EnvironmentID <= 0 {
			errs = append(errs, domain.Invalid("environment_id", "must be a positive id, got %d", *body.EnvironmentID))
		}
	case body.EnvironmentName == nil || strings.TrimSpace(*body.EnvironmentName) == "":
		errs = append(errs, domain.Invalid("environment_name", "is required (or environment_id)"))
	default:
		// The name is looked up before the commands check anything.
		if err := domain.CheckFreeText("environment_name", *body.EnvironmentName); err != nil {
			errs = append(errs, err)
		}
	}
	if body.Variables == nil {
		errs = append(errs, domain.Invalid("variables", "is required: a list of {variable_name, variable_value}"))
	}
	dep := body.DepartmentID
	if dep == nil {
		dep = body.Department
	}
	if dep == nil {
		if len(who.Departments) != 1 {
			errs = append(errs, domain.Invalid("department_id",
				"is required: the caller is a member of %d departments, so none is implied", len(who.Departments)))
		} else {
			dep = &who.Departments[0]
		}
	}
	seen := map[string]bool{}
	if body.Variables != nil {
		for i, item := range *body.Variables {
			field := fmt.Sprintf("variables[%d]", i)
			switch {
			case item.VariableName == nil || strings.TrimSpace(*item.VariableName) == "":
				errs = append(errs, domain.Invalid(field+".variable_name", "is required"))
			case domain.CheckFreeText(field+".variable_name", *item.VariableName) != nil:
				errs = append(errs, domain.CheckFreeText(field+".variable_name", *item.VariableName))
			case seen[strings.TrimSpace(*item.VariableName)]:
				errs = append(errs, domain.Invalid(field+".variable_name", "%q is in the list twice", *item.VariableName))
			default:
				seen[strings.TrimSpace(*item.VariableName)] = true
			}
			if item.VariableValue == nil {
				errs = append(errs, domain.Invalid(field+".variable_value", "is required"))
			} else if err := domain.CheckFreeText(field+".variable_value", *item.VariableValue); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The department first: an outsider's 403, and a deleted department's
	// 400, must not depend on which environment names exist.
	if err := h.commands.CheckDepartment(ctx, who.Actor, *dep); err != nil {
		return err
	}
	env, err := h.environment(ctx, body)
	if err != nil {
		return err
	}

	var (
		last   eventstore.AppendResult
		ids    []int64
		anyNew bool
	)
	for _, item := range *body.Variables {
		in := commands.VariableInput{DepartmentID: *dep, EnvironmentID: env, Name: *item.VariableName,
			Encrypted: item.Encrypted, Value: *item.VariableValue}
		id, res, isNew, err := h.commands.Put(ctx, h.meta(c), who.Actor, in)
		if err != nil {
			return err
		}
		anyNew = anyNew || isNew
		ids = append(ids, id)
		if last.Position.Less(res.Position) {
			last = res
		}
	}
	if err := h.settle(ctx, last.Position, "variables"); err != nil {
		return err
	}
	data := []projections.VariableView{}
	for _, id := range ids {
		v, err := h.visible(ctx, who, id)
		if err != nil {
			return err
		}
		data = append(data, v)
	}
	status := fiber.StatusOK
	if anyNew {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"success": true, "data": data})
}

// environment returns the id of the batch's environment, given by id or
// by name. The read model's copy of the catalogue may lag a change just
// made (creating an environment waits for the catalogue only), so an id
// that misses waits for it once; a name waits for it first, since a name
// an environment just created shares would otherwise resolve, silently,
// to the older one.
func (h *variableAPI) environment(ctx context.Context, body variableBody) (int64, error) {
	if body.EnvironmentID == nil {
		if err := h.catchUp(ctx, "variables"); err != nil {
			return 0, err
		}
		return h.findEnvironment(ctx, body)
	}
	id, err := h.findEnvironment(ctx, body)
	if !errors.Is(err, domain.ErrInvalid) {
		return id, err
	}
	if err := h.catchUp(ctx, "variables"); err != nil {
		return 0, err
	}
	return h.findEnvironment(ctx, body)
}

// findEnvironment is one try of environment. Environment names are not
// unique: a name that several environments have is refused rather than
// one of them picked.
func (h *variableAPI) findEnvironment(ctx context.Context, body variableBody) (int64, error) {
	if body.EnvironmentID != nil {
		id := *body.EnvironmentID
		_, ok, _, err := h.reader.ScopeKnown(ctx, 0, id, 0)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, domain.Invalid("environment_id", "no environment %d", id)
		}
		return id, nil
	}
	name := strings.TrimSpace(*body.EnvironmentName)
	ids, err := h.reader.EnvironmentsByName(ctx, name)
	switch {
	case err != nil:
		return 0, err
	case len(ids) == 0:
		return 0, domain.Invalid("environment_name", "no environment named %q", name)
	case len(ids) > 1:
		return 0, domain.Invalid("environment_name",
			"%q is the name of more than one environment: give environment_id instead", name)
	}
	return ids[0], nil
}

// update is PATCH /backend/api/variables/<id>/: the keys of the single
// form that the body has replace the variable's.
func (h *variableAPI) update(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "variable_id")
	if err != nil {
		return err
	}
	var body variableBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if err := errors.Join(body.checkTexts()...); err != nil {
		return err
	}
	ctx := c.UserContext()
	res, _, err := h.commands.Update(ctx, h.meta(c), who.Actor, id,
		func(in commands.VariableInput) (commands.VariableInput, error) {
			wasEncrypted := in.Encrypted
			if err := body.applyTo(&in); err != nil {
				return in, err
			}
			if body.VariableValue == nil && wasEncrypted && !in.Encrypted {
				return in, domain.Invalid("variable_value", "is required to turn encryption off")
			}
			return in, nil
		})
	if err != nil {
		return err
	}
	v, err := h.settled(ctx, who, res, id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "data": v})
}

// remove is DELETE /backend/api/variables/<id>/: {"success": true}.
func (h *variableAPI) remove(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "variable_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	res, err := h.commands.Delete(ctx, h.meta(c), who.Actor, id)
	if err != nil {
		return err
	}
	if err := h.settle(ctx, res.Position, "variables"); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}

// settled waits for the write and returns variable id as the read model
// has it then.
//
// TODO(variables): a concurrent update landing between the settle and the
// read makes the answer show that update's value, not this one's; unlike
// features, variables keep no versions to read this write's state from.
func (h *variableAPI) settled(ctx context.Context, who Caller, res eventstore.AppendResult, id int64) (
	projections.VariableView, error) {
	if err := h.settle(ctx, res.Position, "variables"); err != nil {
		return projections.VariableView{}, err
	}
	return h.visible(ctx, who, id)
}

func (h *variableAPI) visible(ctx context.Context, who Caller, id int64) (projections.VariableView, error) {
	v, ok, err := h.reader.Get(ctx, id)
	if err != nil {
		return v, err
	}
	if !ok || !who.InDepartment(v.Department) {
		return v, domain.NotFound("variable", id)
	}
	return v, nil
}
