package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// tokenPrefix starts every API token, so that a leaked one is easy to
// recognise (and to search for in logs and repositories).
const tokenPrefix = "cmt_"

// NewToken returns a fresh API token: the secret, shown to its owner once,
// and the id and hash that the events keep. The secret carries 256 random
// bits.
func NewToken() (secret string, t account.Token) {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(buf)
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	return secret, account.Token{ID: hex.EncodeToString(id), SHA256: TokenHash(secret)}
}

// TokenHash returns the SHA-256 of a token secret in lowercase hex, the
// form in which tokens are stored and looked up.
func TokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateAccount opens an account with the next free id; c.AccountID is
// ignored. With c.Token set the account's first token is issued with it.
// The e-mail address is claimed first (AccountEmail).
func CreateAccount(ctx context.Context, ids *IDs, meta Meta, c account.Create) (int64, eventstore.AppendResult, error) {
	return createNamed(ctx, ids, "account", meta, AccountEmail, c.Email,
		func(s account.State, id int64) ([]eventschemas.Payload, error) {
			c.AccountID = id
			return s.Decide(c)
		})
}

// ChangeAccount carries out a command on account id's stream: an
// account.Update, JoinDepartment, Delete, IssueToken or RevokeTokens whose
// AccountID is id. An update claims the e-mail address it sets (and
// releases the old one); a deletion releases the address.
func ChangeAccount(ctx context.Context, l *Log, meta Meta, id int64, c account.Command) (eventstore.AppendResult, bool, error) {
	stream := account.Stream(id)
	decide := folded(func(s account.State) ([]eventschemas.Payload, error) {
		return s.Decide(c)
	})
	switch c := c.(type) {
	case account.Update:
		return renamed(ctx, l, meta, AccountEmail, stream, c.Email, decide)
	case account.Delete:
		return removed(ctx, l, meta, AccountEmail, stream, decide)
	}
	return l.Execute(ctx, stream, meta, decide)
}
