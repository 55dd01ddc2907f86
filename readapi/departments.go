package readapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/department"
)

// isoMicro is DRF's default datetime format, used for departments and
// the catalogue.
const isoMicro = "2006-01-02T15:04:05.000000Z"

func (a *api) departmentRoutes(r *routes) {
	r.get("/api/departments/", a.listDepartments)
	r.post("/api/departments/", a.createDepartment)
	r.patch("/api/departments/:department_id/", a.updateDepartment)
	r.delete("/api/departments/:department_id/", a.deleteDepartment)
	r.get("/user/departments/", a.ownDepartments)
}

// departmentJSON is a department as Cometa serializes it.
type departmentJSON struct {
	DepartmentID   int64           `json:"department_id"`
	Files          []any           `json:"files"`
	DepartmentName string          `json:"department_name"`
	Slug           string          `json:"slug"`
	Settings       json.RawMessage `json:"settings"`
	CreatedOn      string          `json:"created_on"`
}

// queryDepartments reads all departments, or those with the given ids, in
// id order.
func (a *api) queryDepartments(ctx context.Context, all bool, ids []int64) ([]departmentJSON, error) {
	rows, err := a.Pool.Query(ctx, `SELECT department_id, department_name, slug, settings::text, created_on
		FROM rm_departments.departments WHERE $1 OR department_id = ANY($2) ORDER BY department_id`,
		all, nonNil(ids))
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	out := []departmentJSON{}
	var (
		d        departmentJSON
		settings []byte
		created  time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&d.DepartmentID, &d.DepartmentName, &d.Slug, &settings, &created}, func() error {
		d.Files = []any{}
		d.Settings = rawJSON(settings)
		d.CreatedOn = created.UTC().Format(isoMicro)
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	return out, nil
}

// listDepartments is GET /backend/api/departments/: every department for
// SUPERUSER (and show_all_departments), else the caller's.
//
// TODO(departments): Cometa adds each department's users for callers with
// show_department_users; no default role has the flag, so it is left out.
func (a *api) listDepartments(c *fiber.Ctx) error {
	who := callerOf(c)
	list, err := a.queryDepartments(c.UserContext(), who.SeesAllDepartments(), who.Departments)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": list})
}

// ownDepartments is the old GET /backend/user/departments/: the caller's
// own departments, whatever the role, as a DRF page.
func (a *api) ownDepartments(c *fiber.Ctx) error {
	list, err := a.queryDepartments(c.UserContext(), false, callerOf(c).Departments)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"count": len(list), "next": nil, "previous": nil, "results": list})
}

// departmentBody is the body of creating or changing a department.
type departmentBody struct {
	DepartmentName *string         `json:"department_name"`
	Settings       json.RawMessage `json:"settings"`
}

// createDepartment opens a department with the caller as a member and
// answers 201 with it.
func (a *api) createDepartment(c *fiber.Ctx) error {
	who := callerOf(c)
	var body departmentBody
	if err := decodeBody(c, &body, decodeOptions{strict: true}); err != nil {
		return err
	}
	if body.DepartmentName == nil {
		return domain.Invalid("department_name", "is required")
	}
	ctx := c.UserContext()
	if err := a.departmentNameFree(ctx, *body.DepartmentName, 0); err != nil {
		return err
	}
	id, res, err := commands.CreateDepartment(ctx, a.Log, a.IDs, a.meta(c),
		department.Create{Actor: who.Actor, Name: *body.DepartmentName})
	if err != nil {
		return err
	}
	if err := a.settle(ctx, res.Position, "departments", "accounts"); err != nil {
		return err
	}
	list, err := a.queryDepartments(ctx, false, []int64{id})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return domain.NotFound("department", id)
	}
	d := list[0]
	return created(c, fiber.Map{"success": true, "department_id": d.DepartmentID,
		"department_name": d.DepartmentName, "slug": d.Slug, "settings": d.Settings,
		"files": d.Files, "created_on": d.CreatedOn})
}

// departmentNameFree returns a 400 naming department_name when another
// department than except has the name as domain.NameKey compares names
// (case-insensitively, without the characters drawn as nothing). It answers
// early from the read model and covers names taken before claims existed;
// the command's claim on the name (commands.DepartmentName) is what keeps
// concurrent requests from both taking it.
func (a *api) departmentNameFree(ctx context.Context, name string, except int64) error {
	if _, err := domain.RequireText("department_name", name, department.MaxNameLength); err != nil {
		return err
	}
	var taken bool
	err := a.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_departments.departments
		WHERE name_key = $1 AND department_id <> $2)`, domain.NameKey(name), except).Scan(&taken)
	if err != nil {
		return fmt.Errorf("look up department name: %w", err)
	}
	if taken {
		return domain.Invalid("department_name", "a department with this name already exists")
	}
	return nil
}

// updateDepartment renames a department or replaces its settings.
func (a *api) updateDepartment(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "department_id")
	if err != nil {
		return err
	}
	var body departmentBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	if body.DepartmentName == nil && body.Settings == nil {
		return domain.Invalid("department_name", "send department_name or settings")
	}
	if body.Settings != nil {
		// Checked before anything is written, so that a bad settings
		// object does not leave the rename half of the request done.
		if _, err := domain.RequireObject("settings", body.Settings); err != nil {
			return err
		}
	}
	ctx := c.UserContext()
	var cmds []department.Command
	if body.DepartmentName != nil {
		if err := a.departmentNameFree(ctx, *body.DepartmentName, id); err != nil {
			return err
		}
		cmds = append(cmds, department.Rename{Actor: who.Actor, DepartmentID: id, Name: *body.DepartmentName})
	}
	if body.Settings != nil {
		cmds = append(cmds, department.ChangeSettings{Actor: who.Actor, DepartmentID: id, Settings: body.Settings})
	}
	for _, cmd := range cmds {
		res, _, err := commands.ChangeDepartment(ctx, a.Log, a.meta(c), id, cmd)
		if err != nil {
			return err
		}
		if err := a.settle(ctx, res.Position, "departments"); err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"success": true})
}

// goneDepartmentModels are the read models that hide a deleted
// department's contents (features, folders, variables, runs, schedules,
// history) besides the departments and memberships themselves.
var goneDepartmentModels = []string{"departments", "accounts", "features", "folders", "variables",
	"runs", "schedules", historyModel}

// deleteDepartment removes a department; its memberships go with it. The
// answer waits for every model that hides the department's contents, so
// that a read which follows it no longer finds them (the writes refuse
// them from the department's stream already).
func (a *api) deleteDepartment(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "department_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	res, _, err := commands.ChangeDepartment(ctx, a.Log, a.meta(c), id,
		department.Delete{Actor: who.Actor, DepartmentID: id})
	if err != nil {
		return err
	}
	if err := a.settle(ctx, res.Position, goneDepartmentModels...); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}

// rawJSON returns stored JSON text as a raw message, null when empty.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}
