package eventschemas

import (
	"encoding/json"
	"time"
)

// Event types of runs. Three kinds of stream hold them:
//
//   - "run-<run_id>": RunRequested (the stream's first event, which pins
//     the feature version, the executed steps, the browsers with their
//     feature result ids and the variables), RunArchived, RunRemoved.
//   - "result-<feature_result_id>": one execution in one browser.
//     ResultAllocated reserves the id before the run that lists it is
//     requested; then ResultClaimed (by exactly one runner), ResultStarted,
//     StepRecorded with ScreenshotTaken and ScreenshotCompared,
//     LeaseRenewed, RunKilled, LeaseExpired, ResultFinished, and
//     afterwards ResultArchived and ResultRemoved.
//   - "baseline-<feature_id>": BaselineRecorded, the reference screenshots
//     of the feature's compare steps.
//   - "runkey-<request_key>": RunRequestKeyed, which binds the idempotency
//     key of a scheduled run request to the run id it uses.
//
// Totals (ok, fails, skipped, execution time, pixel difference) are never
// stored: read models sum them from StepRecorded.
const (
	TypeRunRequested       = "RunRequested"
	TypeRunArchived        = "RunArchived"
	TypeRunRemoved         = "RunRemoved"
	TypeRunRequestKeyed    = "RunRequestKeyed"
	TypeResultAllocated    = "ResultAllocated"
	TypeResultClaimed      = "ResultClaimed"
	TypeResultStarted      = "ResultStarted"
	TypeStepRecorded       = "StepRecorded"
	TypeScreenshotTaken    = "ScreenshotTaken"
	TypeScreenshotCompared = "ScreenshotCompared"
	TypeBaselineRecorded   = "BaselineRecorded"
	TypeLeaseRenewed       = "LeaseRenewed"
	TypeLeaseExpired       = "LeaseExpired"
	TypeRunKilled          = "RunKilled"
	TypeResultFinished     = "ResultFinished"
	TypeResultArchived     = "ResultArchived"
	TypeResultRemoved      = "ResultRemoved"
)

// Statuses of step results and feature results, as Cometa writes them.
const (
	StatusSuccess  = "Success"
	StatusFailed   = "Failed"
	StatusSkipped  = "Skipped"
	StatusCanceled = "Canceled"
)

// runSchemas lists the schemas of the run events.
func runSchemas() []Schema {
	return []Schema{
		v1[RunRequested](),
		v1[RunArchived](),
		v1[RunRemoved](),
		v1[RunRequestKeyed](),
		v1[ResultAllocated](),
		v1[ResultClaimed](),
		v1[ResultStarted](),
		v1[StepRecorded](),
		v1[ScreenshotTaken](),
		v1[ScreenshotCompared](),
		v1[BaselineRecorded](),
		v1[LeaseRenewed](),
		v1[LeaseExpired](),
		v1[RunKilled](),
		v1[ResultFinished](),
		v1[ResultArchived](),
		v1[ResultRemoved](),
	}
}

// RunRequested opens a run: one click on "run", or one schedule tick. It
// pins everything the run executes, so that editing the feature, its
// variables or the step catalogue afterwards changes nothing of this run.
//
// FeatureVersion is the feature's version (its count of FeatureSaved) the
// steps were taken from; Steps is the executed step list of that version
// (enabled steps, sub-features inlined, "Run feature" steps themselves
// left out), in order. The names and ids of application, environment and
// department are the copies of that version. Results holds one feature
// result per browser, each id reserved before by ResultAllocated.
//
// RequestedBy is the account that asked (0 for a service); the envelope's
// correlation id is the API request's or the schedule tick's. RequestKey is
// the idempotency key of a scheduled request ("" for an API request): a
// second request with the same key finds this run instead of starting
// another.
type RunRequested struct {
	RunID           int64             `json:"run_id"`
	FeatureID       int64             `json:"feature_id"`
	FeatureVersion  int               `json:"feature_version"`
	FeatureName     string            `json:"feature_name"`
	Description     string            `json:"description"`
	AppID           int64             `json:"app_id"`
	AppName         string            `json:"app_name"`
	EnvironmentID   int64             `json:"environment_id"`
	EnvironmentName string            `json:"environment_name"`
	DepartmentID    int64             `json:"department_id"`
	DepartmentName  string            `json:"department_name"`
	Steps           []RunStep         `json:"steps"`
	Results         []RunResult       `json:"results"`
	Variables       []RunVariable     `json:"variables"`
	Parameters      map[string]string `json:"parameters"`
	RequestedBy     int64             `json:"requested_by"`
	RequestKey      string            `json:"request_key,omitempty"`
	RequestedAt     time.Time         `json:"requested_at"`
}

// EventType returns TypeRunRequested.
func (*RunRequested) EventType() string { return TypeRunRequested }

// RunStep is one step of a run's executed step list. StepID is the stable
// id of the authored step (of the sub-feature BelongsTo, for an inlined
// step); Position is the 1-based position, in the requested feature, of
// the authored step this one is or comes from. Content is the sentence as
// written (docstring included), before any substitution, so it never holds
// a secret's plain text. ContinueOnFailure already includes what the
// feature and a running sub-feature step force. Timeout is in seconds.
type RunStep struct {
	StepID            string `json:"step_id"`
	BelongsTo         int64  `json:"belongs_to"`
	Position          int    `json:"position"`
	Keyword           string `json:"step_keyword"`
	Content           string `json:"step_content"`
	Type              string `json:"step_type"`
	Screenshot        bool   `json:"screenshot"`
	Compare           bool   `json:"compare"`
	ContinueOnFailure bool   `json:"continue_on_failure"`
	Timeout           int    `json:"timeout"`
}

// RunResult is one feature result of a run: the browser it executes in,
// as the feature lists it (Cometa's browser object, kept as given).
type RunResult struct {
	FeatureResultID int64           `json:"feature_result_id"`
	Browser         json.RawMessage `json:"browser"`
}

// RunVariable is one variable as the run sees it, after precedence
// (feature > environment > department): one per name. An encrypted value
// is ciphertext; only the runner decrypts it.
type RunVariable struct {
	VariableID int64         `json:"variable_id"`
	Name       string        `json:"variable_name"`
	Based      string        `json:"based"`
	Value      VariableValue `json:"value"`
}

// RunArchived marks a run as saved ("SAVED" in Cometa's UI), which protects
// it from removal, or unmarks it.
type RunArchived struct {
	RunID    int64 `json:"run_id"`
	Archived bool  `json:"archived"`
}

// EventType returns TypeRunArchived.
func (*RunArchived) EventType() string { return TypeRunArchived }

// RunRemoved removes a run from the lists (Cometa's soft delete).
type RunRemoved struct {
	RunID int64 `json:"run_id"`
}

// EventType returns TypeRunRemoved.
func (*RunRemoved) EventType() string { return TypeRunRemoved }

// RunRequestKeyed binds a run request key to the run id that requests with
// that key use. The key's stream holds one such event per id tried: a
// later one replaces an earlier one whose id another run took first. A run
// with the key exists at most at the id bound last.
type RunRequestKeyed struct {
	RequestKey string `json:"request_key"`
	RunID      int64  `json:"run_id"`
}

// EventType returns TypeRunRequestKeyed.
func (*RunRequestKeyed) EventType() string { return TypeRunRequestKeyed }

// ResultAllocated reserves a feature result id for a run of FeatureID about
// to be requested. It is the first event of the result's stream. An id
// that no RunRequested lists (the requester stopped in between) is a hole
// in the numbering and nothing else.
type ResultAllocated struct {
	FeatureResultID int64 `json:"feature_result_id"`
	FeatureID       int64 `json:"feature_id"`
}

// EventType returns TypeResultAllocated.
func (*ResultAllocated) EventType() string { return TypeResultAllocated }

// ResultClaimed hands a queued result to one runner. It is appended with
// the revision of the allocation as expected revision, so two runners can
// never both claim it. The runner holds the result until LeaseUntil and
// renews the lease while it works (LeaseRenewed).
type ResultClaimed struct {
	FeatureResultID int64     `json:"feature_result_id"`
	RunID           int64     `json:"run_id"`
	Runner          string    `json:"runner"`
	ClaimedAt       time.Time `json:"claimed_at"`
	LeaseUntil      time.Time `json:"lease_until"`
}

// EventType returns TypeResultClaimed.
func (*ResultClaimed) EventType() string { return TypeResultClaimed }

// ResultStarted records the browser a result executes in. Browser is the
// browser object of the run; BrowserVersion what the browser reports
// (e.g. "Chrome/156.0.8078.114"); PID the local browser's main process
// (also its process group), 0 for a remote browser.
type ResultStarted struct {
	FeatureResultID int64           `json:"feature_result_id"`
	Runner          string          `json:"runner"`
	Browser         json.RawMessage `json:"browser"`
	BrowserVersion  string          `json:"browser_version"`
	PID             int             `json:"pid"`
	Remote          bool            `json:"remote"`
	StartedAt       time.Time       `json:"started_at"`
}

// EventType returns TypeResultStarted.
func (*ResultStarted) EventType() string { return TypeResultStarted }

// StepRecorded is one executed step of a result, with what Cometa's step
// result holds. Sequence is the 1-based order of execution (loop
// iterations and skipped steps each take one) and increases by one per
// event; Index is the 0-based position of the step in the run's Steps.
// StepName is the sentence as written, without substitution. Status is
// Success, Failed or Skipped (inside an inactive If branch); Success is
// false only for Failed. Error is the failure with secrets masked.
//
// Screenshots are the content-hash names of the images stored for the
// step (the current screenshot first, then a diff image); Current,
// Template (the baseline compared against) and Difference name them by
// role, "" when absent. PixelDiff is the number of differing pixels of a
// comparison, 0 without one. Variables are those the step created or
// compared, secrets masked.
type StepRecorded struct {
	FeatureResultID int64             `json:"feature_result_id"`
	Sequence        int               `json:"sequence"`
	Index           int               `json:"index"`
	StepID          string            `json:"step_id"`
	StepName        string            `json:"step_name"`
	BelongsTo       int64             `json:"belongs_to"`
	Status          string            `json:"status"`
	Success         bool              `json:"success"`
	ExecutionTimeMS int64             `json:"execution_time_ms"`
	Error           string            `json:"error,omitempty"`
	Screenshots     []string          `json:"screenshots"`
	Current         string            `json:"screenshot_current,omitempty"`
	Template        string            `json:"screenshot_template,omitempty"`
	Difference      string            `json:"screenshot_difference,omitempty"`
	PixelDiff       int64             `json:"pixel_diff"`
	Variables       map[string]string `json:"variables,omitempty"`
}

// EventType returns TypeStepRecorded.
func (*StepRecorded) EventType() string { return TypeStepRecorded }

// ScreenshotTaken records a screenshot of the step with Sequence, stored
// under Name (its content hash) with its size in pixels. It follows the
// StepRecorded of that step in the same append.
type ScreenshotTaken struct {
	FeatureResultID int64  `json:"feature_result_id"`
	Sequence        int    `json:"sequence"`
	Name            string `json:"name"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
}

// EventType returns TypeScreenshotTaken.
func (*ScreenshotTaken) EventType() string { return TypeScreenshotTaken }

// ScreenshotCompared is the visual comparison of a compare step's
// screenshot (Current) with its baseline (Baseline): PixelDiff pixels
// differ with Threshold, and Diff names the diff image. A comparison that
// could not be made (sizes differ, an image unreadable) has Failed set,
// Error saying why (both sizes for a size mismatch), no Diff and a
// PixelDiff of 0; the step is then recorded as Failed. BaselineKey is the
// baseline's key in the feature's baseline stream.
type ScreenshotCompared struct {
	FeatureResultID int64   `json:"feature_result_id"`
	Sequence        int     `json:"sequence"`
	BaselineKey     string  `json:"baseline_key"`
	Baseline        string  `json:"baseline"`
	Current         string  `json:"current"`
	Diff            string  `json:"diff,omitempty"`
	PixelDiff       int64   `json:"pixel_diff"`
	Threshold       float64 `json:"threshold"`
	BaselineWidth   int     `json:"baseline_width"`
	BaselineHeight  int     `json:"baseline_height"`
	CurrentWidth    int     `json:"current_width"`
	CurrentHeight   int     `json:"current_height"`
	Failed          bool    `json:"failed"`
	Error           string  `json:"error,omitempty"`
}

// EventType returns TypeScreenshotCompared.
func (*ScreenshotCompared) EventType() string { return TypeScreenshotCompared }

// BaselineRecorded makes a screenshot the baseline of one compare step of
// a feature in one browser. Key identifies the step and browser: the
// stable step id, the occurrence of that step in the run (1 unless a loop
// or sub-feature repeats it) and the browser key. The first run that
// executes such a step records it; later runs compare against it. It lives
// in the feature's baseline stream, appended with the expected revision, so
// two runs racing to record the same key record it once.
type BaselineRecorded struct {
	FeatureID       int64  `json:"feature_id"`
	Key             string `json:"key"`
	StepID          string `json:"step_id"`
	Occurrence      int    `json:"occurrence"`
	BrowserKey      string `json:"browser_key"`
	Name            string `json:"name"`
	Width           int    `json:"width"`
	Height          int    `json:"height"`
	FeatureResultID int64  `json:"feature_result_id"`
	Sequence        int    `json:"sequence"`
}

// EventType returns TypeBaselineRecorded.
func (*BaselineRecorded) EventType() string { return TypeBaselineRecorded }

// LeaseRenewed extends the claim of the runner that holds a result.
type LeaseRenewed struct {
	FeatureResultID int64     `json:"feature_result_id"`
	Runner          string    `json:"runner"`
	LeaseUntil      time.Time `json:"lease_until"`
}

// EventType returns TypeLeaseRenewed.
func (*LeaseRenewed) EventType() string { return TypeLeaseRenewed }

// LeaseExpired records that the runner holding a result stopped renewing
// its lease (it died or lost the store). DetectedBy is the runner that
// noticed; a ResultFinished follows in the same append.
type LeaseExpired struct {
	FeatureResultID int64     `json:"feature_result_id"`
	Runner          string    `json:"runner"`
	LeaseUntil      time.Time `json:"lease_until"`
	DetectedBy      string    `json:"detected_by"`
	DetectedAt      time.Time `json:"detected_at"`
}

// EventType returns TypeLeaseExpired.
func (*LeaseExpired) EventType() string { return TypeLeaseExpired }

// RunKilled asks for a result to stop: the runner holding it stops the step
// in progress, closes the browser and finishes the result Canceled. A
// result not claimed yet is finished Canceled in the same append.
// KilledBy is the account that asked (0 for a service).
type RunKilled struct {
	FeatureResultID int64  `json:"feature_result_id"`
	RunID           int64  `json:"run_id"`
	FeatureID       int64  `json:"feature_id"`
	Reason          string `json:"reason"`
	KilledBy        int64  `json:"killed_by"`
}

// EventType returns TypeRunKilled.
func (*RunKilled) EventType() string { return TypeRunKilled }

// ResultFinished ends a result: Status is Success, Failed or Canceled and
// Success is true only for Success. Reason says why a result failed or
// was canceled (the first hard step failure, a crashed browser, an expired
// lease, a kill), masked. Log is the runner's log of the result. NotReached
// counts the steps never executed after a hard failure, so that a read
// model can give Cometa's total (step results plus steps not reached).
type ResultFinished struct {
	FeatureResultID int64     `json:"feature_result_id"`
	RunID           int64     `json:"run_id"`
	Status          string    `json:"status"`
	Success         bool      `json:"success"`
	Reason          string    `json:"reason,omitempty"`
	Log             string    `json:"log"`
	NotReached      int       `json:"not_reached"`
	FinishedAt      time.Time `json:"finished_at"`
}

// EventType returns TypeResultFinished.
func (*ResultFinished) EventType() string { return TypeResultFinished }

// ResultArchived marks a feature result as saved, or unmarks it.
type ResultArchived struct {
	FeatureResultID int64 `json:"feature_result_id"`
	Archived        bool  `json:"archived"`
}

// EventType returns TypeResultArchived.
func (*ResultArchived) EventType() string { return TypeResultArchived }

// ResultRemoved removes a feature result from the lists (Cometa's soft
// delete).
type ResultRemoved struct {
	FeatureResultID int64 `json:"feature_result_id"`
}

// EventType returns TypeResultRemoved.
func (*ResultRemoved) EventType() string { return TypeResultRemoved }
