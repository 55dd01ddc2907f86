package readapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/runner/junit"
)

// junitReport is GET /backend/api/feature_results/<id>/junit/: the result
// as a JUnit XML report for CI servers, one testcase per executed step in
// execution order with the statuses the read model shows (overrides
// included), then the steps never reached as skipped cases. A result that
// is Failed or Canceled without a failed step (a flow error, a browser
// that did not start, a status overridden by hand) gets a testcase with an
// <error> carrying its reason, so that the report never reads as passed
// for a result that did not pass.
func (h *runAPI) junitReport(c *fiber.Ctx) error {
	id, err := pathID(c, "feature_result_id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	r, err := h.findResult(ctx, callerOf(c), id)
	if err != nil {
		return err
	}
	steps, _, err := h.stepsOf(ctx, id, nil)
	if err != nil {
		return err
	}
	suite := junitSuite(r, steps)
	var buf bytes.Buffer
	if err := junit.Write(&buf, suite); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/xml; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `inline; filename="feature_result_`+strconv.FormatInt(id, 10)+`.xml"`)
	return c.Send(buf.Bytes())
}

// junitSuite builds the report of a result from its step results.
func junitSuite(r featureResultJSON, steps []stepResultJSON) junit.Suite {
	date, _ := time.Parse(resultDate, r.ResultDate)
	s := junit.Suite{
		Name: r.FeatureName, ID: strconv.FormatInt(r.FeatureResultID, 10),
		ClassName: r.DepartmentName + "." + r.AppName + "." + r.FeatureName,
		Timestamp: date, Time: time.Duration(r.ExecutionTime) * time.Millisecond, SystemOut: r.log,
		Properties: []junit.Property{
			{Name: "feature_id", Value: strconv.FormatInt(r.FeatureID, 10)},
			{Name: "feature_result_id", Value: strconv.FormatInt(r.FeatureResultID, 10)},
			{Name: "run_id", Value: strconv.FormatInt(r.RunID, 10)},
			{Name: "status", Value: r.Status},
			{Name: "environment", Value: r.EnvironmentName},
			{Name: "browser", Value: string(r.Browser)},
			{Name: "browser_version", Value: r.BrowserVersion},
		},
	}
	if r.Reason != "" {
		s.Properties = append(s.Properties, junit.Property{Name: "reason", Value: r.Reason})
	}
	last, failed := -1, false
	for _, st := range steps {
		cs := junit.Case{Name: st.StepName, Time: time.Duration(st.ExecutionTime) * time.Millisecond}
		switch st.Status {
		case eventschemas.StatusFailed:
			cs.Status = junit.Failed
			if st.Error != nil {
				cs.Message = *st.Error
			}
			if cs.Message == "" {
				cs.Message = "step failed"
			}
			failed = true
		case eventschemas.StatusSkipped:
			cs.Status, cs.Message = junit.Skipped, "inactive If branch"
		}
		s.Cases = append(s.Cases, cs)
		last = max(last, st.StepIndex)
	}

	// The steps not reached: those after the last executed one in the
	// run's step list, as many as the runner counted.
	var planned []eventschemas.RunStep
	_ = json.Unmarshal(r.steps, &planned)
	for i := range r.notReached {
		name := "step not reached"
		if k := last + 1 + i; k >= 0 && k < len(planned) {
			name = planned[k].Content
		}
		s.Cases = append(s.Cases, junit.Case{Name: name, Status: junit.Skipped, Message: "not reached"})
	}
	if !failed && (r.Status == eventschemas.StatusFailed || r.Status == eventschemas.StatusCanceled) {
		s.Cases = append(s.Cases, resultError(r))
	}
	return s
}

// resultError is the case of a result that failed or was canceled outside
// its steps: named after the feature, with the result's reason.
func resultError(r featureResultJSON) junit.Case {
	msg := r.Reason
	if msg == "" {
		msg = "the result is " + r.Status + " though none of its steps failed"
	}
	return junit.Case{Name: r.FeatureName, Status: junit.Errored, Message: msg, Type: "Result" + r.Status}
}
