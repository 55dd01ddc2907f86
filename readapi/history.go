package readapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/feature"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/projections"
)

// historyModel is the read model behind the history endpoints.
const historyModel = "feature_history"

// historyAPI serves a feature's history, its versions, the diff between
// two versions and restores. Versions are definition versions (the n-th
// FeatureSaved); history entries number every change, folder moves and
// schedule changes included (see projections.FeatureHistory).
type historyAPI struct {
	*api
	history  *projections.HistoryReader
	commands *commands.Features
}

func (a *api) historyAPI() *historyAPI {
	lib := projections.NewFeatureReader(a.Pool)
	return &historyAPI{api: a, history: projections.NewHistoryReader(a.Pool),
		commands: commands.NewFeatures(a.Log, a.IDs, a.Steps, lib)}
}

func (a *api) historyRoutes(r *routes) {
	h := a.historyAPI()
	r.get("/api/features/:feature_id/history/", h.list)
	r.get("/api/features/:feature_id/versions/", h.at)
	r.get("/api/features/:feature_id/versions/:version/", h.version)
	r.get("/api/features/:feature_id/diff/", h.diff)
	r.post("/api/features/:feature_id/restore/:version/", h.restore)
}

// fresh waits until the named read models have applied the log as it was
// when the request arrived, so that a read shows every write that was
// answered before it, whichever read models that write waited for.
func (a *api) fresh(ctx context.Context, models ...string) error {
	head, _, err := a.Log.Store().Head(ctx)
	if err != nil {
		return fmt.Errorf("read the head of the log: %w", err)
	}
	return a.settle(ctx, head, models...)
}

// feature returns the history of feature id when the caller may see it:
// view_feature and membership of the feature's (last) department. A
// deleted feature keeps its history; a feature of a deleted department
// does not, for any caller. Any other feature is not found.
func (h *historyAPI) feature(c *fiber.Ctx) (projections.HistoryFeature, error) {
	who := callerOf(c)
	if err := who.Require(string(role.ViewFeature)); err != nil {
		return projections.HistoryFeature{}, err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return projections.HistoryFeature{}, err
	}
	ctx := c.UserContext()
	if err := h.fresh(ctx, historyModel); err != nil {
		return projections.HistoryFeature{}, err
	}
	f, ok, err := h.history.Feature(ctx, id)
	if err != nil {
		return f, err
	}
	if !ok || f.DepartmentGone || !who.InDepartment(f.DepartmentID) {
		return f, domain.NotFound("feature", id)
	}
	return f, nil
}

// list is GET /backend/api/features/<id>/history/: every entry of the
// feature's history, oldest first.
func (h *historyAPI) list(c *fiber.Ctx) error {
	f, err := h.feature(c)
	if err != nil {
		return err
	}
	entries, err := h.history.Entries(c.UserContext(), f.FeatureID)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []projections.HistoryEntry{}
	}
	return c.JSON(fiber.Map{"feature_id": f.FeatureID, "version": f.Version, "deleted": f.Deleted,
		"results": entries})
}

// version is GET /backend/api/features/<id>/versions/<n>/: the feature
// and its steps as version n was saved.
func (h *historyAPI) version(c *fiber.Ctx) error {
	f, err := h.feature(c)
	if err != nil {
		return err
	}
	n, err := pathID(c, "version")
	if err != nil {
		return err
	}
	if n > int64(f.Version) {
		return fmt.Errorf("feature %d has versions 1 to %d, not %d: %w", f.FeatureID, f.Version, n,
			domain.ErrNotFound)
	}
	s, ok, err := h.history.Version(c.UserContext(), f.FeatureID, int(n))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("feature %d version %d: %w", f.FeatureID, n, domain.ErrNotFound)
	}
	return snapshotAnswer(c, s)
}

// at is GET /backend/api/features/<id>/versions/?at=<RFC 3339 time>: the
// feature as it was at that instant (after the last change at or before
// it). A time before the first version, or after the deletion, is 404.
func (h *historyAPI) at(c *fiber.Ctx) error {
	f, err := h.feature(c)
	if err != nil {
		return err
	}
	t, err := queryTime(c, "at")
	if err != nil {
		return err
	}
	if t.IsZero() {
		return domain.Invalid("at", "is required: an RFC 3339 time such as 2025-01-31T12:00:00Z")
	}
	s, ok, err := h.history.At(c.UserContext(), f.FeatureID, t)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		return fmt.Errorf("feature %d did not exist yet at %s: %w", f.FeatureID, t.Format(time.RFC3339Nano),
			domain.ErrNotFound)
	case s.Deleted:
		return fmt.Errorf("feature %d was deleted before %s: %w", f.FeatureID, t.Format(time.RFC3339Nano),
			domain.ErrNotFound)
	}
	return snapshotAnswer(c, s)
}

// snapshotAnswer writes a version: the feature as the feature endpoint
// shows it and its authored steps as the steps endpoint does.
func snapshotAnswer(c *fiber.Ctx, s projections.VersionSnapshot) error {
	view, err := s.FeatureJSON()
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"feature_id": s.FeatureID, "version": s.Version, "sequence": s.Sequence,
		"restored_from": s.RestoredFrom, "folder_id": s.FolderID, "feature": view, "steps": s.StepViews()})
}

// diffAnswer is the difference between two versions.
type diffAnswer struct {
	FeatureID int64                     `json:"feature_id"`
	From      int                       `json:"from"`
	To        int                       `json:"to"`
	Fields    []feature.FieldChange     `json:"fields"`
	Steps     []feature.StepChange      `json:"steps"`
	Summary   projections.ChangeSummary `json:"summary"`
}

func newDiffAnswer(id int64, from, to int, a, b feature.Definition) diffAnswer {
	c := feature.Diff(a, b)
	out := diffAnswer{FeatureID: id, From: from, To: to, Fields: c.Fields, Steps: c.Steps,
		Summary: projections.Summarize(c)}
	if out.Fields == nil {
		out.Fields = []feature.FieldChange{}
	}
	if out.Steps == nil {
		out.Steps = []feature.StepChange{}
	}
	return out
}

// diff is GET /backend/api/features/<id>/diff/?from=<a>&to=<b>: the
// field and step changes from version a to version b. to defaults to the
// latest version and from to the one before to; from 0 is the empty
// definition before version 1.
func (h *historyAPI) diff(c *fiber.Ctx) error {
	f, err := h.feature(c)
	if err != nil {
		return err
	}
	to, err := queryInt(c, "to", f.Version, 1)
	if err != nil {
		return err
	}
	from, err := queryInt(c, "from", to-1, 0)
	if err != nil {
		return err
	}
	if from > to {
		return domain.Invalid("from", "version %d is later than to (%d)", from, to)
	}
	if to > f.Version {
		return fmt.Errorf("feature %d has versions 1 to %d, not %d: %w", f.FeatureID, f.Version, to,
			domain.ErrNotFound)
	}
	var a, b feature.Definition
	ok := true
	if from == 0 {
		if a, b, ok, err = h.history.Definitions(c.UserContext(), f.FeatureID, to, to); err == nil {
			a = feature.Definition{}
		}
	} else {
		a, b, ok, err = h.history.Definitions(c.UserContext(), f.FeatureID, from, to)
	}
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("feature %d versions %d and %d: %w", f.FeatureID, from, to, domain.ErrNotFound)
	}
	return c.JSON(newDiffAnswer(f.FeatureID, from, to, a, b))
}

// restoreBody optionally names the version the client saw; the restore
// is refused (409) when the feature has moved on since.
type restoreBody struct {
	Version *int `json:"version"`
}

// restore is POST /backend/api/features/<id>/restore/<n>/: a new version
// equal to version n (needs edit_feature in the feature's department).
// Nothing is rewritten; restoring the version that is current appends
// nothing and answers changed false.
func (h *historyAPI) restore(c *fiber.Ctx) error {
	who := callerOf(c)
	if err := who.Require(string(role.EditFeature)); err != nil {
		return err
	}
	id, err := pathID(c, "feature_id")
	if err != nil {
		return err
	}
	n, err := pathID(c, "version")
	if err != nil {
		return err
	}
	if n > 1<<30 {
		return fmt.Errorf("feature %d version %d: %w", id, n, domain.ErrNotFound)
	}
	var body restoreBody
	if err := decodeBody(c, &body, decodeOptions{optional: true, strict: true}); err != nil {
		return err
	}
	expected := 0
	if body.Version != nil {
		if *body.Version < 1 {
			return domain.Invalid("version", "must be a version number (1 or more)")
		}
		expected = *body.Version
	}

	ctx := c.UserContext()
	saved, err := h.commands.Restore(ctx, h.meta(c), who.Actor, id, int(n), expected)
	if err != nil {
		return err
	}
	if err := h.settle(ctx, saved.Position, append([]string{historyModel}, featureModels...)...); err != nil {
		return err
	}
	return h.restored(c, id, int(n), saved)
}

// restored answers a restore of version n with the version it wrote (or,
// when nothing changed, the one that was in force), not the latest: a
// concurrent save may have overtaken it.
func (h *historyAPI) restored(c *fiber.Ctx, id int64, n int, saved commands.Saved) error {
	s, ok, err := h.history.Version(c.UserContext(), id, saved.Version)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("feature %d version %d: %w", id, saved.Version, domain.ErrNotFound)
	}
	view, err := s.FeatureJSON()
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "changed": saved.Changed, "version": s.Version, "restored_from": n,
		"info": json.RawMessage(view)})
}

// queryInt reads the integer query parameter name, def when absent; a
// value that is not an integer of at least least is a 400 naming it.
func queryInt(c *fiber.Ctx, name string, def, least int) (int, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	switch {
	case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(raw, "-"):
		return 0, domain.Invalid(name, "%s is too large: the maximum is %d", raw, math.MaxInt)
	case err != nil || n < least:
		return 0, domain.Invalid(name, "must be an integer of at least %d, got %q", least, raw)
	}
	return n, nil
}

// queryTime reads the RFC 3339 time query parameter name, the zero time
// when absent.
func queryTime(c *fiber.Ctx, name string) (time.Time, error) {
	raw := c.Query(name)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, domain.Invalid(name,
			"must be an RFC 3339 time such as 2025-01-31T12:00:00Z, got %q", raw)
	}
	return t, nil
}
