package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/role"
)

// accountDate is the format of an account's dates in Cometa's serializer.
const accountDate = "2006-01-02T15:04:05Z"

func (a *api) accountRoutes(r *routes) {
	r.get("/api/accounts/", a.listAccounts)
	r.post("/api/accounts/", a.createAccount)
	r.patch("/api/accounts/:user_id/", a.updateAccount)
	r.delete("/api/accounts/:user_id/", a.deleteAccount)
	r.post("/api/accounts/:user_id/tokens/", a.issueToken)
	r.delete("/api/accounts/:user_id/tokens/", a.revokeTokens)
	r.get("/api/account_roles/", a.listAccountRoles)
	r.get("/addoidcaccount/", a.loginPayload)
}

// accountJSON is an account as GET /backend/api/accounts/ lists it.
type accountJSON struct {
	UserID           int64   `json:"user_id"`
	Departments      []int64 `json:"departments"`
	PermissionName   string  `json:"permission_name"`
	CreatedOn        string  `json:"created_on"`
	LastLogin        string  `json:"last_login"`
	Name             string  `json:"name"`
	Email            string  `json:"email"`
	LoginCounter     int     `json:"login_counter"`
	StripeCustomerID string  `json:"stripe_customer_id"`
}

// accountColumns selects what scanAccount reads, from rm_accounts.accounts
// as "a".
const accountColumns = `a.account_id, a.name, a.email, a.role, a.created_on,
	coalesce((SELECT array_agg(m.department_id ORDER BY m.department_id)
		FROM rm_accounts.memberships m WHERE m.account_id = a.account_id), '{}')`

func scanAccount(row pgx.Row) (accountJSON, error) {
	var (
		out     accountJSON
		created time.Time
	)
	err := row.Scan(&out.UserID, &out.Name, &out.Email, &out.PermissionName, &created, &out.Departments)
	// Tokens replace Cometa's login sessions, so there is no last login:
	// it reads as the creation time and the counter stays 0.
	out.CreatedOn = created.UTC().Format(accountDate)
	out.LastLogin = out.CreatedOn
	return out, err
}

// findAccount reads one account; an unknown id is domain.ErrNotFound.
func (a *api) findAccount(ctx context.Context, id int64) (accountJSON, error) {
	acc, err := scanAccount(a.Pool.QueryRow(ctx,
		"SELECT "+accountColumns+" FROM rm_accounts.accounts a WHERE a.account_id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return acc, domain.NotFound("account", id)
	}
	if err != nil {
		return acc, fmt.Errorf("read account %d: %w", id, err)
	}
	return acc, nil
}

// listAccounts is GET /backend/api/accounts/: a page of the accounts the
// caller may see (all for SUPERUSER, else those sharing a department with
// the caller), newest first, filtered by ?search= in name, email or role.
func (a *api) listAccounts(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewAccounts) + "||" + string(role.ViewAccountsPanel)); err != nil {
		return err
	}
	p, err := readPage(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	const where = ` FROM rm_accounts.accounts a
		WHERE ($1 OR a.account_id = $2 OR EXISTS (SELECT 1 FROM rm_accounts.memberships m
				WHERE m.account_id = a.account_id AND m.department_id = ANY($3)))
			AND ($4 = '' OR strpos(lower(a.name), lower($4)) > 0
				OR strpos(lower(a.email), lower($4)) > 0 OR strpos(lower(a.role), lower($4)) > 0)`
	args := []any{who.SeesAllDepartments(), who.AccountID, nonNil(who.Departments), c.Query("search")}
	var count int
	if err := a.Pool.QueryRow(ctx, "SELECT count(*)"+where, args...).Scan(&count); err != nil {
		return fmt.Errorf("count accounts: %w", err)
	}
	rows, err := a.Pool.Query(ctx, "SELECT "+accountColumns+where+
		" ORDER BY a.created_on DESC, a.account_id DESC LIMIT $5 OFFSET $6",
		append(args, p.size, p.offset())...)
	if err != nil {
		return fmt.Errorf("list accounts: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (accountJSON, error) { return scanAccount(r) })
	if err != nil {
		return fmt.Errorf("list accounts: %w", err)
	}
	return c.JSON(pageBody(c, p, count, list))
}

// createAccountBody is POST /backend/api/accounts/.
type createAccountBody struct {
	Name           string  `json:"name"`
	Email          string  `json:"email"`
	PermissionName string  `json:"permission_name"`
	Departments    []int64 `json:"departments"`
}

// createAccount opens an account and answers 201 with it and its first
// API token, which is shown this once.
func (a *api) createAccount(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.CreateAccount)); err != nil {
		return err
	}
	var body createAccountBody
	if err := decodeBody(c, &body, decodeOptions{strict: true}); err != nil {
		return err
	}
	ctx := c.UserContext()
	known, err := a.departmentIDs(ctx)
	if err != nil {
		return err
	}
	if err := a.emailFree(ctx, body.Email, 0); err != nil {
		return err
	}
	secret, token := commands.NewToken()
	id, res, err := commands.CreateAccount(ctx, a.IDs, a.meta(c), account.Create{
		Actor: who.Actor, Name: body.Name, Email: body.Email, Role: body.PermissionName,
		Departments: body.Departments, Known: known, Token: &token,
	})
	if err != nil {
		return err
	}
	if err := a.settle(ctx, res.Position, "accounts"); err != nil {
		return err
	}
	acc, err := a.findAccount(ctx, id)
	if err != nil {
		return err
	}
	return created(c, fiber.Map{
		"success": true, "user_id": acc.UserID, "name": acc.Name, "email": acc.Email,
		"permission_name": acc.PermissionName, "departments": acc.Departments,
		"created_on": acc.CreatedOn, "last_login": acc.LastLogin, "login_counter": acc.LoginCounter,
		"stripe_customer_id": acc.StripeCustomerID, "token_id": token.ID, "token": secret,
	})
}

// emailFree returns a 400 naming email when another account than except
// has it (case-insensitively, as Cometa matches e-mail addresses; see
// domain.NameKey). An address the account's checks refuse is left to them,
// and so is commands.BootstrapEmail, which they refuse as reserved. It
// answers early from the read model and covers addresses taken before
// claims existed; the command's claim (commands.AccountEmail) is what
// decides between concurrent requests.
func (a *api) emailFree(ctx context.Context, email string, except int64) error {
	if domain.CheckFreeText("email", email) != nil || !domain.AllVisible(strings.TrimSpace(email)) {
		return nil // the account's own checks refuse it, with the other fields
	}
	if domain.NameKey(email) == domain.NameKey(commands.BootstrapEmail) {
		// Reserved, and held by the bootstrap administrator: the command
		// refuses it as such (or takes it back for that account itself).
		return nil
	}
	var taken bool
	err := a.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_accounts.accounts
		WHERE email_key = $1 AND account_id <> $2)`, domain.NameKey(email), except).Scan(&taken)
	if err != nil {
		return fmt.Errorf("look up e-mail: %w", err)
	}
	if taken {
		return domain.Invalid("email", "an account with this e-mail address already exists")
	}
	return nil
}

// departmentIDs lists the departments that exist.
func (a *api) departmentIDs(ctx context.Context) ([]int64, error) {
	rows, err := a.Pool.Query(ctx, "SELECT department_id FROM rm_departments.departments ORDER BY 1")
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	return ids, nil
}

// updateAccountBody is PATCH /backend/api/accounts/<user_id>/. The seed
// calls the role user_role, Cometa permission_name; both are read.
// favourite_browsers is, in Cometa, a JSON-encoded string; an array is
// taken as well.
//
// The PATCH is not partial for name and email: Cometa's spec (§5.3) says
// the body must contain both, so an absent (or null) one is a 400 "is
// required", told apart from one sent empty ("must not be empty"). The
// other fields keep their values when absent.
type updateAccountBody struct {
	Name              *string         `json:"name"`
	Email             *string         `json:"email"`
	PermissionName    string          `json:"permission_name"`
	UserRole          string          `json:"user_role"`
	Departments       *[]int64        `json:"departments"`
	Settings          json.RawMessage `json:"settings"`
	FavouriteBrowsers json.RawMessage `json:"favourite_browsers"`
}

// updateAccount changes an account's name, e-mail, role, memberships,
// settings or favourite browsers.
func (a *api) updateAccount(c *fiber.Ctx) error {
	who := callerOf(c)
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	var body updateAccountBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	ctx := c.UserContext()
	cmd := account.Update{Actor: who.Actor, AccountID: id, Role: body.PermissionName,
		Settings: body.Settings}
	if cmd.Role == "" {
		cmd.Role = body.UserRole
	}
	if err := checkUpdateBody(body, cmd.Role); err != nil {
		return err // before keepSuperuser, which would answer 409
	}
	cmd.Name, cmd.Email = *body.Name, *body.Email
	if cmd.FavouriteBrowsers, err = favouriteBrowsers(body.FavouriteBrowsers); err != nil {
		return err
	}
	// Cometa's UI always sends one's own memberships back, so sending them
	// unchanged is fine without edit_account; changing them is refused
	// (Cometa ignored them silently, and the caller believed it done).
	if body.Departments != nil && id == who.AccountID && !who.Role.Has(role.EditAccount) {
		if !sameSet(*body.Departments, who.Departments) {
			return domain.Forbidden("departments: changing the departments of one's own account needs %s",
				role.EditAccount)
		}
		body.Departments = nil
	}
	if body.Departments != nil {
		cmd.Departments = nonNil(*body.Departments)
		if cmd.Known, err = a.departmentIDs(ctx); err != nil {
			return err
		}
	}
	if err := a.emailFree(ctx, cmd.Email, id); err != nil {
		return err
	}
	if cmd.Role != "" && cmd.Role != role.Superuser {
		if err := commands.TryAccount(ctx, a.Log, a.meta(c), id, cmd); err != nil {
			return err
		}
		if err := a.keepSuperuser(ctx, who, id, lockout{doing: "demoting"}); err != nil {
			return err
		}
	}
	res, _, err := commands.ChangeAccount(ctx, a.Log, a.meta(c), id, cmd)
	if err != nil {
		return err
	}
	if err := a.settle(ctx, res.Position, "accounts"); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true})
}

// checkUpdateBody reports, together, the required fields the body lacks
// and an unknown role name (roleName, from permission_name or user_role).
func checkUpdateBody(body updateAccountBody, roleName string) error {
	var problems []error
	if body.Name == nil {
		problems = append(problems, domain.Invalid("name", "is required"))
	}
	if body.Email == nil {
		problems = append(problems, domain.Invalid("email", "is required"))
	}
	if roleName != "" {
		if _, err := role.Lookup(roleName); err != nil {
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}

// sameSet reports whether a and b hold the same ids, in any order and
// however often.
func sameSet(a, b []int64) bool {
	in := func(xs []int64) map[int64]bool {
		m := make(map[int64]bool, len(xs))
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	if len(ma) != len(mb) {
		return false
	}
	for x := range ma {
		if !mb[x] {
			return false
		}
	}
	return true
}

// favouriteBrowsers accepts Cometa's JSON-encoded string or a plain array.
func favouriteBrowsers(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var encoded string
	if json.Unmarshal(raw, &encoded) == nil {
		if encoded == "" {
			return nil, nil
		}
		return json.RawMessage(encoded), nil
	}
	return raw, nil
}

// lockout describes, for keepSuperuser, what a change takes from an
// account. doing names the change in the refusal ("deleting"). revoking is
// nil for a change that leaves the account unable to administer whatever
// tokens it holds (deleting, demoting, revoking every token); otherwise it
// lists the only tokens the change revokes, and the account still counts
// as long as another of its tokens stays live.
type lockout struct {
	doing    string
	revoking []string
}

// keepSuperuser refuses with a 409 a change (lock describes it) that would
// leave Cometa without an administrator: deleting, demoting or revoking
// tokens of account id while it is a SUPERUSER, keeps no live token of its
// own through the change, and no other live account with role SUPERUSER
// holds a live token. A SUPERUSER without a token cannot act, so it does
// not count. Only a caller of SUPERUSER power can reach a SUPERUSER's
// account at all, so for anyone else the command's own 403 stands. Callers
// run the command's checks first (commands.TryAccount), so that a request
// refused anyway gets that answer (an unknown token id its 404).
//
// TODO(accounts): the check reads the accounts read model, not the log,
// so two SUPERUSERs demoting (or deleting) each other at once can both
// pass it and leave none. The bootstrap token then lets an operator in
// again at the next start (commands.RecoverAccess).
func (a *api) keepSuperuser(ctx context.Context, who Caller, id int64, lock lockout) error {
	if who.Role.Name != role.Superuser {
		return nil
	}
	var (
		current string
		others  int
		keeps   bool
	)
	// $3 is NULL when lock.revoking is nil (pgx sends a nil slice so): the
	// account then keeps nothing.
	err := a.Pool.QueryRow(ctx, `SELECT a.role, (SELECT count(*) FROM rm_accounts.accounts o
			WHERE o.role = $2 AND o.account_id <> a.account_id
				AND EXISTS (SELECT 1 FROM rm_accounts.tokens t WHERE t.account_id = o.account_id)),
		$3::text[] IS NOT NULL AND EXISTS (SELECT 1 FROM rm_accounts.tokens t
			WHERE t.account_id = a.account_id AND t.token_id <> ALL($3::text[]))
		FROM rm_accounts.accounts a WHERE a.account_id = $1`, id, role.Superuser, lock.revoking).
		Scan(&current, &others, &keeps)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // the command reports the unknown account
	}
	if err != nil {
		return fmt.Errorf("count superusers: %w", err)
	}
	if current != role.Superuser || others > 0 || keeps {
		return nil
	}
	return domain.Conflict("account %d is the last %s with a token: %s it would leave no one to "+
		"administer Cometa; make another account %s, with a token, first",
		id, role.Superuser, lock.doing, role.Superuser)
}

// deleteAccount closes an account; its tokens stop working.
func (a *api) deleteAccount(c *fiber.Ctx) error {
	return a.changeAccount(c, func(who Caller, id int64) account.Command {
		return account.Delete{Actor: who.Actor, AccountID: id}
	}, &lockout{doing: "deleting"}, nil)
}

// issueTokenBody is POST /backend/api/accounts/<user_id>/tokens/. A token
// has no options yet, so the body is optional and, when sent, an empty
// object: any field is refused rather than ignored, so that a client
// believing it set something (a name, an expiry) learns otherwise.
type issueTokenBody struct{}

// issueToken gives an account another API token, shown this once.
func (a *api) issueToken(c *fiber.Ctx) error {
	if err := decodeOptionalObject(c, &issueTokenBody{}); err != nil {
		return err
	}
	secret, token := commands.NewToken()
	return a.changeAccount(c, func(who Caller, id int64) account.Command {
		return account.IssueToken{Actor: who.Actor, AccountID: id, Token: token}
	}, nil, func(id int64) error {
		return created(c, fiber.Map{"success": true, "user_id": id, "token_id": token.ID, "token": secret})
	})
}

// revokeTokensBody is DELETE /backend/api/accounts/<user_id>/tokens/, whose
// body is optional. TokenIDs names the tokens to revoke by the token_id
// that issuing them answered; a list, as TokensRevoked records it. Absent
// (no body, {} or null), every token of the account is revoked.
type revokeTokensBody struct {
	TokenIDs []string `json:"token_ids"`
}

// revokeTokens revokes the tokens of an account that the body names, or
// all of them. A named id the account does not hold live is a 404 naming
// it, and nothing is revoked.
func (a *api) revokeTokens(c *fiber.Ctx) error {
	var body revokeTokensBody
	if err := decodeOptionalObject(c, &body); err != nil {
		return err
	}
	lock := &lockout{doing: "revoking the tokens of"}
	if body.TokenIDs != nil {
		lock = &lockout{doing: "revoking the last live token of", revoking: body.TokenIDs}
	}
	return a.changeAccount(c, func(who Caller, id int64) account.Command {
		return account.RevokeTokens{Actor: who.Actor, AccountID: id, TokenIDs: body.TokenIDs}
	}, lock, nil)
}

// decodeOptionalObject reads an optional JSON object body into v, refusing
// fields v does not know. No body leaves v as it is. Any other JSON value,
// null included, is a 400: a route that may be sent nothing must still not
// take "x" or [] for nothing.
func decodeOptionalObject(c *fiber.Ctx, v any) error {
	var raw json.RawMessage
	if err := decodeBody(c, &raw, decodeOptions{optional: true}); err != nil {
		return err
	}
	if len(raw) == 0 {
		return nil
	}
	if raw[0] != '{' {
		return fmt.Errorf("body: expected object, got %s: %w", jsonKind(raw), errBadRequest)
	}
	return decodeJSON(raw, v, true)
}

// jsonKind names the kind of the JSON value raw, which is well formed and
// starts with its first character.
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// changeAccount runs the account command that build makes for the
// account in the path, settles and answers with answer, or with
// {"success": true} when answer is nil. A command that could take the
// last SUPERUSER away says what it takes in lock (see keepSuperuser);
// others pass nil.
func (a *api) changeAccount(c *fiber.Ctx, build func(Caller, int64) account.Command, lock *lockout,
	answer func(int64) error) error {
	id, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	who := callerOf(c)
	if lock != nil {
		if err := commands.TryAccount(ctx, a.Log, a.meta(c), id, build(who, id)); err != nil {
			return err
		}
		if err := a.keepSuperuser(ctx, who, id, *lock); err != nil {
			return err
		}
	}
	res, _, err := commands.ChangeAccount(ctx, a.Log, a.meta(c), id, build(who, id))
	if err != nil {
		return err
	}
	if err := a.settle(ctx, res.Position, "accounts"); err != nil {
		return err
	}
	if answer != nil {
		return answer(id)
	}
	return c.JSON(fiber.Map{"success": true})
}

// accountRoleJSON is one membership as GET /backend/api/account_roles/
// lists it.
type accountRoleJSON struct {
	AccountRoleID int64 `json:"account_role_id"`
	User          int64 `json:"user"`
	Department    int64 `json:"department"`
}

// listAccountRoles is GET /backend/api/account_roles/: a page of the
// memberships in the caller's departments (all for SUPERUSER).
func (a *api) listAccountRoles(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewAccounts) + "||" + string(role.ViewAccountsPanel)); err != nil {
		return err
	}
	p, err := readPage(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	const where = ` FROM rm_accounts.memberships WHERE $1 OR department_id = ANY($2)`
	args := []any{who.SeesAllDepartments(), nonNil(who.Departments)}
	var count int
	if err := a.Pool.QueryRow(ctx, "SELECT count(*)"+where, args...).Scan(&count); err != nil {
		return fmt.Errorf("count account roles: %w", err)
	}
	rows, err := a.Pool.Query(ctx, "SELECT account_role_id, account_id, department_id"+where+
		" ORDER BY account_role_id LIMIT $3 OFFSET $4", append(args, p.size, p.offset())...)
	if err != nil {
		return fmt.Errorf("list account roles: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[accountRoleJSON])
	if err != nil {
		return fmt.Errorf("list account roles: %w", err)
	}
	return c.JSON(pageBody(c, p, count, list))
}

// nonNil returns ids, or an empty slice for nil (which pgx would send as
// NULL, matching nothing in ANY).
func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
