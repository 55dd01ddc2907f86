package account

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// Token is a new API token as the command layer made it: a random id and
// the SHA-256 of the secret, in lowercase hex. The secret never gets here.
type Token struct {
	ID     string
	SHA256 string
}

func (t Token) check() error {
	if t.ID == "" || len(t.ID) > 64 {
		return domain.Invalid("token_id", "must be 1 to 64 characters")
	}
	if len(t.SHA256) != 64 || !isLowerHex(t.SHA256) {
		return domain.Invalid("token_sha256", "must be 64 lowercase hex digits")
	}
	return nil
}

// isLowerHex reports whether s holds only lowercase hex digits.
func isLowerHex(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// Create opens account AccountID. Role "" gives role.Default. Known lists
// the ids of the departments that exist. With Token set, the account's
// first token is issued in the same decision (the bootstrap and the API's
// create both do this).
type Create struct {
	Actor       access.Actor
	AccountID   int64
	Name        string
	Email       string
	Role        string
	Departments []int64
	Known       []int64
	Token       *Token
}

func (c Create) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.CreateAccount)); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, domain.Conflict("account %d already exists", c.AccountID)
	}
	name, email, err := identity(c.Name, c.Email)
	if err != nil {
		return nil, err
	}
	r, err := grant(c.Actor, c.Role)
	if err != nil {
		return nil, err
	}
	deps, err := memberships(c.Actor, nil, c.Departments, c.Known)
	if err != nil {
		return nil, err
	}
	out := []eventschemas.Payload{&eventschemas.AccountCreated{
		AccountID: c.AccountID, Name: name, Email: email, Role: r.Name, Departments: deps,
	}}
	if c.Token != nil {
		if err := c.Token.check(); err != nil {
			return nil, err
		}
		out = append(out, &eventschemas.TokenIssued{
			AccountID: c.AccountID, TokenID: c.Token.ID, TokenSHA256: c.Token.SHA256,
		})
	}
	return out, nil
}

// identity checks a name and an e-mail address together, so that both
// fields are reported at once.
func identity(name, email string) (string, string, error) {
	name, nameErr := domain.RequireText("name", name, MaxNameLength)
	email, emailErr := domain.RequireText("email", email, MaxEmailLength)
	switch {
	case emailErr != nil:
	case !domain.AllVisible(email):
		// mail.ParseAddress takes "admin@localhost\u200b", a look-alike.
		emailErr = domain.Invalid("email", "must not contain white space, control or invisible characters")
	default:
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			emailErr = domain.Invalid("email", "must be a plain e-mail address")
		}
	}
	return name, email, errors.Join(nameErr, emailErr)
}

// Update replaces an account's editable fields. Role "" keeps the role,
// nil Departments keep the memberships, nil Settings and FavouriteBrowsers
// keep them. Editing one's own account needs no flag, but changing one's
// own memberships does (edit_account).
type Update struct {
	Actor             access.Actor
	AccountID         int64
	Name              string
	Email             string
	Role              string
	Departments       []int64
	Known             []int64
	Settings          json.RawMessage
	FavouriteBrowsers json.RawMessage
}

func (c Update) decide(s State) ([]eventschemas.Payload, error) {
	if err := reach(c.Actor, c.AccountID, role.EditAccount); err != nil {
		return nil, err
	}
	if err := s.live(c.AccountID); err != nil {
		return nil, err
	}
	if err := manage(c.Actor, s, string(role.EditAccount)); err != nil {
		return nil, err
	}
	name, email, err := identity(c.Name, c.Email)
	if err != nil {
		return nil, err
	}
	next := &eventschemas.AccountUpdated{AccountID: s.ID, Name: name, Email: email, Role: s.Role,
		Departments: s.Departments, Settings: s.Settings, FavouriteBrowsers: s.FavouriteBrowsers}
	if c.Role != "" && c.Role != s.Role {
		r, err := grant(c.Actor, c.Role)
		if err != nil {
			return nil, err
		}
		next.Role = r.Name
	}
	if c.Departments != nil {
		deps, err := memberships(c.Actor, s.Departments, c.Departments, c.Known)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(deps, s.Departments) {
			if err := c.Actor.Require(string(role.EditAccount)); err != nil {
				return nil, err
			}
		}
		next.Departments = deps
	}
	if c.Settings != nil {
		if next.Settings, err = domain.RequireObject("settings", c.Settings); err != nil {
			return nil, err
		}
	}
	if c.FavouriteBrowsers != nil {
		if next.FavouriteBrowsers, err = domain.RequireArray("favourite_browsers", c.FavouriteBrowsers); err != nil {
			return nil, err
		}
	}
	if next.Name == s.Name && next.Email == s.Email && next.Role == s.Role &&
		slices.Equal(next.Departments, s.Departments) &&
		bytes.Equal(next.Settings, s.Settings) && bytes.Equal(next.FavouriteBrowsers, s.FavouriteBrowsers) {
		return nil, nil
	}
	return []eventschemas.Payload{next}, nil
}

// JoinDepartment makes the account a member of a department it has just
// created (Cometa makes the creator a member). Only the account itself, or
// an actor with edit_account, may do it; the command layer vouches that the
// department exists.
type JoinDepartment struct {
	Actor        access.Actor
	AccountID    int64
	DepartmentID int64
}

func (c JoinDepartment) decide(s State) ([]eventschemas.Payload, error) {
	if err := reach(c.Actor, c.AccountID, role.EditAccount); err != nil {
		return nil, err
	}
	if err := s.live(c.AccountID); err != nil {
		return nil, err
	}
	if err := manage(c.Actor, s, string(role.EditAccount)); err != nil {
		return nil, err
	}
	if c.DepartmentID <= 0 {
		return nil, domain.Invalid("department_id", "must be positive")
	}
	if slices.Contains(s.Departments, c.DepartmentID) {
		return nil, nil
	}
	deps := append(slices.Clone(s.Departments), c.DepartmentID)
	slices.Sort(deps)
	return []eventschemas.Payload{&eventschemas.AccountUpdated{AccountID: s.ID, Name: s.Name,
		Email: s.Email, Role: s.Role, Departments: deps, Settings: s.Settings,
		FavouriteBrowsers: s.FavouriteBrowsers}}, nil
}

// Delete closes an account and, with it, its tokens.
type Delete struct {
	Actor     access.Actor
	AccountID int64
}

func (c Delete) decide(s State) ([]eventschemas.Payload, error) {
	if err := c.Actor.Require(string(role.DeleteAccount)); err != nil {
		return nil, err
	}
	if err := s.live(c.AccountID); err != nil {
		return nil, err
	}
	if err := manage(c.Actor, s, string(role.DeleteAccount)); err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.AccountDeleted{AccountID: s.ID}}, nil
}

// IssueToken gives an account another API token. The account itself or an
// actor with edit_account (of at least the account's power) may do it.
type IssueToken struct {
	Actor     access.Actor
	AccountID int64
	Token     Token
}

func (c IssueToken) decide(s State) ([]eventschemas.Payload, error) {
	if err := reach(c.Actor, c.AccountID, role.EditAccount); err != nil {
		return nil, err
	}
	if err := s.live(c.AccountID); err != nil {
		return nil, err
	}
	if err := manage(c.Actor, s, string(role.EditAccount)); err != nil {
		return nil, err
	}
	if err := c.Token.check(); err != nil {
		return nil, err
	}
	if _, dup := s.TokenHashes[c.Token.ID]; dup {
		return nil, domain.Conflict("account %d already has token %q", s.ID, c.Token.ID)
	}
	return []eventschemas.Payload{&eventschemas.TokenIssued{
		AccountID: s.ID, TokenID: c.Token.ID, TokenSHA256: c.Token.SHA256,
	}}, nil
}

// RevokeTokens revokes tokens of an account: those named in TokenIDs, or
// every live one when TokenIDs is nil. With nil TokenIDs and none live it
// changes nothing. A named id the account does not hold live (never issued,
// already revoked, or another account's) refuses the whole command with
// ErrNotFound naming it, so that a mistyped id never passes for done; an
// empty non-nil list is invalid, since reading it as "every token" would
// revoke them all for a selection that came out empty.
type RevokeTokens struct {
	Actor     access.Actor
	AccountID int64
	TokenIDs  []string
}

func (c RevokeTokens) decide(s State) ([]eventschemas.Payload, error) {
	if err := reach(c.Actor, c.AccountID, role.EditAccount); err != nil {
		return nil, err
	}
	if err := s.live(c.AccountID); err != nil {
		return nil, err
	}
	if err := manage(c.Actor, s, string(role.EditAccount)); err != nil {
		return nil, err
	}
	if c.TokenIDs == nil {
		if len(s.Tokens) == 0 {
			return nil, nil
		}
		return []eventschemas.Payload{&eventschemas.TokensRevoked{
			AccountID: s.ID, TokenIDs: slices.Clone(s.Tokens),
		}}, nil
	}
	ids, err := s.heldTokens(c.TokenIDs)
	if err != nil {
		return nil, err
	}
	return []eventschemas.Payload{&eventschemas.TokensRevoked{AccountID: s.ID, TokenIDs: ids}}, nil
}

// heldTokens returns the requested token ids without duplicates, in the
// order the account was issued them, or an error naming every id that is
// not one of its live tokens.
func (s State) heldTokens(requested []string) ([]string, error) {
	if len(requested) == 0 {
		return nil, domain.Invalid("token_ids", "must name at least one token; "+
			"send no body to revoke every token")
	}
	var blank []error
	for i, id := range requested {
		if strings.TrimSpace(id) == "" {
			blank = append(blank, domain.Invalid(fmt.Sprintf("token_ids[%d]", i), "must not be empty"))
		}
	}
	if len(blank) > 0 {
		return nil, errors.Join(blank...)
	}
	var unknown []string
	for _, id := range requested {
		if _, ok := s.TokenHashes[id]; !ok && !slices.Contains(unknown, id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("account %d holds no live token %s: %w", s.ID,
			quoted(unknown), domain.ErrNotFound)
	}
	var ids []string
	for _, id := range s.Tokens {
		if slices.Contains(requested, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// quoted joins ids as a list of Go-quoted strings, so that an empty or
// odd id stays visible in a message.
func quoted(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Quote(id)
	}
	return strings.Join(parts, ", ")
}
