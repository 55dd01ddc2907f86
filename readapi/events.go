package readapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/projections"
)

// eventLogModel is the read model behind the event endpoints.
const eventLogModel = "event_log"

// eventAPI serves the raw events of the log for audits and run replays.
type eventAPI struct {
	*api
	events *projections.EventLogReader
	trend  *projections.TrendReader
}

func (a *api) eventAPI() *eventAPI {
	return &eventAPI{api: a, events: projections.NewEventLogReader(a.Pool),
		trend: projections.NewTrendReader(a.Pool)}
}

func (a *api) eventRoutes(r *routes) {
	h := a.eventAPI()
	r.get("/api/events/", h.list)
	r.get("/api/departments/:department_id/audit/", h.audit)
	r.get("/api/feature_results/:feature_result_id/events/", h.resultEvents)
}

// eventJSON is one event with its envelope, as the event endpoints and the
// live stream show it. data is the payload as stored, in schema_version.
type eventJSON struct {
	Seq           int64                   `json:"seq"`
	EventID       string                  `json:"event_id"`
	EventType     string                  `json:"event_type"`
	SchemaVersion int                     `json:"schema_version"`
	Stream        string                  `json:"stream"`
	Revision      int64                   `json:"revision"`
	Position      string                  `json:"position"`
	OccurredAt    time.Time               `json:"occurred_at"`
	Actor         string                  `json:"actor"`
	User          *projections.AccountRef `json:"user"`
	CorrelationID string                  `json:"correlation_id"`
	CausationID   string                  `json:"causation_id"`
	DepartmentIDs []int64                 `json:"department_ids"`
	Data          json.RawMessage         `json:"data"`
}

func toEventJSON(e projections.LoggedEvent) eventJSON {
	return eventJSON{Seq: e.Seq, EventID: e.EventID.String(), EventType: e.Type, SchemaVersion: e.SchemaVersion,
		Stream: e.Stream, Revision: e.Revision, Position: e.Position.String(), OccurredAt: e.OccurredAt.UTC(),
		Actor: e.Actor, User: e.User, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
		DepartmentIDs: e.Departments, Data: redacted(e.Type, e.Data)}
}

// redactedKeys are payload keys no event answer shows, by event type. A
// token's SHA-256 is what the server checks a bearer token against: not
// the token, but enough to recognise it or to test guesses offline, and
// nobody needs it to audit who was given a token when (token_id says
// which one).
var redactedKeys = map[string][]string{
	eventschemas.TypeTokenIssued: {"token_sha256"},
}

// redacted returns data without the keys redactedKeys names for typ.
// Data that is not a JSON object is returned as it is.
func redacted(typ string, data json.RawMessage) json.RawMessage {
	keys := redactedKeys[typ]
	if len(keys) == 0 {
		return data
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return data
	}
	for _, k := range keys {
		delete(fields, k)
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return data
	}
	return out
}

// eventParams are the query parameters of the event listings.
var eventParams = []string{"after", "size", "stream", "event_type", "actor", "correlation_id", "from", "to",
	"department_id"}

// eventFilter reads the listing's query parameters. Every problem is a
// 400 naming the parameter; an unknown parameter is one too, so that a
// misspelt filter does not silently list everything.
func eventFilter(c *fiber.Ctx) (projections.EventFilter, error) {
	f := projections.EventFilter{}
	var problems []error
	known := map[string]bool{}
	for _, p := range eventParams {
		known[p] = true
	}
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if !known[string(k)] {
			problems = append(problems, domain.Invalid(string(k), "unknown parameter; the filters are %s",
				strings.Join(eventParams, ", ")))
		}
	})
	after, err := queryInt(c, "after", 0, 0)
	if err != nil {
		problems = append(problems, err)
	}
	size, err := pageSize(c)
	if err != nil {
		problems = append(problems, err)
	}
	f.After, f.Limit = int64(after), size
	f.Streams = queryList(c, "stream")
	f.Types = queryList(c, "event_type")
	for _, name := range []string{"stream", "event_type"} {
		// Commas and spaces only would filter nothing and list everything.
		if c.Query(name) != "" && len(queryList(c, name)) == 0 {
			problems = append(problems, domain.Invalid(name, "names nothing; give one or more, separated by commas"))
		}
	}
	f.Actor = c.Query("actor")
	if n, err := strconv.ParseInt(f.Actor, 10, 64); err == nil && n > 0 {
		f.Actor = "account-" + f.Actor // an account id names its account
	}
	f.CorrelationID = c.Query("correlation_id")
	if f.From, err = queryTime(c, "from"); err != nil {
		problems = append(problems, err)
	}
	if f.To, err = queryTime(c, "to"); err != nil {
		problems = append(problems, err)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		problems = append(problems, domain.Invalid("to", "is before from"))
	}
	if raw := c.Query("department_id"); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id < 1 {
			problems = append(problems, domain.Invalid("department_id", "must be a positive integer, got %q", raw))
		}
		f.Departments = []int64{id}
	}
	f.Actor = string([]byte(f.Actor)) // c's buffers are reused
	f.CorrelationID = string([]byte(f.CorrelationID))
	if len(problems) > 0 {
		return f, joinInvalid(problems)
	}
	return f, nil
}

// queryList reads a comma-separated query parameter.
func queryList(c *fiber.Ctx, name string) []string {
	raw := c.Query(name)
	if raw == "" {
		return nil
	}
	var out []string
	for _, s := range strings.Split(raw, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, string([]byte(s)))
		}
	}
	return out
}

// requireSuperuser refuses every role but SUPERUSER.
func requireSuperuser(who Caller) error {
	if who.Role.Name != role.Superuser {
		return domain.Forbidden("only a SUPERUSER may do this")
	}
	return nil
}

// list is GET /backend/api/events/ (SUPERUSER): the raw events of the log
// with their envelopes, filtered and paged by seq (see eventPage).
func (h *eventAPI) list(c *fiber.Ctx) error {
	if err := requireSuperuser(callerOf(c)); err != nil {
		return err
	}
	f, err := eventFilter(c)
	if err != nil {
		return err
	}
	f.AllDepartments = len(f.Departments) == 0
	return h.page(c, f)
}

// audit is GET /backend/api/departments/<id>/audit/: the events of one
// department, for its members with view_accounts (and SUPERUSER), with
// the filters and paging of /api/events/. A department the caller is not
// a member of is 404, and so is one that was never created (its stream is
// read, not a read model). A deleted department is 404 to its former
// members, who are members no more, but a caller who sees all departments
// still reads its audit: the events are kept, and the deletion is what an
// audit is asked about.
func (h *eventAPI) audit(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewAccounts)); err != nil {
		return err
	}
	id, err := pathID(c, "department_id")
	if err != nil {
		return err
	}
	if !who.InDepartment(id) {
		return domain.NotFound("department", id)
	}
	dep, err := commands.LoadDepartment(c.UserContext(), h.Log, id)
	if err != nil {
		return err
	}
	if !dep.Exists || dep.Deleted && !who.SeesAllDepartments() {
		return domain.NotFound("department", id)
	}

	f, err := eventFilter(c)
	if err != nil {
		return err
	}
	if len(f.Departments) > 0 && f.Departments[0] != id {
		return domain.Invalid("department_id", "is %d, but the path names department %d", f.Departments[0], id)
	}
	f.Departments = []int64{id}
	return h.page(c, f)
}

// page answers one page of events: {"results": [...], "next": <link to
// the next page (see pageLink) or null>, "last_seq": <seq the next page
// starts after>}. An empty page (past the end, or nothing matches the
// filters after the after asked for) has next null and the log's last seq
// as last_seq: nothing up to there matches, so a client that goes on from
// it misses none of the events still to come and reads no event twice.
func (h *eventAPI) page(c *fiber.Ctx, f projections.EventFilter) error {
	ctx := c.UserContext()
	if err := h.fresh(ctx, eventLogModel); err != nil {
		return err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	list, err := h.events.Page(ctx, f)
	if err != nil {
		return err
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	out := make([]eventJSON, len(list))
	last := f.After
	for i, e := range list {
		out[i] = toEventJSON(e)
		last = e.Seq
	}
	if len(list) == 0 {
		head, err := h.events.LastSeq(ctx)
		if err != nil {
			return err
		}
		last = head
	}
	var next any
	if more {
		next = pageLink(c, "after", strconv.FormatInt(last, 10))
	}
	return c.JSON(fiber.Map{"results": out, "next": next, "last_seq": last})
}

// resultEvents is GET /backend/api/feature_results/<id>/events/: the run's
// events in log order (those of the run's stream, then of the result's,
// interleaved as they were appended), the timeline of its steps built from
// them, and for a failed result what changed since the feature last
// succeeded.
func (h *eventAPI) resultEvents(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := h.fresh(ctx, eventLogModel, trendModel, historyModel); err != nil {
		return err
	}
	res, ok, err := h.trend.Result(ctx, id)
	if err != nil {
		return err
	}
	deps, known, err := h.events.Scope(ctx, resultStream(id))
	if err != nil {
		return err
	}
	if !ok || !known || !visibleIn(who, deps) {
		return domain.NotFound("feature result", id)
	}

	// TODO(events): the whole run is read into one answer; a result with
	// very many steps (long loops) makes a large answer, with no paging.
	var events []projections.LoggedEvent
	f := projections.EventFilter{Streams: []string{runStream(res.RunID), resultStream(id)},
		AllDepartments: true, Limit: maxPageSize}
	for {
		page, err := h.events.Page(ctx, f)
		if err != nil {
			return err
		}
		events = append(events, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].Seq
	}
	tl, err := h.timeline(events)
	if err != nil {
		return err
	}
	changes, err := h.changedSinceLastSuccess(ctx, res)
	if err != nil {
		return err
	}
	out := make([]eventJSON, len(events))
	for i, e := range events {
		out[i] = toEventJSON(e)
	}
	return c.JSON(fiber.Map{"feature_result_id": id, "run_id": res.RunID, "feature_id": res.FeatureID,
		"feature_version": res.FeatureVersion, "status": tl.status, "results": out, "steps": tl.steps,
		"changed_since_last_success": changes})
}

// visibleIn reports whether the caller sees an object of the departments.
func visibleIn(who Caller, departments []int64) bool {
	if who.SeesAllDepartments() {
		return true
	}
	for _, d := range departments {
		if who.InDepartment(d) {
			return true
		}
	}
	return false
}

func resultStream(id int64) string { return "result-" + strconv.FormatInt(id, 10) }
func runStream(id int64) string    { return "run-" + strconv.FormatInt(id, 10) }

// sortedSeqs returns the keys of m in order.
func sortedSeqs[T any](m map[int]T) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// timelineStep is one executed step of a result as its events tell it.
type timelineStep struct {
	Sequence  int    `json:"sequence"`
	Index     int    `json:"index"`
	StepID    string `json:"step_id"`
	StepName  string `json:"step_name"`
	BelongsTo int64  `json:"belongs_to"`
	Status    string `json:"status"`
	Success   bool   `json:"success"`
	// ExecutionTime is in ms.
	ExecutionTime int64 `json:"execution_time"`
	// RecordedAt is when the runner recorded the step (its end).
	RecordedAt  time.Time         `json:"recorded_at"`
	Error       string            `json:"error"`
	PixelDiff   int64             `json:"pixel_diff"`
	Screenshots []timelineShot    `json:"screenshots"`
	Comparison  *timelineCompare  `json:"comparison"`
	Variables   map[string]string `json:"variables"`
}

// timelineShot is one image of a step: its content-hash name and role
// (current, template, difference, or "" for another screenshot).
type timelineShot struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// timelineCompare is a step's visual comparison.
type timelineCompare struct {
	Baseline  string  `json:"baseline"`
	Current   string  `json:"current"`
	Diff      string  `json:"diff"`
	PixelDiff int64   `json:"pixel_diff"`
	Threshold float64 `json:"threshold"`
	Failed    bool    `json:"failed"`
	Error     string  `json:"error"`
}

type timeline struct {
	steps  []timelineStep
	status string
}

// timeline replays a result's events into its steps: StepRecorded makes a
// step, ScreenshotTaken and ScreenshotCompared add to it, a user's
// StepStatusChanged and ScreenshotRemoved correct it, as the step results
// read model does; ResultFinished and ResultStatusChanged give the status.
func (h *eventAPI) timeline(events []projections.LoggedEvent) (timeline, error) {
	bySeq := map[int]*timelineStep{}
	var tl timeline
	reg := h.Log.Registry()
	for _, e := range events {
		p, err := reg.Decode(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			return tl, fmt.Errorf("replay %s@%d: %w", e.Stream, e.Revision, err)
		}
		switch ev := p.(type) {
		case *eventschemas.StepRecorded:
			st := &timelineStep{Sequence: ev.Sequence, Index: ev.Index, StepID: ev.StepID, StepName: ev.StepName,
				BelongsTo: ev.BelongsTo, Status: ev.Status, Success: ev.Success, ExecutionTime: ev.ExecutionTimeMS,
				RecordedAt: e.OccurredAt.UTC(), Error: ev.Error, PixelDiff: ev.PixelDiff,
				Screenshots: []timelineShot{}, Variables: ev.Variables}
			if st.Variables == nil {
				st.Variables = map[string]string{}
			}
			roles := map[string]string{ev.Current: "current", ev.Template: "template", ev.Difference: "difference"}
			for _, name := range ev.Screenshots {
				st.Screenshots = append(st.Screenshots, timelineShot{Name: name, Role: roles[name]})
			}
			bySeq[ev.Sequence] = st
		case *eventschemas.ScreenshotTaken:
			if st := bySeq[ev.Sequence]; st != nil {
				st.addShot(ev.Name, ev.Width, ev.Height)
			}
		case *eventschemas.ScreenshotCompared:
			if st := bySeq[ev.Sequence]; st != nil {
				st.Comparison = &timelineCompare{Baseline: ev.Baseline, Current: ev.Current, Diff: ev.Diff,
					PixelDiff: ev.PixelDiff, Threshold: ev.Threshold, Failed: ev.Failed, Error: ev.Error}
			}
		case *eventschemas.StepStatusChanged:
			if st := bySeq[ev.Sequence]; st != nil {
				st.Status, st.Success = ev.Status, ev.Success
			}
		case *eventschemas.ScreenshotRemoved:
			if st := bySeq[ev.Sequence]; st != nil {
				st.Screenshots = slices.DeleteFunc(st.Screenshots, func(s timelineShot) bool { return s.Name == ev.Name })
			}
		case *eventschemas.ResultFinished:
			tl.status = ev.Status
		case *eventschemas.ResultStatusChanged:
			tl.status = ev.Status
		}
	}
	tl.steps = make([]timelineStep, 0, len(bySeq))
	for _, seq := range sortedSeqs(bySeq) {
		tl.steps = append(tl.steps, *bySeq[seq])
	}
	return tl, nil
}

// addShot records an image's size, adding the image when the step did
// not list it.
func (st *timelineStep) addShot(name string, w, h int) {
	for i := range st.Screenshots {
		if st.Screenshots[i].Name == name {
			st.Screenshots[i].Width, st.Screenshots[i].Height = w, h
			return
		}
	}
	st.Screenshots = append(st.Screenshots, timelineShot{Name: name, Width: w, Height: h})
}
