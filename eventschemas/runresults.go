package eventschemas

// Event types of the corrections users make to recorded results, on the
// result's stream ("result-<feature_result_id>"). They never touch what
// the runner recorded: read models apply them on top.
const (
	TypeStepStatusChanged   = "StepStatusChanged"
	TypeResultStatusChanged = "ResultStatusChanged"
	TypeScreenshotRemoved   = "ScreenshotRemoved"
)

// runResultSchemas lists the schemas of the result corrections.
func runResultSchemas() []Schema {
	return []Schema{
		v1[StepStatusChanged](),
		v1[ResultStatusChanged](),
		v1[ScreenshotRemoved](),
	}
}

// StepStatusChanged overrides the status of the recorded step with
// Sequence (Cometa's PATCH of a step result): Status is Success, Failed or
// Skipped and Success is false only for Failed. The result's success is
// then recomputed from its steps (a canceled result stays unsuccessful).
// ChangedBy is the account that changed it.
type StepStatusChanged struct {
	FeatureResultID int64  `json:"feature_result_id"`
	Sequence        int    `json:"sequence"`
	Status          string `json:"status"`
	Success         bool   `json:"success"`
	ChangedBy       int64  `json:"changed_by"`
}

// EventType returns TypeStepStatusChanged.
func (*StepStatusChanged) EventType() string { return TypeStepStatusChanged }

// ResultStatusChanged overrides the status of a finished result (Cometa's
// PATCH of a feature result): Status is Success, Failed or Canceled,
// Success true only for Success.
type ResultStatusChanged struct {
	FeatureResultID int64  `json:"feature_result_id"`
	Status          string `json:"status"`
	Success         bool   `json:"success"`
	ChangedBy       int64  `json:"changed_by"`
}

// EventType returns TypeResultStatusChanged.
func (*ResultStatusChanged) EventType() string { return TypeResultStatusChanged }

// ScreenshotRemoved takes the image Name off the step with Sequence. The
// file itself is deleted once no step result and no baseline refers to it
// any more.
type ScreenshotRemoved struct {
	FeatureResultID int64  `json:"feature_result_id"`
	Sequence        int    `json:"sequence"`
	Name            string `json:"name"`
	RemovedBy       int64  `json:"removed_by"`
}

// EventType returns TypeScreenshotRemoved.
func (*ScreenshotRemoved) EventType() string { return TypeScreenshotRemoved }
