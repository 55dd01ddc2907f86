package account_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/account"
	dt "github.com/cometa-es/cometa/domain/decidetest"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

type ev = eventschemas.Payload

var (
	admin   = dt.Account(1, role.Superuser)
	manager = dt.Account(4, role.Manager, 1, 2)
	self    = dt.Account(2, role.Devops, 1)
	known   = []int64{1, 2, 3}
	hash    = strings.Repeat("ab", 32)
)

// devops2 is account 2, a DEVOPS member of department 1.
func devops2() []ev {
	return []ev{&eventschemas.AccountCreated{AccountID: 2, Name: "Zoë", Email: "zoe@example.com",
		Role: role.Devops, Departments: []int64{1}}}
}

func updated(name, email, roleName string, deps ...int64) *eventschemas.AccountUpdated {
	if deps == nil {
		deps = []int64{}
	}
	return &eventschemas.AccountUpdated{AccountID: 2, Name: name, Email: email, Role: roleName, Departments: deps}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	// The manager is given create_account for these rows: no default role
	// below SUPERUSER has it.
	recruiter := manager
	recruiter.Role, _ = role.New("RECRUITER", 30, role.CreateAccount)
	dt.Run(t, account.State{}, []dt.Case[account.Command]{
		{Name: "create with token", When: account.Create{Actor: admin, AccountID: 2, Name: " Zoë ",
			Email: "zoe@example.com", Role: role.Devops, Departments: []int64{3, 1, 3}, Known: known,
			Token: &account.Token{ID: "t1", SHA256: hash}},
			Then: []ev{
				&eventschemas.AccountCreated{AccountID: 2, Name: "Zoë", Email: "zoe@example.com",
					Role: role.Devops, Departments: []int64{1, 3}},
				&eventschemas.TokenIssued{AccountID: 2, TokenID: "t1", TokenSHA256: hash},
			}},
		{Name: "default role and no departments", When: account.Create{Actor: admin, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com"},
			Then: []ev{&eventschemas.AccountCreated{AccountID: 2, Name: "Zoë", Email: "zoe@example.com",
				Role: role.Anonymous, Departments: []int64{}}}},
		{Name: "bootstrap by the service", When: account.Create{Actor: access.Service(), AccountID: 1,
			Name: "admin", Email: "admin@localhost", Role: role.Superuser},
			Then: []ev{&eventschemas.AccountCreated{AccountID: 1, Name: "admin", Email: "admin@localhost",
				Role: role.Superuser, Departments: []int64{}}}},
		{Name: "needs create_account", When: account.Create{Actor: manager, AccountID: 2, Name: "Zoë",
			Email: "zoe@example.com"}, Err: domain.ErrForbidden, Message: "create_account"},
		{Name: "cannot grant a higher role", When: account.Create{Actor: recruiter, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com", Role: role.Superuser}, Err: domain.ErrForbidden},
		{Name: "may grant an equal role", When: account.Create{Actor: recruiter, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com", Role: role.Manager, Departments: []int64{2}, Known: known},
			Then: []ev{&eventschemas.AccountCreated{AccountID: 2, Name: "Zoë", Email: "zoe@example.com",
				Role: role.Manager, Departments: []int64{2}}}},
		{Name: "only into own departments", When: account.Create{Actor: recruiter, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com", Departments: []int64{3}, Known: known},
			Err: domain.ErrForbidden, Message: "department 3"},
		{Name: "unknown department", When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "zoe@example.com", Departments: []int64{9}, Known: known},
			Err: domain.ErrInvalid, Fields: []string{"departments"}},
		{Name: "unknown role", When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "zoe@example.com", Role: "ROOT"}, Err: domain.ErrInvalid, Fields: []string{"permission_name"}},
		{Name: "name and email both bad", When: account.Create{Actor: admin, AccountID: 2, Name: "",
			Email: "Zoë <zoe@example.com>"}, Err: domain.ErrInvalid, Fields: []string{"name", "email"}},
		{Name: "email not an address", When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "zoe"}, Err: domain.ErrInvalid, Fields: []string{"email"}},
		{Name: "email with a zero-width space", When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "admin@localhost\u200b"}, Err: domain.ErrInvalid, Fields: []string{"email"}},
		{Name: "email with a soft hyphen", When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "ad\u00admin@localhost"}, Err: domain.ErrInvalid, Fields: []string{"email"}},
		{Name: "email with a space inside", When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "zoe @example.com"}, Err: domain.ErrInvalid, Fields: []string{"email"}},
		{Name: "token hash not hex", When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "zoe@example.com", Token: &account.Token{ID: "t1", SHA256: "secret-token"}},
			Err: domain.ErrInvalid, Fields: []string{"token_sha256"}},
		{Name: "exists", Given: devops2(), When: account.Create{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "zoe@example.com"}, Err: domain.ErrConflict},
	})
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	superuser2 := []ev{&eventschemas.AccountCreated{AccountID: 2, Name: "Boss", Email: "boss@example.com",
		Role: role.Superuser, Departments: []int64{}}}
	editor := manager
	editor.Role, _ = role.New("EDITOR", 30, role.EditAccount, role.DeleteAccount)
	dt.Run(t, account.State{}, []dt.Case[account.Command]{
		{Name: "admin changes everything", Given: devops2(), When: account.Update{Actor: admin, AccountID: 2,
			Name: "Zoë Å", Email: "zoe@example.org", Role: role.Manager, Departments: []int64{2, 3}, Known: known,
			Settings: json.RawMessage(`{"continue_on_failure": true}`), FavouriteBrowsers: json.RawMessage(`[]`)},
			Then: []ev{&eventschemas.AccountUpdated{AccountID: 2, Name: "Zoë Å", Email: "zoe@example.org",
				Role: role.Manager, Departments: []int64{2, 3},
				Settings: json.RawMessage(`{"continue_on_failure":true}`), FavouriteBrowsers: json.RawMessage(`[]`)}}},
		{Name: "nothing changes", Given: devops2(), When: account.Update{Actor: admin, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com", Role: role.Devops, Departments: []int64{1}}},
		{Name: "own name without the flag", Given: devops2(), When: account.Update{Actor: self, AccountID: 2,
			Name: "Zoe", Email: "zoe@example.com", Departments: []int64{1}},
			Then: []ev{updated("Zoe", "zoe@example.com", role.Devops, 1)}},
		{Name: "own departments need the flag", Given: devops2(), When: account.Update{Actor: self,
			AccountID: 2, Name: "Zoë", Email: "zoe@example.com", Departments: []int64{}, Known: known},
			Err: domain.ErrForbidden, Message: "edit_account"},
		{Name: "own role up is refused", Given: devops2(), When: account.Update{Actor: self, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com", Role: role.Manager}, Err: domain.ErrForbidden},
		{Name: "own role down is allowed", Given: devops2(), When: account.Update{Actor: self, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com", Role: role.Analysis},
			Then: []ev{updated("Zoë", "zoe@example.com", role.Analysis, 1)}},
		{Name: "someone else's account needs the flag", Given: devops2(), When: account.Update{Actor: manager,
			AccountID: 2, Name: "X", Email: "zoe@example.com"}, Err: domain.ErrForbidden, Message: "edit_account"},
		{Name: "an account of higher power is out of reach", Given: superuser2, When: account.Update{
			Actor: editor, AccountID: 2, Name: "X", Email: "boss@example.com"}, Err: domain.ErrForbidden},
		{Name: "editor grants up to own power", Given: devops2(), When: account.Update{Actor: editor,
			AccountID: 2, Name: "Zoë", Email: "zoe@example.com", Role: role.Manager},
			Then: []ev{updated("Zoë", "zoe@example.com", role.Manager, 1)}},
		{Name: "editor cannot grant SUPERUSER", Given: devops2(), When: account.Update{Actor: editor,
			AccountID: 2, Name: "Zoë", Email: "zoe@example.com", Role: role.Superuser}, Err: domain.ErrForbidden},
		{Name: "editor cannot remove a department it is not in", Given: []ev{&eventschemas.AccountCreated{
			AccountID: 2, Name: "Zoë", Email: "zoe@example.com", Role: role.Devops, Departments: []int64{1, 3}}},
			When: account.Update{Actor: editor, AccountID: 2, Name: "Zoë", Email: "zoe@example.com",
				Departments: []int64{1}, Known: known}, Err: domain.ErrForbidden, Message: "department 3"},
		{Name: "settings must be an object", Given: devops2(), When: account.Update{Actor: admin, AccountID: 2,
			Name: "Zoë", Email: "zoe@example.com", Settings: json.RawMessage(`"x"`)},
			Err: domain.ErrInvalid, Fields: []string{"settings"}},
		{Name: "unknown account", When: account.Update{Actor: admin, AccountID: 2, Name: "Zoë",
			Email: "zoe@example.com"}, Err: domain.ErrNotFound},
		{Name: "join a new department", Given: devops2(), When: account.JoinDepartment{Actor: self,
			AccountID: 2, DepartmentID: 7},
			Then: []ev{updated("Zoë", "zoe@example.com", role.Devops, 1, 7)}},
		{Name: "join again", Given: devops2(), When: account.JoinDepartment{Actor: self, AccountID: 2, DepartmentID: 1}},
		{Name: "join someone else", Given: devops2(), When: account.JoinDepartment{Actor: manager,
			AccountID: 2, DepartmentID: 7}, Err: domain.ErrForbidden},
	})
}

func TestDeleteAndTokens(t *testing.T) {
	t.Parallel()
	withTokens := append(devops2(),
		&eventschemas.TokenIssued{AccountID: 2, TokenID: "t1", TokenSHA256: hash},
		&eventschemas.TokenIssued{AccountID: 2, TokenID: "t2", TokenSHA256: hash})
	revoked := append(withTokens[:3:3], &eventschemas.TokensRevoked{AccountID: 2, TokenIDs: []string{"t1", "t2"}})
	deleted := append(devops2(), &eventschemas.AccountDeleted{AccountID: 2})
	dt.Run(t, account.State{}, []dt.Case[account.Command]{
		{Name: "delete", Given: devops2(), When: account.Delete{Actor: admin, AccountID: 2},
			Then: []ev{&eventschemas.AccountDeleted{AccountID: 2}}},
		{Name: "delete needs the flag", Given: devops2(), When: account.Delete{Actor: self, AccountID: 2},
			Err: domain.ErrForbidden},
		{Name: "delete twice", Given: deleted, When: account.Delete{Actor: admin, AccountID: 2},
			Err: domain.ErrNotFound},
		{Name: "issue own token", Given: devops2(), When: account.IssueToken{Actor: self, AccountID: 2,
			Token: account.Token{ID: "t1", SHA256: hash}},
			Then: []ev{&eventschemas.TokenIssued{AccountID: 2, TokenID: "t1", TokenSHA256: hash}}},
		{Name: "issue a token id twice", Given: withTokens, When: account.IssueToken{Actor: self, AccountID: 2,
			Token: account.Token{ID: "t1", SHA256: hash}}, Err: domain.ErrConflict},
		{Name: "issue for someone else", Given: devops2(), When: account.IssueToken{Actor: manager,
			AccountID: 2, Token: account.Token{ID: "t1", SHA256: hash}}, Err: domain.ErrForbidden},
		{Name: "issue for a deleted account", Given: deleted, When: account.IssueToken{Actor: admin,
			AccountID: 2, Token: account.Token{ID: "t1", SHA256: hash}}, Err: domain.ErrNotFound},
		{Name: "token hash upper case", Given: devops2(), When: account.IssueToken{Actor: self, AccountID: 2,
			Token: account.Token{ID: "t1", SHA256: strings.ToUpper(hash)}},
			Err: domain.ErrInvalid, Fields: []string{"token_sha256"}},
		{Name: "revoke all", Given: withTokens, When: account.RevokeTokens{Actor: self, AccountID: 2},
			Then: []ev{&eventschemas.TokensRevoked{AccountID: 2, TokenIDs: []string{"t1", "t2"}}}},
		{Name: "revoke with none live", Given: revoked, When: account.RevokeTokens{Actor: admin, AccountID: 2}},
		{Name: "revoke one", Given: withTokens, When: account.RevokeTokens{Actor: self, AccountID: 2,
			TokenIDs: []string{"t2"}},
			Then: []ev{&eventschemas.TokensRevoked{AccountID: 2, TokenIDs: []string{"t2"}}}},
		{Name: "revoke named twice, in issue order", Given: withTokens, When: account.RevokeTokens{Actor: admin,
			AccountID: 2, TokenIDs: []string{"t2", "t1", "t2"}},
			Then: []ev{&eventschemas.TokensRevoked{AccountID: 2, TokenIDs: []string{"t1", "t2"}}}},
		{Name: "revoke an unknown token", Given: withTokens, When: account.RevokeTokens{Actor: self,
			AccountID: 2, TokenIDs: []string{"t1", "nope"}}, Err: domain.ErrNotFound},
		{Name: "revoke a revoked token", Given: revoked, When: account.RevokeTokens{Actor: self,
			AccountID: 2, TokenIDs: []string{"t1"}}, Err: domain.ErrNotFound},
		{Name: "revoke an empty selection", Given: withTokens, When: account.RevokeTokens{Actor: self,
			AccountID: 2, TokenIDs: []string{}}, Err: domain.ErrInvalid, Fields: []string{"token_ids"}},
		{Name: "revoke one of someone else's", Given: withTokens, When: account.RevokeTokens{Actor: manager,
			AccountID: 2, TokenIDs: []string{"t1"}}, Err: domain.ErrForbidden},
	})
}

func TestFoldTokens(t *testing.T) {
	t.Parallel()
	s := account.Fold(append(devops2(),
		&eventschemas.TokenIssued{AccountID: 2, TokenID: "t1", TokenSHA256: hash},
		&eventschemas.TokenIssued{AccountID: 2, TokenID: "t2", TokenSHA256: hash},
		&eventschemas.TokensRevoked{AccountID: 2, TokenIDs: []string{"t1"}},
	))
	if diff := cmp.Diff([]string{"t2"}, s.Tokens); diff != "" {
		t.Errorf("live tokens (-want +got):\n%s", diff)
	}
	if _, ok := s.TokenHashes["t1"]; ok {
		t.Error("revoked token still has a hash")
	}
	if got := account.Stream(2); got != "account-2" {
		t.Errorf("Stream(2) = %q", got)
	}
}
