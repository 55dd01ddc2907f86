package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/variable"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/internal/cryptojs"
)

// VariableIndex is what the variable commands read of the variables read
// model: the scopes that exist and the names taken in them. It may lag the
// log, so the commands read departments from their streams and ask it only
// about environments and features.
type VariableIndex interface {
	// Find returns the id of the live variable named name in the scope,
	// or 0.
	Find(ctx context.Context, department, environment, feature int64, based, name string) (int64, error)
	// ScopeKnown reports whether department and environment exist (an id
	// of 0 is not asked about and reported true), and the department of
	// live feature (0 when there is none or feature is 0).
	ScopeKnown(ctx context.Context, department, environment, feature int64) (
		departmentOK, environmentOK bool, featureDepartment int64, err error)
}

// VariableInput is a variable as a client sets it. Value is plain text, or
// ciphertext in Cometa's format; with Encrypted, plain text is encrypted
// before it reaches an event.
type VariableInput struct {
	DepartmentID  int64
	EnvironmentID int64
	FeatureID     int64
	Name          string
	// Based is the scope: "department", "environment" or "feature"; ""
	// means "feature" with a feature, else "environment".
	Based     string
	Encrypted bool
	Value     string
}

// Variables carries out the variable commands. A variable of a department
// the actor is not a member of is reported as not found. Names are unique
// per scope: the read model answers early, and a claim on the scope and
// name (VariableName) decides between concurrent requests.
type Variables struct {
	log        *Log
	ids        *IDs
	index      VariableIndex
	passphrase string
}

// NewVariables returns the variable commands; passphrase encrypts the
// values of encrypted variables.
func NewVariables(log *Log, ids *IDs, index VariableIndex, passphrase string) *Variables {
	return &Variables{log: log, ids: ids, index: index, passphrase: passphrase}
}

// VariableKind is the id kind of variables ("variable-<id>" streams).
const VariableKind = "variable"

// errDuplicateVariable has Cometa's wording.
const errDuplicateVariable = "Variable already exists with specified requirements, please update the variable."

// VariableName keeps variable names unique in their scope. The name it
// claims is the scope and the name (variableKey), compared as they are,
// as the read model compares them.
var VariableName = UniqueName{Kind: "variable-name", Field: "variable_name", Taken: errDuplicateVariable,
	exact: true,
	current: func(h []Recorded) (string, bool) {
		s := variable.Fold(payloadsOf(h))
		return variableKey(s.DepartmentID, s.EnvironmentID, s.FeatureID, s.Based, s.Name), s.Exists && !s.Deleted
	}}

// variableKey is the scope and name that VariableName claims:
// "<department>/<environment>/<feature>/<based>/<name>". Only the name
// can hold a slash, and it comes last, so two keys never read the same.
func variableKey(department, environment, feature int64, based, name string) string {
	return fmt.Sprintf("%d/%d/%d/%s/%s", department, environment, feature, based, domain.ExactNameKey(name))
}

// keyOf is the key of in.
func keyOf(in VariableInput) string {
	return variableKey(in.DepartmentID, in.EnvironmentID, in.FeatureID, basedOf(in), in.Name)
}

// Create makes a new variable and returns its id. A name already taken in
// the scope is refused (invalid variable_name).
func (v *Variables) Create(ctx context.Context, meta Meta, actor access.Actor, in VariableInput) (
	int64, eventstore.AppendResult, error) {
	cmd, err := v.prepare(ctx, actor, 0, in)
	if err != nil {
		return 0, eventstore.AppendResult{}, fmt.Errorf("create variable: %w", err)
	}
	id, res, err := createNamed(ctx, v.ids, VariableKind, meta, VariableName, keyOf(in),
		func(s variable.State, id int64) ([]eventschemas.Payload, error) {
			cmd.VariableID = id
			return s.Decide(cmd)
		})
	if err != nil {
		return 0, res, fmt.Errorf("create variable: %w", err)
	}
	return id, res, nil
}

// Put sets the variable named in.Name in in's scope: it replaces the value
// of the one that exists, or creates it. created tells which. A create
// that loses the race for the name to a concurrent Put (or Create) is
// refused by the name's claim; Put then finds the winner, from the claim
// stream when the read model does not show it yet, and replaces its value
// instead, so concurrent Puts of one new name create one variable and
// never answer that the name is taken.
//
// The scope is checked before the name is looked up, so that an actor
// outside the department learns nothing of the names it holds.
func (v *Variables) Put(ctx context.Context, meta Meta, actor access.Actor, in VariableInput) (
	id int64, res eventstore.AppendResult, created bool, err error) {
	if _, err := v.scope(ctx, actor, in); err != nil {
		return 0, res, false, fmt.Errorf("set variable: %w", err)
	}
	for attempt := 1; ; attempt++ {
		found, held, err := v.holder(ctx, meta, in)
		if err != nil {
			return 0, res, false, fmt.Errorf("set variable: %w", err)
		}
		if found != 0 {
			res, _, err = v.Update(ctx, meta, actor, found, func(VariableInput) (VariableInput, error) { return in, nil })
			return found, res, false, err
		}
		var refused error
		if !held {
			id, res, err = v.Create(ctx, meta, actor, in)
			if !errors.Is(err, domain.ErrInvalid) {
				return id, res, err == nil, err
			}
			// Invalid for a reason of its own, or because the name was
			// claimed meanwhile: only the second is worth another look.
			if _, held, herr := v.holder(ctx, meta, in); herr != nil || !held {
				return 0, res, false, err
			}
			refused = err
		}
		// The name is claimed by a create whose event has not landed yet:
		// it lands within milliseconds, or the claim lapses.
		if attempt == maxAttempts {
			if refused == nil {
				refused = domain.Invalid("variable_name", errDuplicateVariable)
			}
			return 0, res, false, fmt.Errorf("set variable: %w", refused)
		}
		if err := pause(ctx, retryDelay(attempt)); err != nil {
			return 0, res, false, fmt.Errorf("set variable: %w", err)
		}
	}
}

// holder returns the live variable that carries in's scope and name: the
// read model's, or, while the model lags, the owner of the name's claim
// once the owner's stream carries it. held without an id is a claim that
// still holds (younger than ClaimGrace) whose owner does not carry the
// name yet.
func (v *Variables) holder(ctx context.Context, meta Meta, in VariableInput) (id int64, held bool, err error) {
	found, err := v.index.Find(ctx, in.DepartmentID, in.EnvironmentID, in.FeatureID, basedOf(in),
		strings.TrimSpace(in.Name))
	if err != nil || found != 0 {
		return found, found != 0, err
	}
	key := keyOf(in)
	history, _, err := v.log.Load(ctx, VariableName.ClaimStream(key))
	if err != nil {
		return 0, false, err
	}
	c, held := lastClaim(history)
	if !held {
		return 0, false, nil
	}
	owner, _, err := v.log.Load(ctx, c.owner)
	if err != nil {
		return 0, false, err
	}
	if current, ok := VariableName.current(owner); ok && VariableName.normal(current) == VariableName.normal(key) {
		return variable.Fold(payloadsOf(owner)).ID, true, nil
	}
	return 0, meta.Now.Sub(c.at) < ClaimGrace, nil
}

// Update changes variable id to what edit makes of its current fields (its
// current value as stored: ciphertext when encrypted). changed is false
// when nothing changes. A new name or scope is claimed first; should a
// concurrent change make edit land on another one than claimed, the
// update is refused as a conflict.
func (v *Variables) Update(ctx context.Context, meta Meta, actor access.Actor, id int64,
	edit func(VariableInput) (VariableInput, error)) (eventstore.AppendResult, bool, error) {
	stream := variable.Stream(id)
	var key string // the scope and name the first decision went for
	decide := func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
		s, err := v.visible(ctx, actor, id, history)
		if err != nil {
			return nil, err
		}
		in, err := edit(VariableInput{DepartmentID: s.DepartmentID, EnvironmentID: s.EnvironmentID,
			FeatureID: s.FeatureID, Name: s.Name, Based: s.Based, Encrypted: s.Value.Encrypted(),
			Value: s.Value.Text()})
		if err != nil {
			return nil, err
		}
		cmd, err := v.prepare(ctx, actor, id, in)
		if err != nil {
			return nil, err
		}
		switch k := keyOf(in); {
		case key == "":
			key = k
		case k != key:
			return nil, domain.Conflict("variable %d changed meanwhile; send the change again", id)
		}
		return s.Decide(cmd)
	}
	history, exists, err := v.log.Load(ctx, stream)
	if err == nil {
		_, err = decide(history, exists) // refused here, nothing is claimed
	}
	var (
		res     eventstore.AppendResult
		changed bool
	)
	if err == nil {
		res, changed, err = renamed(ctx, v.log, meta, VariableName, stream, key, decide)
	}
	if err != nil {
		return res, false, fmt.Errorf("update variable %d: %w", id, err)
	}
	return res, changed, nil
}

// Delete removes variable id.
func (v *Variables) Delete(ctx context.Context, meta Meta, actor access.Actor, id int64) (eventstore.AppendResult, error) {
	res, _, err := removed(ctx, v.log, meta, VariableName, variable.Stream(id),
		func(history []Recorded, _ bool) ([]eventschemas.Payload, error) {
			s, err := v.visible(ctx, actor, id, history)
			if err != nil {
				return nil, err
			}
			return s.Decide(variable.Delete{Actor: actor, VariableID: id})
		})
	if err != nil {
		return res, fmt.Errorf("delete variable %d: %w", id, err)
	}
	return res, nil
}

// prepare checks in's scope (see scope) and that its name is free (for
// variable id, 0 for a new one), encrypts a plain value marked encrypted,
// and returns the domain command.
func (v *Variables) prepare(ctx context.Context, actor access.Actor, id int64, in VariableInput) (variable.Set, error) {
	featDep, err := v.scope(ctx, actor, in)
	if err != nil && !errors.Is(err, domain.ErrInvalid) {
		return variable.Set{}, err
	}

	errs := []error{err} // an unknown scope is reported with a bad value
	value := in.Value
	encrypt := in.Encrypted && !cryptojs.IsCiphertext(value)
	if encrypt {
		// The aggregate sees only the ciphertext, so the plain text is
		// checked here, as an unencrypted value would be there.
		if err := domain.CheckFreeText("variable_value", value); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return variable.Set{}, err
	}

	if encrypt {
		if value, err = cryptojs.Encrypt(v.passphrase, value); err != nil {
			return variable.Set{}, fmt.Errorf("encrypt the value of variable %q: %w", in.Name, err)
		}
	}
	taken, err := v.index.Find(ctx, in.DepartmentID, in.EnvironmentID, in.FeatureID, basedOf(in),
		strings.TrimSpace(in.Name))
	if err != nil {
		return variable.Set{}, err
	}
	if taken != 0 && taken != id {
		return variable.Set{}, domain.Invalid("variable_name", errDuplicateVariable)
	}
	return variable.Set{Actor: actor, VariableID: id, DepartmentID: in.DepartmentID,
		EnvironmentID: in.EnvironmentID, FeatureID: in.FeatureID, FeatureDepartmentID: featDep,
		Name: in.Name, Based: in.Based, Encrypted: in.Encrypted, Value: value}, nil
}

// CheckDepartment refuses a department that actor is not a member of
// (forbidden) or that does not exist or was deleted (invalid department),
// read from its stream. The batch calls it before it looks up the
// environment's name, so that neither an outsider nor a deleted
// department learns anything of the names the catalogue holds.
func (v *Variables) CheckDepartment(ctx context.Context, actor access.Actor, id int64) error {
	if err := actor.RequireDepartment(id); err != nil {
		return err
	}
	dep, err := LoadDepartment(ctx, v.log, id)
	if err != nil {
		return fmt.Errorf("check department %d: %w", id, err)
	}
	if !dep.Exists || dep.Deleted {
		return domain.Invalid("department", "department %d does not exist", id)
	}
	return nil
}

// scope checks that actor may set a variable in in's scope and that the
// scope exists, and returns the department of in's feature (0 without
// one). Membership of the department is checked first and on its own: an
// actor outside it is refused (forbidden) before anything of it is read,
// whether it exists or which names it holds. The department must be live
// on its own stream, so one deleted a moment ago is refused although the
// read model may still list it; the environment and the feature are
// looked up in the read model. Every unknown part is named.
func (v *Variables) scope(ctx context.Context, actor access.Actor, in VariableInput) (int64, error) {
	if in.DepartmentID > 0 {
		if err := actor.RequireDepartment(in.DepartmentID); err != nil {
			return 0, err
		}
	}
	_, envOK, featDep, err := v.index.ScopeKnown(ctx, 0, in.EnvironmentID, in.FeatureID)
	if err != nil {
		return 0, err
	}
	var errs []error
	if in.DepartmentID != 0 {
		dep, err := LoadDepartment(ctx, v.log, in.DepartmentID)
		if err != nil {
			return 0, err
		}
		if !dep.Exists || dep.Deleted {
			errs = append(errs, domain.Invalid("department", "department %d does not exist", in.DepartmentID))
		}
	}
	if !envOK {
		errs = append(errs, domain.Invalid("environment", "environment %d does not exist", in.EnvironmentID))
	}
	if in.FeatureID > 0 && (featDep == 0 || !actor.InDepartment(featDep)) {
		errs = append(errs, domain.Invalid("feature", "feature %d does not exist", in.FeatureID))
		featDep = 0
	}
	return featDep, errors.Join(errs...)
}

// basedOf is the scope Set gives a variable whose Based is empty.
func basedOf(in VariableInput) string {
	switch {
	case in.Based != "":
		return in.Based
	case in.FeatureID > 0:
		return eventschemas.BasedFeature
	default:
		return eventschemas.BasedEnvironment
	}
}

// visible folds history and reports a variable that does not exist, was
// deleted, or is of a department the actor is not in as not found. So is
// a variable of a deleted department, for every actor (a SUPERUSER too):
// the department's stream says so, as the read model hides it, and a
// write to it would land where no list shows it and keep its name taken.
func (v *Variables) visible(ctx context.Context, actor access.Actor, id int64, history []Recorded) (
	variable.State, error) {
	s := variable.Fold(payloadsOf(history))
	if !s.Exists || s.Deleted || s.ID != id || !actor.InDepartment(s.DepartmentID) {
		return s, domain.NotFound("variable", id)
	}
	gone, err := departmentDeleted(ctx, v.log, s.DepartmentID)
	if err != nil {
		return s, err
	}
	if gone {
		return s, domain.NotFound("variable", id)
	}
	return s, nil
}
