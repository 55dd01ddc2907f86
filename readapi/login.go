package readapi

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/internal/cryptojs"
)

// roleJSON is a role as Cometa serializes its Permissions row: id, name,
// power and every flag as a boolean. Roles are Cometa's five defaults, so
// the id is the role's place in role.Defaults.
func roleJSON(r role.Role) fiber.Map {
	out := fiber.Map{"permission_name": r.Name, "permission_power": r.Power}
	for i, d := range role.Defaults() {
		if d.Name == r.Name {
			out["permission_id"] = i + 1
		}
	}
	for _, f := range role.Flags() {
		out[string(f)] = r.Has(f)
	}
	return out
}

// loginPayload is GET /backend/addoidcaccount/: the caller's account as
// Cometa's UI loads it after login (spec §5.2).
func (a *api) loginPayload(c *fiber.Ctx) error {
	who := callerOf(c)
	ctx := c.UserContext()
	acc, err := a.findAccount(ctx, who.AccountID)
	if err != nil {
		return err
	}
	var settings, favourites []byte
	if err := a.Pool.QueryRow(ctx, `SELECT settings::text, favourite_browsers::text
		FROM rm_accounts.accounts WHERE account_id = $1`, who.AccountID).Scan(&settings, &favourites); err != nil {
		return fmt.Errorf("read account %d: %w", who.AccountID, err)
	}
	departments, err := a.queryDepartments(ctx, false, acc.Departments)
	if err != nil {
		return err
	}
	assignable := []string{}
	for _, r := range role.Assignable(who.Role) {
		assignable = append(assignable, r.Name)
	}
	return c.JSON(fiber.Map{
		"user_id": acc.UserID, "name": acc.Name, "email": acc.Email,
		"user_permissions": roleJSON(who.Role), "created_on": acc.CreatedOn,
		"last_login": acc.LastLogin, "login_counter": acc.LoginCounter,
		"favourite_browsers": rawJSON(favourites), "settings": rawJSON(settings),
		"stripe_customer_id": acc.StripeCustomerID, "permissions": assignable,
		"clouds":      []fiber.Map{{"id": 1, "name": "local", "active": true}},
		"departments": departments, "step_keywords": []string{"Given", "When", "Then", "and"},
		"encryption_prefix": cryptojs.Prefix, "integration_apps": []string{"Discord", "Mattermost"},
		"subscriptions": []any{}, "requires_payment": false, "feedback_mail": "",
	})
}
