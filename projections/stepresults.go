package projections

import (
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/eventschemas"
)

// Screenshot roles in rm_runs.screenshots, in the order a step result
// lists its images (Cometa's current, style, difference).
const (
	ShotCurrent    = "current"
	ShotTemplate   = "template"
	ShotDifference = "difference"
	ShotOther      = "other"
)

// queueStepRecorded inserts the step result and adds it to its result's
// totals in one statement: the totals move only when the row was new, so
// the two can never disagree. relative_execution_time is the previous
// step's (by sequence) plus this one's execution time.
func queueStepRecorded(b *pgx.Batch, e *eventschemas.StepRecorded) error {
	vars := e.Variables
	if vars == nil {
		vars = map[string]string{}
	}
	varsJSON, err := json.Marshal(vars)
	if err != nil {
		return fmt.Errorf("encode variables of result %d step %d: %w", e.FeatureResultID, e.Sequence, err)
	}
	b.Queue(`WITH ins AS (
			INSERT INTO step_results (step_result_id, feature_result_id, sequence, step_index, step_id, step_name,
				belongs_to, status, success, execution_time, relative_execution_time, error, pixel_diff,
				screenshot_current, screenshot_difference, screenshot_template, variables)
			SELECT (SELECT coalesce(max(step_result_id), 0) + 1 FROM step_results), $1, $2, $3, $4, $5, $6, $7, $8,
				$9::bigint, coalesce((SELECT p.relative_execution_time FROM step_results p
					WHERE p.feature_result_id = $1 AND p.sequence < $2 ORDER BY p.sequence DESC LIMIT 1), 0) + $9,
				$10, $11, $12, $13, $14, $15::jsonb
			ON CONFLICT (feature_result_id, sequence) DO NOTHING
			RETURNING feature_result_id, status, execution_time, pixel_diff)
		UPDATE results r SET recorded = r.recorded + 1,
			ok = r.ok + (ins.status <> 'Failed')::int, fails = r.fails + (ins.status = 'Failed')::int,
			execution_time = r.execution_time + ins.execution_time, pixel_diff = r.pixel_diff + ins.pixel_diff
		FROM ins WHERE r.feature_result_id = ins.feature_result_id`,
		e.FeatureResultID, e.Sequence, e.Index, e.StepID, e.StepName, e.BelongsTo, e.Status, e.Success,
		e.ExecutionTimeMS, e.Error, e.PixelDiff, e.Current, e.Difference, e.Template, string(varsJSON))

	names, roles := stepImages(e)
	if len(names) > 0 {
		b.Queue(`INSERT INTO screenshots (step_result_id, name, role, position)
			SELECT s.step_result_id, x.name, x.role, x.ord
			FROM step_results s, unnest($3::text[], $4::text[]) WITH ORDINALITY AS x(name, role, ord)
			WHERE s.feature_result_id = $1 AND s.sequence = $2
			ON CONFLICT (step_result_id, name) DO NOTHING`, e.FeatureResultID, e.Sequence, names, roles)
	}
	queueResultRunTotals(b, e.FeatureResultID)
	return nil
}

// stepImages lists the images of a step, each once: the current
// screenshot, the baseline it was compared with, the difference image,
// then any other the runner stored.
func stepImages(e *eventschemas.StepRecorded) (names, roles []string) {
	seen := map[string]bool{}
	add := func(name, role string) {
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		names, roles = append(names, name), append(roles, role)
	}
	add(e.Current, ShotCurrent)
	add(e.Template, ShotTemplate)
	add(e.Difference, ShotDifference)
	for i, name := range e.Screenshots {
		role := ShotOther
		if i == 0 && e.Current == "" {
			role = ShotCurrent
		}
		add(name, role)
	}
	return names, roles
}

// queueScreenshotTaken records an image's size. An image the StepRecorded
// did not list is added to its step result, as the current screenshot
// when the step has none.
func queueScreenshotTaken(b *pgx.Batch, e *eventschemas.ScreenshotTaken) {
	b.Queue(`UPDATE step_results SET screenshot_current = $3
		WHERE feature_result_id = $1 AND sequence = $2 AND screenshot_current = ''
			AND NOT EXISTS (SELECT 1 FROM screenshots x WHERE x.step_result_id = step_results.step_result_id
				AND x.name = $3)`, e.FeatureResultID, e.Sequence, e.Name)
	b.Queue(`INSERT INTO screenshots (step_result_id, name, role, position, width, height)
		SELECT s.step_result_id, $3, CASE WHEN s.screenshot_current = $3 THEN $6 ELSE $7 END,
			coalesce((SELECT max(position) FROM screenshots x WHERE x.step_result_id = s.step_result_id), 0) + 1,
			$4, $5
		FROM step_results s WHERE s.feature_result_id = $1 AND s.sequence = $2
		ON CONFLICT (step_result_id, name) DO UPDATE SET width = excluded.width, height = excluded.height`,
		e.FeatureResultID, e.Sequence, e.Name, e.Width, e.Height, ShotCurrent, ShotOther)
}

// queueScreenshotCompared records a comparison on its step result: the
// baseline as Cometa's "style" image (and the template when the step did
// not name one), the difference image, and a comparison that could not be
// made.
func queueScreenshotCompared(b *pgx.Batch, e *eventschemas.ScreenshotCompared) {
	b.Queue(`UPDATE step_results SET screenshot_style = $3,
			screenshot_template = CASE WHEN screenshot_template = '' THEN $3 ELSE screenshot_template END,
			screenshot_difference = CASE WHEN screenshot_difference = '' THEN $4 ELSE screenshot_difference END,
			compare_failed = $5, compare_error = $6
		WHERE feature_result_id = $1 AND sequence = $2`,
		e.FeatureResultID, e.Sequence, e.Baseline, e.Diff, e.Failed, e.Error)
	for _, img := range []struct{ name, role string }{{e.Baseline, ShotTemplate}, {e.Diff, ShotDifference}} {
		if img.name == "" {
			continue
		}
		b.Queue(`INSERT INTO screenshots (step_result_id, name, role, position)
			SELECT s.step_result_id, $3, $4, coalesce((SELECT max(position) FROM screenshots x
				WHERE x.step_result_id = s.step_result_id), 0) + 1
			FROM step_results s WHERE s.feature_result_id = $1 AND s.sequence = $2
			ON CONFLICT (step_result_id, name) DO NOTHING`, e.FeatureResultID, e.Sequence, img.name, img.role)
	}
	if e.Baseline != "" {
		b.Queue(`UPDATE screenshots sc SET width = $4, height = $5 FROM step_results s
			WHERE s.feature_result_id = $1 AND s.sequence = $2 AND sc.step_result_id = s.step_result_id
				AND sc.name = $3 AND sc.width = 0`,
			e.FeatureResultID, e.Sequence, e.Baseline, e.BaselineWidth, e.BaselineHeight)
	}
}

// queueBaselineRecorded keeps the baseline of a compare step. The first
// one recorded for a key stays, as in the domain.
func queueBaselineRecorded(b *pgx.Batch, e *eventschemas.BaselineRecorded) {
	b.Queue(`INSERT INTO baselines (feature_id, key, name, step_id, occurrence, browser_key, width, height,
			feature_result_id, sequence)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (feature_id, key) DO NOTHING`,
		e.FeatureID, e.Key, e.Name, e.StepID, e.Occurrence, e.BrowserKey, e.Width, e.Height,
		e.FeatureResultID, e.Sequence)
}

// queueStepStatusChanged overrides a step's status and recounts its
// result: ok and fails from the steps, success as Cometa recomputes it
// (no failed step; a canceled result stays unsuccessful). The result's
// status is left as it was.
func queueStepStatusChanged(b *pgx.Batch, e *eventschemas.StepStatusChanged) {
	b.Queue(`UPDATE step_results SET status = $3, success = $4 WHERE feature_result_id = $1 AND sequence = $2`,
		e.FeatureResultID, e.Sequence, e.Status, e.Success)
	b.Queue(`UPDATE results r SET (ok, fails) = (
			SELECT count(*) FILTER (WHERE s.status <> 'Failed'), count(*) FILTER (WHERE s.status = 'Failed')
			FROM step_results s WHERE s.feature_result_id = r.feature_result_id),
		success = r.status <> 'Canceled' AND NOT r.running AND NOT EXISTS (SELECT 1 FROM step_results s
			WHERE s.feature_result_id = r.feature_result_id AND s.status = 'Failed')
		WHERE r.feature_result_id = $1`, e.FeatureResultID)
	queueResultRunTotals(b, e.FeatureResultID)
}

// queueScreenshotRemoved takes an image off its step result, in the
// images list and in whichever screenshot_* column names it.
func queueScreenshotRemoved(b *pgx.Batch, e *eventschemas.ScreenshotRemoved) {
	b.Queue(`UPDATE screenshots sc SET removed = true FROM step_results s
		WHERE s.feature_result_id = $1 AND s.sequence = $2 AND sc.step_result_id = s.step_result_id
			AND sc.name = $3`, e.FeatureResultID, e.Sequence, e.Name)
	b.Queue(`UPDATE step_results SET
			screenshot_current = CASE WHEN screenshot_current = $3 THEN '' ELSE screenshot_current END,
			screenshot_style = CASE WHEN screenshot_style = $3 THEN '' ELSE screenshot_style END,
			screenshot_difference = CASE WHEN screenshot_difference = $3 THEN '' ELSE screenshot_difference END,
			screenshot_template = CASE WHEN screenshot_template = $3 THEN '' ELSE screenshot_template END
		WHERE feature_result_id = $1 AND sequence = $2`, e.FeatureResultID, e.Sequence, e.Name)
}
