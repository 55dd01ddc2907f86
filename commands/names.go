package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/catalog"
	"github.com/cometa-es/cometa/domain/department"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// ClaimGrace is how long a fresh name claim holds on its own, before its
// owner's stream shows the name: the owner's event follows the claim
// within milliseconds, so a claim older than this whose owner does not
// carry the name was left by a process that stopped in between (or by a
// refused command) and no longer blocks the name.
const ClaimGrace = time.Minute

// UniqueName is a kind of name that at most one live aggregate carries at
// a time, case-insensitively and whatever characters drawn as nothing it
// holds (see normal). It is kept unique by claim streams: before
// an aggregate takes a name, a NameClaimed naming it as owner is appended
// to the name's stream (ClaimStream) with the revision read there, so of
// two concurrent claimants only one can win.
//
// A claim holds while it is younger than ClaimGrace or while its owner's
// stream still carries the name; a released or stale claim is taken over
// by the next claimant, again with the exact revision read. The read
// models play no part, so the rule is the same on both event stores and
// survives any rebuild.
type UniqueName struct {
	// Kind names the claim streams, e.g. "department-name".
	Kind string
	// Field and Taken make the 400 of a name that is held.
	Field, Taken string
	// exact compares names as they are (trimmed), not case-folded.
	exact bool
	// current is the name that an owner's history carries now; ok is false
	// for an owner that does not exist or was deleted.
	current func(history []Recorded) (name string, ok bool)
}

// The names kept unique.
var (
	DepartmentName = UniqueName{Kind: "department-name", Field: "department_name",
		Taken: "a department with this name already exists",
		current: func(h []Recorded) (string, bool) {
			s := department.Fold(payloadsOf(h))
			return s.Name, s.Exists && !s.Deleted
		}}
	ApplicationName = UniqueName{Kind: "application-name", Field: "app_name",
		Taken: "application with this app name already exists",
		current: func(h []Recorded) (string, bool) {
			s := catalog.FoldApplication(payloadsOf(h))
			return s.Name, s.Exists && !s.Deleted
		}}
	AccountEmail = UniqueName{Kind: "account-email", Field: "email",
		Taken: "an account with this e-mail address already exists",
		current: func(h []Recorded) (string, bool) {
			s := account.Fold(payloadsOf(h))
			return s.Email, s.Exists && !s.Deleted
		}}
)

// normal is the form in which names are compared: domain.NameKey (the
// characters drawn as nothing removed, trimmed, case folded), as the read
// models compare them, or domain.ExactNameKey when u.exact. A name without
// such characters keeps the form (and so the claim stream) it had before
// they were removed.
func (u UniqueName) normal(name string) string {
	if u.exact {
		return domain.ExactNameKey(name)
	}
	return domain.NameKey(name)
}

// ClaimStream returns the claim stream of name:
// "unique-<kind>-<first 32 hex digits of the SHA-256 of the normal name>".
// The hash keeps any name (slashes, 100 characters of UTF-8) a valid
// stream name on both stores.
func (u UniqueName) ClaimStream(name string) string {
	sum := sha256.Sum256([]byte(u.normal(name)))
	return "unique-" + u.Kind + "-" + hex.EncodeToString(sum[:16])
}

// claim is the last NameClaimed of a claim stream, unless a NameReleased
// followed it.
type claim struct {
	owner   string
	command string // the command that appended it (its causation id)
	at      time.Time
}

// lastClaim folds a claim stream's history.
func lastClaim(history []Recorded) (claim, bool) {
	var (
		c    claim
		held bool
	)
	for _, r := range history {
		switch e := r.Payload.(type) {
		case *eventschemas.NameClaimed:
			c, held = claim{owner: e.Owner, command: r.CausationID, at: r.OccurredAt}, true
		case *eventschemas.NameReleased:
			held = false
		}
	}
	return c, held
}

// carries reports whether owner's stream carries name now.
func (u UniqueName) carries(ctx context.Context, l *Log, owner, name string) (bool, error) {
	history, _, err := l.Load(ctx, owner)
	if err != nil {
		return false, err
	}
	current, ok := u.current(history)
	return ok && u.normal(current) == u.normal(name), nil
}

// claim reserves name for owner, or refuses with a 400 naming u.Field when
// another owner holds it. A claim of the same command (an id allocation
// that moved on to the next id) is taken over; owner's own claim is kept
// as it is. Two claimants of a free name race on the stream's revision:
// the loser re-reads and finds it held.
func (u UniqueName) claim(ctx context.Context, l *Log, meta Meta, name, owner string) error {
	if u.normal(name) == "" {
		return nil // the aggregate's own checks refuse it
	}
	_, _, err := l.Execute(ctx, u.ClaimStream(name), meta, func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
		c, held := lastClaim(history)
		switch {
		case held && c.owner == owner:
			return nil, nil
		case held && c.command != meta.CommandID.String() && meta.Now.Sub(c.at) < ClaimGrace:
			return nil, domain.Invalid(u.Field, "%s", u.Taken)
		case held && c.command != meta.CommandID.String():
			carries, err := u.carries(ctx, l, c.owner, name)
			if err != nil {
				return nil, err
			}
			if carries {
				return nil, domain.Invalid(u.Field, "%s", u.Taken)
			}
		}
		return []eventschemas.Payload{&eventschemas.NameClaimed{Kind: u.Kind, Name: strings.TrimSpace(name), Owner: owner}}, nil
	})
	return err
}

// release gives up owner's claim on name once owner no longer carries it
// (renamed or deleted). Anyone else's claim, and a claim whose owner still
// carries the name, are left alone, so a late release cannot free a name
// taken again meanwhile.
func (u UniqueName) release(ctx context.Context, l *Log, meta Meta, name, owner string) error {
	if u.normal(name) == "" {
		return nil
	}
	_, _, err := l.Execute(ctx, u.ClaimStream(name), meta, func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
		if c, held := lastClaim(history); !held || c.owner != owner {
			return nil, nil
		}
		carries, err := u.carries(ctx, l, owner, name)
		if err != nil || carries {
			return nil, err
		}
		return []eventschemas.Payload{&eventschemas.NameReleased{Kind: u.Kind, Name: strings.TrimSpace(name), Owner: owner}}, nil
	})
	return err
}

// createNamed is Create for an aggregate with a unique name: the name is
// claimed for "<kind>-<id>" after decide accepts the command and before
// the aggregate's first event. Should that id turn out taken, the next
// id's attempt takes the claim over (it is the same command's).
func createNamed[S any](ctx context.Context, ids *IDs, kind string, meta Meta, u UniqueName, name string,
	decide func(s S, id int64) ([]eventschemas.Payload, error)) (int64, eventstore.AppendResult, error) {
	if meta.CommandID == uuid.Nil {
		meta.CommandID = uuid.New() // claims recognise their command by it
	}
	return Create(ctx, ids, kind, meta, func(s S, id int64) ([]eventschemas.Payload, error) {
		payloads, err := decide(s, id)
		if err != nil {
			return nil, err
		}
		if err := u.claim(ctx, ids.log, meta, name, streamOf(kind, id)); err != nil {
			return nil, err
		}
		return payloads, nil
	})
}

// renamed carries out decide on owner's stream, a change that gives owner
// the name name, behind a claim on name; the name owner carried before is
// released afterwards. A decision that refuses or changes nothing (tried
// on the stream as it is first) claims nothing, and one that fails
// after the claim gives it back.
func renamed(ctx context.Context, l *Log, meta Meta, u UniqueName, owner, name string, decide Decide) (
	eventstore.AppendResult, bool, error) {
	history, exists, err := l.Load(ctx, owner)
	if err != nil {
		return eventstore.AppendResult{}, false, err
	}
	old, ok := u.current(history)
	payloads, err := decide(history, exists)
	if err != nil || len(payloads) == 0 || !ok || u.normal(old) == u.normal(name) {
		return l.Execute(ctx, owner, meta, decide)
	}
	if err := u.claim(ctx, l, meta, name, owner); err != nil {
		return eventstore.AppendResult{}, false, err
	}
	res, changed, err := l.Execute(ctx, owner, meta, decide)
	if err != nil {
		// Best effort: a claim left here stops holding after ClaimGrace.
		_ = u.release(ctx, l, meta, name, owner)
		return res, changed, err
	}
	// Best effort as well: a claim whose owner no longer carries its name
	// stops holding after ClaimGrace anyway.
	_ = u.release(ctx, l, meta, old, owner)
	return res, changed, nil
}

// removed carries out decide, which deletes owner, on owner's stream and
// releases the name owner carried.
func removed(ctx context.Context, l *Log, meta Meta, u UniqueName, owner string, decide Decide) (
	eventstore.AppendResult, bool, error) {
	history, _, err := l.Load(ctx, owner)
	if err != nil {
		return eventstore.AppendResult{}, false, err
	}
	old, _ := u.current(history)
	res, changed, err := l.Execute(ctx, owner, meta, decide)
	if err == nil && changed {
		// Best effort: the claim of a deleted owner no longer holds.
		_ = u.release(ctx, l, meta, old, owner)
	}
	return res, changed, err
}

// streamOf returns "<kind>-<id>", the stream of an aggregate with an
// allocated id (see IDs).
func streamOf(kind string, id int64) string { return kind + "-" + strconv.FormatInt(id, 10) }
