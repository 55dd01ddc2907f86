package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/domain/account"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/domain/run"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/eventstore"
)

// The id kinds of runs ("run-<id>") and feature results ("result-<id>").
const (
	RunKind    = "run"
	ResultKind = "result"
)

// DefaultBrowser is the browser of a feature that lists none: the local
// Chromium, in Cometa's browser object form.
var DefaultBrowser = json.RawMessage(`{"os":"Generic","cloud":"local","device":null,"browser":"chrome",` +
	`"os_version":"Debian","real_mobile":false,"browser_version":"latest"}`)

// RunVariableSource lists the live variables a run of a feature may see:
// the department's variables based "department", those of the department
// and environment based "environment", and the feature's based
// "feature". Encrypted values are ciphertext. The variables read model
// implements it; it may lag the log.
type RunVariableSource interface {
	RunVariables(ctx context.Context, department, environment, feature int64) ([]eventschemas.RunVariable, error)
}

// RunningResults finds the feature results of a feature that have not
// finished (queued or running). The run queue read model implements it.
type RunningResults interface {
	Unfinished(ctx context.Context, featureID int64) ([]run.Ref, error)
}

// Runs carries out the run commands: request a run, claim and execute its
// results (Held), kill them, end those whose runner died, and record
// baselines.
type Runs struct {
	log     *Log
	ids     *IDs
	lib     FeatureLibrary
	vars    RunVariableSource
	running RunningResults
	browser json.RawMessage
}

// RunsConfig holds what the run commands read besides the log.
type RunsConfig struct {
	// Library resolves sub-features when a run expands its feature.
	Library FeatureLibrary
	// Variables lists the variables a run snapshots.
	Variables RunVariableSource
	// Running finds a feature's unfinished results for KillFeature.
	Running RunningResults
	// DefaultBrowser replaces DefaultBrowser when set.
	DefaultBrowser json.RawMessage
}

// NewRuns returns the run commands.
func NewRuns(log *Log, ids *IDs, cfg RunsConfig) *Runs {
	b := cfg.DefaultBrowser
	if len(b) == 0 {
		b = DefaultBrowser
	}
	return &Runs{log: log, ids: ids, lib: cfg.Library, vars: cfg.Variables, running: cfg.Running, browser: b}
}

// RunInput is a request to run a feature.
type RunInput struct {
	FeatureID int64
	// Parameters are job parameters (%name in steps), e.g. a schedule's.
	Parameters map[string]string
	// Key makes the request idempotent: a second request with the same
	// non-nil Key starts nothing and returns the first run. Scheduled runs
	// set it; API requests leave it nil.
	Key uuid.UUID
}

// RunRequestResult is a requested run.
type RunRequestResult struct {
	RunID int64
	// ResultIDs are the feature results of the run, one per browser, in
	// the feature's browser order.
	ResultIDs []int64
	// Position is where RunRequested landed in the log.
	Position eventstore.Position
}

// Request starts a run of a feature: it checks that the feature exists in
// one of the actor's departments (else domain.ErrNotFound) and that the
// actor may run_feature (domain.ErrForbidden), pins the feature's current
// version and its executed step list (sub-features inlined; none is
// domain.ErrInvalid with run.NoStepsMessage), snapshots the variables with
// precedence feature > environment > department, reserves one feature
// result per browser (the local Chromium when the feature lists none) and
// appends RunRequested. A refused request appends nothing.
func (r *Runs) Request(ctx context.Context, meta Meta, actor access.Actor, in RunInput) (RunRequestResult, error) {
	req, err := r.prepare(ctx, meta, actor, in)
	if err != nil {
		return RunRequestResult{}, fmt.Errorf("request run of feature %d: %w", in.FeatureID, err)
	}
	if in.Key != uuid.Nil {
		out, err := r.requestKeyed(ctx, meta, in.Key, req)
		if err != nil {
			return out, fmt.Errorf("request run of feature %d: %w", in.FeatureID, err)
		}
		return out, nil
	}
	results, err := r.allocate(ctx, meta, req)
	if err != nil {
		return RunRequestResult{}, fmt.Errorf("request run of feature %d: %w", in.FeatureID, err)
	}
	id, res, err := r.ids.Create(ctx, RunKind, meta, func(id int64) ([]eventschemas.Payload, error) {
		return run.State{}.Decide(run.Request{Run: withRun(req, id, results)})
	})
	if err != nil {
		return RunRequestResult{}, fmt.Errorf("request run of feature %d: %w", in.FeatureID, err)
	}
	return RunRequestResult{RunID: id, ResultIDs: resultIDs(results), Position: res.Position}, nil
}

// prepare builds the RunRequested of a request, without run id and
// feature result ids: everything checked, nothing appended.
func (r *Runs) prepare(ctx context.Context, meta Meta, actor access.Actor, in RunInput) (eventschemas.RunRequested, error) {
	history, _, err := r.log.Load(ctx, feature.Stream(in.FeatureID))
	if err != nil {
		return eventschemas.RunRequested{}, err
	}
	s := feature.Fold(payloadsOf(history))
	def := s.Current()
	if !s.Exists || s.Deleted || s.ID != in.FeatureID || !actor.InDepartment(def.DepartmentID) {
		return eventschemas.RunRequested{}, domain.NotFound("feature", in.FeatureID)
	}
	// A deleted department's features are gone for every caller, a
	// SUPERUSER too, as the read models show them.
	gone, err := departmentDeleted(ctx, r.log, def.DepartmentID)
	if err != nil {
		return eventschemas.RunRequested{}, err
	}
	if gone {
		return eventschemas.RunRequested{}, domain.NotFound("feature", in.FeatureID)
	}
	if err := actor.Require(string(role.RunFeature)); err != nil {
		return eventschemas.RunRequested{}, err
	}
	// The run carries the catalogue's names as they are now, not those of
	// the version's save: a rename since does not save the feature.
	if err := currentNames(ctx, r.log, &def); err != nil {
		return eventschemas.RunRequested{}, err
	}

	if r.lib == nil || r.vars == nil {
		return eventschemas.RunRequested{}, errors.New("the run commands have no feature library or variable source")
	}
	lib, err := r.lib.Library(ctx, def.DepartmentID, def.Steps)
	if err != nil {
		return eventschemas.RunRequested{}, err
	}
	expanded, err := feature.Expand(in.FeatureID, def.Steps, lib)
	if err != nil {
		return eventschemas.RunRequested{}, err
	}
	executed := feature.Executed(expanded)
	if len(executed) == 0 {
		return eventschemas.RunRequested{}, domain.Invalid("steps", run.NoStepsMessage)
	}
	// TODO(runs): Cometa also continues on failure when the department's
	// or the requesting user's settings say so; those settings are raw JSON
	// in their events and not read here yet.
	steps := make([]eventschemas.RunStep, len(executed))
	for i, st := range executed {
		steps[i] = eventschemas.RunStep{StepID: st.StepID, BelongsTo: st.BelongsTo, Position: st.Position,
			Keyword: st.Keyword, Content: st.Content, Type: st.Type, Screenshot: st.Screenshot,
			Compare: st.Compare, ContinueOnFailure: st.ContinueOnFailure || def.ContinueOnFailure,
			Timeout: st.Timeout}
	}

	vars, err := r.vars.RunVariables(ctx, def.DepartmentID, def.EnvironmentID, in.FeatureID)
	if err != nil {
		return eventschemas.RunRequested{}, err
	}
	params := make(map[string]string, len(in.Parameters))
	for k, v := range in.Parameters {
		params[k] = v
	}
	return eventschemas.RunRequested{
		FeatureID: in.FeatureID, FeatureVersion: s.Version(), FeatureName: def.FeatureName,
		Description: def.Description, AppID: def.AppID, AppName: def.AppName,
		EnvironmentID: def.EnvironmentID, EnvironmentName: def.EnvironmentName,
		DepartmentID: def.DepartmentID, DepartmentName: def.DepartmentName,
		Steps: steps, Results: browsersOf(def.Browsers, r.browser), Variables: precedence(vars),
		Parameters: params, RequestedBy: actor.AccountID, RequestedAt: meta.Now.UTC(),
	}, nil
}

// browsersOf returns one result per browser object of a feature's browser
// list (feature result ids still 0), or one with the default browser. A
// list that is not an array of objects was refused when the feature was
// saved; what does not decode here is left to run.Request to refuse.
func browsersOf(list json.RawMessage, def json.RawMessage) []eventschemas.RunResult {
	var browsers []json.RawMessage
	if err := json.Unmarshal(list, &browsers); err != nil || len(browsers) == 0 {
		return []eventschemas.RunResult{{Browser: def}}
	}
	out := make([]eventschemas.RunResult, len(browsers))
	for i, b := range browsers {
		out[i] = eventschemas.RunResult{Browser: b}
	}
	return out
}

// precedence keeps one variable per name: a feature-based one over an
// environment-based one over a department-based one; within a scope the
// lowest variable id. The result is ordered by name.
func precedence(vars []eventschemas.RunVariable) []eventschemas.RunVariable {
	rank := map[string]int{eventschemas.BasedDepartment: 1, eventschemas.BasedEnvironment: 2,
		eventschemas.BasedFeature: 3}
	best := map[string]eventschemas.RunVariable{}
	for _, v := range vars {
		old, ok := best[v.Name]
		if !ok || rank[v.Based] > rank[old.Based] || (rank[v.Based] == rank[old.Based] && v.VariableID < old.VariableID) {
			best[v.Name] = v
		}
	}
	out := make([]eventschemas.RunVariable, 0, len(best))
	for _, v := range best {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b eventschemas.RunVariable) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// allocate reserves one feature result id per browser of req.
func (r *Runs) allocate(ctx context.Context, meta Meta, req eventschemas.RunRequested) ([]eventschemas.RunResult, error) {
	out := make([]eventschemas.RunResult, len(req.Results))
	for i, res := range req.Results {
		id, _, err := r.ids.Create(ctx, ResultKind, meta, func(id int64) ([]eventschemas.Payload, error) {
			return run.Result{}.Decide(run.Allocate{ID: id, FeatureID: req.FeatureID})
		})
		if err != nil {
			return nil, fmt.Errorf("reserve a feature result: %w", err)
		}
		out[i] = eventschemas.RunResult{FeatureResultID: id, Browser: res.Browser}
	}
	return out, nil
}

func withRun(req eventschemas.RunRequested, id int64, results []eventschemas.RunResult) eventschemas.RunRequested {
	req.RunID = id
	req.Results = results
	return req
}

func resultIDs(results []eventschemas.RunResult) []int64 {
	out := make([]int64, len(results))
	for i, r := range results {
		out[i] = r.FeatureResultID
	}
	return out
}

// LoadedRun is a run with the envelope of its RunRequested (position,
// correlation id, actor).
type LoadedRun struct {
	run.State
	Envelope eventstore.Event
}

// LoadRun returns run id as its stream makes it; a run that was never
// requested is domain.ErrNotFound.
func (r *Runs) LoadRun(ctx context.Context, id int64) (LoadedRun, error) {
	history, _, err := r.log.Load(ctx, run.Stream(id))
	if err != nil {
		return LoadedRun{}, fmt.Errorf("load run %d: %w", id, err)
	}
	s := run.Fold(payloadsOf(history))
	if !s.Exists {
		return LoadedRun{}, fmt.Errorf("load run %d: %w", id, domain.NotFound("run", id))
	}
	return LoadedRun{State: s, Envelope: history[0].Event}, nil
}

// AccountActor returns the actor of account id as its stream makes it (the
// owner of a schedule, say); id 0 is the service actor. A deleted or
// unknown account is domain.ErrNotFound. The actor's departments leave out
// those deleted since the account joined them, read from their own
// streams, so a deleted department's members act in it no more.
func (r *Runs) AccountActor(ctx context.Context, id int64) (access.Actor, error) {
	if id == 0 {
		return access.Service(), nil
	}
	history, _, err := r.log.Load(ctx, account.Stream(id))
	if err != nil {
		return access.Actor{}, fmt.Errorf("load account %d: %w", id, err)
	}
	s := account.Fold(payloadsOf(history))
	if !s.Exists || s.Deleted {
		return access.Actor{}, domain.NotFound("account", id)
	}
	departments, err := liveDepartments(ctx, r.log, s.Departments)
	if err != nil {
		return access.Actor{}, fmt.Errorf("account %d: %w", id, err)
	}
	return access.Account(id, s.Role, departments)
}

// LoadResult returns feature result id as its stream makes it, with the
// stream's last revision; a result never allocated is domain.ErrNotFound.
func (r *Runs) LoadResult(ctx context.Context, id int64) (run.Result, uint64, error) {
	history, _, err := r.log.Load(ctx, run.ResultStream(id))
	if err != nil {
		return run.Result{}, 0, fmt.Errorf("load feature result %d: %w", id, err)
	}
	s := run.FoldResult(payloadsOf(history))
	if !s.Allocated {
		return s, 0, fmt.Errorf("load feature result %d: %w", id, domain.NotFound("feature result", id))
	}
	return s, history[len(history)-1].Revision, nil
}
