package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/cometa-es/cometa/domain"
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
// The e-mail address is claimed first (AccountEmail); BootstrapEmail is
// reserved (see reserved).
func CreateAccount(ctx context.Context, ids *IDs, meta Meta, c account.Create) (int64, eventstore.AppendResult, error) {
	return createNamed(ctx, ids, "account", meta, AccountEmail, c.Email,
		func(s account.State, id int64) ([]eventschemas.Payload, error) {
			c.AccountID = id
			payloads, err := s.Decide(c)
			if err != nil {
				return nil, err
			}
			if err := reserved(meta, "", c.Email); err != nil {
				return nil, err
			}
			return payloads, nil
		})
}

// ChangeAccount carries out a command on account id's stream: an
// account.Update, JoinDepartment, Delete, IssueToken or RevokeTokens whose
// AccountID is id. An update claims the e-mail address it sets (and
// releases the old one); a deletion releases the address.
func ChangeAccount(ctx context.Context, l *Log, meta Meta, id int64, c account.Command) (eventstore.AppendResult, bool, error) {
	stream := account.Stream(id)
	decide := accountDecision(meta, c)
	switch c := c.(type) {
	case account.Update:
		return renamed(ctx, l, meta, AccountEmail, stream, c.Email, decide)
	case account.Delete:
		return removed(ctx, l, meta, AccountEmail, stream, decide)
	}
	return l.Execute(ctx, stream, meta, decide)
}

// TryAccount decides c on account id's stream as it is now, as
// ChangeAccount would, and appends nothing: it returns the error that
// refuses c, if any. The API runs it before a check of its own (the last
// SUPERUSER's), so that a request refused anyway gets the command's answer.
func TryAccount(ctx context.Context, l *Log, meta Meta, id int64, c account.Command) error {
	history, exists, err := l.Load(ctx, account.Stream(id))
	if err != nil {
		return err
	}
	_, err = accountDecision(meta, c)(history, exists)
	return err
}

// accountDecision is the decision of ChangeAccount: c on the folded
// account, and for an update the reservation of BootstrapEmail.
func accountDecision(meta Meta, c account.Command) Decide {
	return folded(func(s account.State) ([]eventschemas.Payload, error) {
		payloads, err := s.Decide(c)
		if err != nil {
			return nil, err
		}
		if u, ok := c.(account.Update); ok {
			if err := reserved(meta, s.Email, u.Email); err != nil {
				return nil, err
			}
		}
		return payloads, nil
	})
}

// reserved refuses with a 400 on email an account taking the address
// BootstrapEmail (as AccountEmail compares addresses) that it did not
// carry before (old): RecoverAccess promotes the account with that
// address, so only the bootstrap itself (BootstrapActor) may give it.
func reserved(meta Meta, old, email string) error {
	bootstrap := AccountEmail.normal(BootstrapEmail)
	if meta.Actor == BootstrapActor || AccountEmail.normal(email) != bootstrap ||
		AccountEmail.normal(old) == bootstrap {
		return nil
	}
	return domain.Invalid("email", "this e-mail address is reserved for the bootstrap administrator")
}
