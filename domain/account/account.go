// Package account is the account aggregate: a user with a role, the
// departments it is a member of, its settings and its API tokens (kept as
// SHA-256 hashes only).
//
// Rules: a role may be granted only by an actor of equal or higher power;
// an actor may edit, delete or issue tokens for an account only if its own
// power is at least the account's (or the account is its own); memberships
// may be given or taken only in departments the actor belongs to (SUPERUSER:
// all) and only in departments that exist. Email uniqueness spans all
// accounts and is the command layer's to keep.
package account

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
)

// Limits of the account fields, as in Cometa's model.
const (
	MaxNameLength  = 250
	MaxEmailLength = 100
)

// Stream returns the name of account id's stream.
func Stream(id int64) string { return fmt.Sprintf("account-%d", id) }

// State is an account as its events made it.
type State struct {
	ID                int64
	Exists            bool
	Deleted           bool
	Name              string
	Email             string
	Role              string
	Departments       []int64
	Settings          json.RawMessage
	FavouriteBrowsers json.RawMessage
	// Tokens are the ids of the live tokens, in the order issued.
	Tokens []string
	// TokenHashes maps a live token id to its SHA-256 (hex).
	TokenHashes map[string]string
}

// Fold returns the state after history.
func Fold(history []eventschemas.Payload) State { return domain.Fold(State{}, history) }

// Evolve returns the state after p.
func (s State) Evolve(p eventschemas.Payload) State {
	switch e := p.(type) {
	case *eventschemas.AccountCreated:
		s = State{ID: e.AccountID, Exists: true, Name: e.Name, Email: e.Email, Role: e.Role,
			Departments: e.Departments}
	case *eventschemas.AccountUpdated:
		s.Name, s.Email, s.Role, s.Departments = e.Name, e.Email, e.Role, e.Departments
		s.Settings, s.FavouriteBrowsers = e.Settings, e.FavouriteBrowsers
	case *eventschemas.AccountDeleted:
		s.Deleted = true
		s.Tokens, s.TokenHashes = nil, nil
	case *eventschemas.TokenIssued:
		hashes := make(map[string]string, len(s.TokenHashes)+1)
		for id, h := range s.TokenHashes {
			hashes[id] = h
		}
		hashes[e.TokenID] = e.TokenSHA256
		s.TokenHashes = hashes
		s.Tokens = append(slices.Clip(s.Tokens), e.TokenID)
	case *eventschemas.TokensRevoked:
		hashes := make(map[string]string, len(s.TokenHashes))
		var live []string
		for _, id := range s.Tokens {
			if !slices.Contains(e.TokenIDs, id) {
				live = append(live, id)
				hashes[id] = s.TokenHashes[id]
			}
		}
		s.Tokens, s.TokenHashes = live, hashes
	}
	return s
}

// Command is a request to change an account.
type Command interface {
	decide(State) ([]eventschemas.Payload, error)
}

// Decide returns the events that carry out c, none when c changes nothing,
// or the error that refuses it.
func (s State) Decide(c Command) ([]eventschemas.Payload, error) { return c.decide(s) }

func (s State) live(id int64) error {
	switch {
	case !s.Exists || s.Deleted:
		return domain.NotFound("account", id)
	case s.ID != id:
		return domain.Conflict("command for account %d on the stream of account %d", id, s.ID)
	}
	return nil
}

// power is the power of the account's role; an unknown role has none.
func (s State) power() int {
	r, err := role.Lookup(s.Role)
	if err != nil {
		return 0
	}
	return r.Power
}

// reach checks, before the account is looked up, that actor may act on
// account id with requirement or as its owner, so that an actor without
// the permission cannot tell an unknown id (404) from a known one (403).
func reach(actor access.Actor, id int64, requirement role.Flag) error {
	return actor.RequireOrOwn(string(requirement), id)
}

// manage checks that actor may act on the live account s with requirement,
// or as its owner: an account of higher power than the actor's is out of
// reach even with the flag.
func manage(actor access.Actor, s State, requirement string) error {
	if err := actor.RequireOrOwn(requirement, s.ID); err != nil {
		return err
	}
	if actor.AccountID != s.ID && s.power() > actor.Role.Power {
		return domain.Forbidden("account %d has a role of higher power (%s) than the actor's", s.ID, s.Role)
	}
	return nil
}

// grant checks that actor may give the named role ("" means the default).
func grant(actor access.Actor, name string) (role.Role, error) {
	if name == "" {
		name = role.Default
	}
	target, err := role.Lookup(name)
	if err != nil {
		return role.Role{}, err
	}
	if !role.CanGrant(actor.Role, target) {
		return role.Role{}, domain.Forbidden("role %s has a higher power than the actor's role %s",
			target.Name, actor.Role.Name)
	}
	return target, nil
}

// memberships checks a new department list against the old one: ids must
// be positive, added ones must exist (known lists the departments that do),
// and every department added or removed must be one of the actor's. The
// result is sorted and without duplicates.
func memberships(actor access.Actor, old, requested, known []int64) ([]int64, error) {
	next := slices.Clone(requested)
	slices.Sort(next)
	next = slices.Compact(next)
	if next == nil {
		next = []int64{}
	}
	for _, id := range next {
		if slices.Contains(old, id) {
			continue
		}
		if id <= 0 || !slices.Contains(known, id) {
			return nil, domain.Invalid("departments", "department %d does not exist", id)
		}
		if err := actor.RequireDepartment(id); err != nil {
			return nil, err
		}
	}
	for _, id := range old {
		if !slices.Contains(next, id) {
			if err := actor.RequireDepartment(id); err != nil {
				return nil, err
			}
		}
	}
	return next, nil
}
