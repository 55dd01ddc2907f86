package eventschemas

import "encoding/json"

// Event types of the account stream ("account-<id>").
const (
	TypeAccountCreated = "AccountCreated"
	TypeAccountUpdated = "AccountUpdated"
	TypeAccountDeleted = "AccountDeleted"
	TypeTokenIssued    = "TokenIssued"
	TypeTokensRevoked  = "TokensRevoked"
)

// AccountSchemas lists the schemas of the account events.
func AccountSchemas() []Schema {
	return []Schema{
		v1[AccountCreated](),
		v1[AccountUpdated](),
		v1[AccountDeleted](),
		v1[TokenIssued](),
		v1[TokensRevoked](),
	}
}

// AccountCreated opens an account. Role is the role's name (for example
// "ANONYMOUS"); Departments are the ids of the departments the account is a
// member of, ascending and without duplicates.
type AccountCreated struct {
	AccountID   int64   `json:"account_id"`
	Name        string  `json:"name"`
	Email       string  `json:"email"`
	Role        string  `json:"role"`
	Departments []int64 `json:"departments"`
}

// EventType returns TypeAccountCreated.
func (*AccountCreated) EventType() string { return TypeAccountCreated }

// AccountUpdated is the complete new state of an account's editable fields,
// not a patch: a projection replaces what it holds. Settings and
// FavouriteBrowsers are the client's JSON (an object and an array), absent
// when never set.
type AccountUpdated struct {
	AccountID         int64           `json:"account_id"`
	Name              string          `json:"name"`
	Email             string          `json:"email"`
	Role              string          `json:"role"`
	Departments       []int64         `json:"departments"`
	Settings          json.RawMessage `json:"settings,omitempty"`
	FavouriteBrowsers json.RawMessage `json:"favourite_browsers,omitempty"`
}

// EventType returns TypeAccountUpdated.
func (*AccountUpdated) EventType() string { return TypeAccountUpdated }

// AccountDeleted closes an account; its tokens stop working with it.
type AccountDeleted struct {
	AccountID int64 `json:"account_id"`
}

// EventType returns TypeAccountDeleted.
func (*AccountDeleted) EventType() string { return TypeAccountDeleted }

// TokenIssued records a new API token of an account. Only the SHA-256 of
// the token (lowercase hex) is kept: the token itself is shown to the caller
// once and never stored.
type TokenIssued struct {
	AccountID   int64  `json:"account_id"`
	TokenID     string `json:"token_id"`
	TokenSHA256 string `json:"token_sha256"`
}

// EventType returns TypeTokenIssued.
func (*TokenIssued) EventType() string { return TypeTokenIssued }

// TokensRevoked invalidates the listed tokens of an account: every one it
// held when the revocation was decided, or those the request named, in the
// order they were issued.
type TokensRevoked struct {
	AccountID int64    `json:"account_id"`
	TokenIDs  []string `json:"token_ids"`
}

// EventType returns TypeTokensRevoked.
func (*TokensRevoked) EventType() string { return TypeTokensRevoked }
