package readapi

import (
	"github.com/gofiber/fiber/v2"
)

func (a *api) actionRoutes(r *routes) {
	r.get("/api/actions/", a.listActions)
	r.get("/parseActions/", a.parseActions)
}

// actionJSON is a step of the catalogue as Cometa's Action serializer
// writes it.
type actionJSON struct {
	ActionID    int     `json:"action_id"`
	ActionName  string  `json:"action_name"`
	Values      int     `json:"values"`
	Description string  `json:"description"`
	Department  *string `json:"department"`
	Application *string `json:"application"`
	DateCreated string  `json:"date_created"`
	StepType    string  `json:"step_type"`
}

// actions lists the runner's step catalogue. It comes from code, not from
// events: ids are the catalogue order and date_created the time the API
// started. Every action is global (no department, no application) and of
// type BROWSER, so Cometa's department and app filters change nothing.
func (a *api) actions() []actionJSON {
	list := a.Steps.Actions()
	out := make([]actionJSON, 0, len(list))
	for i, act := range list {
		out = append(out, actionJSON{
			ActionID: i + 1, ActionName: act.Name, Values: act.Values, Description: act.Description,
			DateCreated: a.started.Format(accountDate), StepType: string(act.StepType),
		})
	}
	return out
}

// listActions is GET /backend/api/actions/.
func (a *api) listActions(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"results": a.actions()})
}

// parseActions is GET /backend/parseActions/. Cometa re-reads the
// runner's step files into its Action table; here the catalogue is the
// runner's own code, always current, so this only reports it.
func (a *api) parseActions(c *fiber.Ctx) error {
	list := a.actions()
	names := make([]string, len(list))
	for i, act := range list {
		names[i] = act.ActionName
	}
	return c.JSON(fiber.Map{"success": true, "count": len(list), "actions": names})
}
