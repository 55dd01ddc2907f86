package readapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/eventstore"
	"github.com/cometa-es/cometa/runner/screenshots"
)

// screenshotCache is the Cache-Control of a rendition: a name is the hash
// of its content, so what it names never changes; private because it is
// served to authenticated callers only.
const screenshotCache = "private, max-age=31536000, immutable"

func (a *api) screenshotRoutes(r *routes) {
	h := a.runAPI()
	r.get("/screenshots/:step_result_id/", h.listScreenshots)
	// The name is taken from the rest of the path, so that a name with a
	// separator or a dot segment reaches the handler and is refused as a
	// bad name (400) instead of missing a route.
	r.get("/screenshot/*", h.screenshot)
	r.get("/removeScreenshot/*", h.removeScreenshotByName)
	r.post("/removeScreenshot/", h.removeScreenshotOfStep)
}

// store returns the screenshot store, or a 503 when none is configured.
func (h *runAPI) store() (*screenshots.Store, error) {
	if h.Screenshots == nil {
		return nil, fmt.Errorf("no screenshot store is configured: %w", eventstore.ErrUnavailable)
	}
	return h.Screenshots, nil
}

// nameParam is the screenshot name of a wildcard route, without the
// optional trailing slash, validated. The name is percent-decoded first, so
// a refusal shows what was meant ("../x", not "..%2Fx").
func nameParam(c *fiber.Ctx) (string, error) {
	name := strings.TrimSuffix(c.Params("*"), "/")
	if decoded, err := url.PathUnescape(name); err == nil {
		name = decoded
	}
	if err := screenshots.ValidName(name); err != nil {
		return "", err
	}
	return strings.Clone(name), nil
}

// listScreenshots is GET /backend/screenshots/<step_result_id>/: the
// names of the step result's images as a JSON array (current, baseline,
// difference).
func (h *runAPI) listScreenshots(c *fiber.Ctx) error {
	id, err := pathID(c, "step_result_id")
	if err != nil {
		return err
	}
	s, err := h.findStep(c.UserContext(), callerOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(s.Screenshots)
}

// visibleImage is the condition that $3 names an image of a live step
// result, or a baseline, of a feature the caller may see ($1, $2 as in
// visibleResult).
const visibleImage = `(EXISTS (SELECT 1 FROM rm_runs.screenshots x
		JOIN rm_runs.step_results s ON s.step_result_id = x.step_result_id
		JOIN rm_runs.results r ON r.feature_result_id = s.feature_result_id
		LEFT JOIN rm_runs.features f ON f.feature_id = r.feature_id
		WHERE x.name = $3 AND NOT x.removed AND NOT r.removed AND ` + visibleResult + `)
	OR EXISTS (SELECT 1 FROM rm_runs.baselines b JOIN rm_runs.features f ON f.feature_id = b.feature_id
		WHERE b.name = $3 AND NOT f.deleted AND ($1 OR f.department_id = ANY($2))))`

// screenshot is GET /backend/screenshot/<name>/: the image compressed at
// quality 70, as WebP or JPEG by Accept (see screenshots.Negotiate). The
// rendition is converted once and kept; its ETag comes from the content
// hash, so a client revalidating gets a 304.
//
// TODO(screenshots): the bearer token is required, which an <img src> of
// a browser UI cannot send; a short-lived signed URL (or a cookie) would
// let Cometa's UI show images directly.
func (h *runAPI) screenshot(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	store, err := h.store()
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	who := callerOf(c)
	var ok bool
	if err := h.Pool.QueryRow(ctx, `SELECT `+visibleImage, who.SeesAllDepartments(), nonNil(who.Departments),
		name).Scan(&ok); err != nil {
		return fmt.Errorf("look up screenshot %q: %w", name, err)
	}
	if !ok {
		return fmt.Errorf("screenshot %q: %w", name, domain.ErrNotFound)
	}

	format := screenshots.Negotiate(c.Get(fiber.HeaderAccept))
	r, err := store.Rendition(ctx, name, format)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderVary, fiber.HeaderAccept)
	c.Set(fiber.HeaderCacheControl, screenshotCache)
	c.Set(fiber.HeaderETag, r.ETag)
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && etagMatches(match, r.ETag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	f, err := os.Open(r.Path)
	if err != nil {
		return fmt.Errorf("open rendition of %q: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, format.ContentType())
	return c.SendStream(f, int(r.Size))
}

// etagMatches reports whether an If-None-Match header names tag (or is *).
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

// imageRef is one step result holding an image.
type imageRef struct {
	resultID int64
	sequence int
	running  bool
}

// removeScreenshotByName is the seed's GET /backend/removeScreenshot/<name>/:
// the image is taken off every step result of the caller's departments
// that has it (one ScreenshotRemoved each), and the file is deleted once
// nothing refers to it any more. It needs remove_screenshot; a reference
// in a running result refuses the whole request.
func (h *runAPI) removeScreenshotByName(c *fiber.Ctx) error {
	name, err := nameParam(c)
	if err != nil {
		return err
	}
	store, err := h.store()
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	who := callerOf(c)
	if err := h.catchUp(ctx, runsModels...); err != nil {
		return err
	}
	rows, err := h.Pool.Query(ctx, `SELECT s.feature_result_id, s.sequence, r.running
		FROM rm_runs.screenshots x JOIN rm_runs.step_results s ON s.step_result_id = x.step_result_id
		JOIN rm_runs.results r ON r.feature_result_id = s.feature_result_id
		LEFT JOIN rm_runs.features f ON f.feature_id = r.feature_id
		WHERE x.name = $3 AND NOT x.removed AND NOT r.removed AND `+visibleResult+`
		ORDER BY s.step_result_id`, who.SeesAllDepartments(), nonNil(who.Departments), name)
	if err != nil {
		return fmt.Errorf("find screenshot %q: %w", name, err)
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (imageRef, error) {
		var ref imageRef
		err := r.Scan(&ref.resultID, &ref.sequence, &ref.running)
		return ref, err
	})
	if err != nil {
		return fmt.Errorf("find screenshot %q: %w", name, err)
	}
	if len(refs) == 0 {
		return fmt.Errorf("screenshot %q: %w", name, domain.ErrNotFound)
	}
	if err := who.Require(string(role.RemoveScreenshot)); err != nil {
		return err
	}
	for _, ref := range refs {
		if ref.running {
			return domain.Conflict("screenshot %q belongs to feature result %d, which is still running", name, ref.resultID)
		}
	}
	// The results of a deleted department no longer change: they keep
	// the image (and so its file), and the others lose it.
	refs, err = h.correctable(ctx, refs)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return fmt.Errorf("screenshot %q: only results of deleted departments have it: %w", name,
			domain.ErrNotFound)
	}

	meta := h.meta(c)
	var last eventstore.Position
	for _, ref := range refs {
		res, err := h.results.RemoveScreenshot(ctx, meta, who.Actor, ref.resultID, ref.sequence, name)
		if err != nil {
			return err
		}
		last = res.Position
	}
	if err := h.settle(ctx, last, runsModels...); err != nil {
		return err
	}
	deleted, err := h.deleteIfUnused(ctx, store, name)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "removed": len(refs), "file_deleted": deleted})
}

// correctable returns refs without the results that can no longer be
// corrected (see commands.RunResults.Correctable).
func (h *runAPI) correctable(ctx context.Context, refs []imageRef) ([]imageRef, error) {
	out := refs[:0:0]
	for _, ref := range refs {
		err := h.results.Correctable(ctx, ref.resultID)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

// removeScreenshotBody is Cometa's POST /backend/removeScreenshot/.
type removeScreenshotBody struct {
	StepResultID int64  `json:"step_result_id"`
	Type         string `json:"type"`
}

// removeScreenshotOfStep is Cometa's POST /backend/removeScreenshot/: the
// image of one kind (current, style, difference, template) is taken off
// one step result; the file is deleted once nothing refers to it.
func (h *runAPI) removeScreenshotOfStep(c *fiber.Ctx) error {
	var body removeScreenshotBody
	if err := decodeBody(c, &body, decodeOptions{}); err != nil {
		return err
	}
	var problems []error
	if body.StepResultID <= 0 {
		problems = append(problems, domain.Invalid("step_result_id", "is required"))
	}
	switch body.Type {
	case "current", "style", "difference", "template":
	default:
		problems = append(problems, domain.Invalid("type", "must be current, style, difference or template, not %q",
			body.Type))
	}
	if len(problems) > 0 {
		return joinInvalid(problems)
	}
	store, err := h.store()
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	who := callerOf(c)
	s, err := h.findStep(ctx, who, body.StepResultID)
	if err != nil {
		return err
	}
	name := map[string]string{"current": s.ScreenshotCurrent, "style": s.ScreenshotStyle,
		"difference": s.ScreenshotDifference, "template": s.ScreenshotTemplate}[body.Type]
	if name == "" {
		return fmt.Errorf("Screenshot filename not found with key: %s: %w", body.Type, domain.ErrNotFound)
	}
	res, err := h.results.RemoveScreenshot(ctx, h.meta(c), who.Actor, s.FeatureResultID, s.StepExecutionSequence, name)
	if err != nil {
		return err
	}
	if err := h.settle(ctx, res.Position, runsModels...); err != nil {
		return err
	}
	deleted, err := h.deleteIfUnused(ctx, store, name)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"success": true, "removed": 1, "file_deleted": deleted})
}

// deleteIfUnused deletes the file of name when no step result (of any
// department) and no baseline refers to it any more.
//
// TODO(screenshots): the check and the deletion are not atomic with a
// runner storing the same image again at that moment (identical bytes
// give the same name); that step would then name a missing file. A
// sweep of unreferenced files after a grace period would close this.
func (h *runAPI) deleteIfUnused(ctx context.Context, store *screenshots.Store, name string) (bool, error) {
	var used bool
	err := h.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_runs.screenshots WHERE name = $1 AND NOT removed)
		OR EXISTS (SELECT 1 FROM rm_runs.baselines WHERE name = $1)`, name).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("references of screenshot %q: %w", name, err)
	}
	if used {
		return false, nil
	}
	if err := store.Remove(name); err != nil && !errors.Is(err, domain.ErrNotFound) {
		return false, err
	}
	return true, nil
}
