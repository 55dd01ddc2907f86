package readapi

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/feature"
)

// featureBody is a feature as the seed's POST /api/features/, Cometa's
// PATCH /api/features/ and the seed's POST /steps/<id>/patch/ send it.
// Absent fields leave the feature's as they are. Keys Cometa ignores or
// that belong elsewhere (browser_id, browser_name, browser_code, wait,
// last_edited, telegram_options) are ignored too; a schedule is set on the
// feature's schedule stream after the save.
type featureBody struct {
	FeatureID       *int64          `json:"feature_id"`
	FeatureName     *string         `json:"feature_name"`
	Description     *string         `json:"description"`
	AppID           *int64          `json:"app_id"`
	AppName         *string         `json:"app_name"`
	EnvironmentID   *int64          `json:"environment_id"`
	EnvironmentName *string         `json:"environment_name"`
	DepartmentID    *int64          `json:"department_id"`
	DepartmentName  *string         `json:"department_name"`
	DependsOnOthers *bool           `json:"depends_on_others"`
	DependsOnOther  *bool           `json:"depends_on_other"` // the old doc's spelling
	Cloud           *string         `json:"cloud"`
	Browsers        json.RawMessage `json:"browsers"`
	Mobiles         json.RawMessage `json:"mobiles"`

	SendMail                        *bool     `json:"send_mail"`
	SendMailOnError                 *bool     `json:"send_mail_on_error"`
	CheckMaximumNotificationOnError *bool     `json:"check_maximum_notification_on_error"`
	MaximumNotificationOnError      *int      `json:"maximum_notification_on_error"`
	AttachPDFReportToEmail          *bool     `json:"attach_pdf_report_to_email"`
	DoNotUseDefaultTemplate         *bool     `json:"do_not_use_default_template"`
	EmailAddress                    *[]string `json:"email_address"`
	EmailCCAddress                  *[]string `json:"email_cc_address"`
	EmailBCCAddress                 *[]string `json:"email_bcc_address"`
	EmailSubject                    *string   `json:"email_subject"`
	EmailBody                       *string   `json:"email_body"`
	Video                           *bool     `json:"video"`
	NetworkLogging                  *bool     `json:"network_logging"`
	GenerateDataset                 *bool     `json:"generate_dataset"`
	ContinueOnFailure               *bool     `json:"continue_on_failure"`
	NeedHelp                        *bool     `json:"need_help"`
	SendTelegramNotification        *bool     `json:"send_telegram_notification"`

	// Steps is Cometa's {"steps_content": [...]}, a bare list of steps, or
	// the seed's step count (ignored: it is derived).
	Steps json.RawMessage `json:"steps"`
	// StepsContent is the seed's top-level list of steps.
	StepsContent json.RawMessage `json:"steps_content"`
	// Version is the version the client edited; a save is refused when
	// the feature has moved on.
	Version *int `json:"version"`
	// Schedule is a cron expression ("" clears the schedule) in
	// OriginalTimezone (an IANA name; UTC when absent).
	Schedule         *string `json:"schedule"`
	OriginalTimezone *string `json:"original_timezone"`
}

// applyTo copies the fields the body has onto def.
func (b featureBody) applyTo(def *feature.Definition) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setID := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	setBool := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	set(&def.FeatureName, b.FeatureName)
	set(&def.Description, b.Description)
	setID(&def.AppID, b.AppID)
	set(&def.AppName, b.AppName)
	setID(&def.EnvironmentID, b.EnvironmentID)
	set(&def.EnvironmentName, b.EnvironmentName)
	setID(&def.DepartmentID, b.DepartmentID)
	set(&def.DepartmentName, b.DepartmentName)
	setBool(&def.DependsOnOthers, b.DependsOnOther)
	setBool(&def.DependsOnOthers, b.DependsOnOthers)
	set(&def.Cloud, b.Cloud)
	if given(b.Browsers) {
		def.Browsers = b.Browsers
	}
	if given(b.Mobiles) {
		def.Mobiles = b.Mobiles
	}
	setBool(&def.SendMail, b.SendMail)
	setBool(&def.SendMailOnError, b.SendMailOnError)
	setBool(&def.CheckMaximumNotificationOnError, b.CheckMaximumNotificationOnError)
	if b.MaximumNotificationOnError != nil {
		def.MaximumNotificationOnError = *b.MaximumNotificationOnError
	}
	setBool(&def.AttachPDFReportToEmail, b.AttachPDFReportToEmail)
	setBool(&def.DoNotUseDefaultTemplate, b.DoNotUseDefaultTemplate)
	for _, l := range []struct {
		dst *[]string
		src *[]string
	}{{&def.EmailAddress, b.EmailAddress}, {&def.EmailCCAddress, b.EmailCCAddress},
		{&def.EmailBCCAddress, b.EmailBCCAddress}} {
		if l.src != nil {
			*l.dst = *l.src
		}
	}
	set(&def.EmailSubject, b.EmailSubject)
	set(&def.EmailBody, b.EmailBody)
	setBool(&def.Video, b.Video)
	setBool(&def.NetworkLogging, b.NetworkLogging)
	setBool(&def.GenerateDataset, b.GenerateDataset)
	setBool(&def.ContinueOnFailure, b.ContinueOnFailure)
	setBool(&def.NeedHelp, b.NeedHelp)
	setBool(&def.SendTelegramNotification, b.SendTelegramNotification)
}

// given reports whether a raw JSON field was sent with a value.
func given(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// stepBody is one step as Cometa's UI sends it. id is the step's integer
// id from GET /backend/steps/<id>/, step_id its stable id; either keeps
// the step's identity across the save.
type stepBody struct {
	ID                json.RawMessage `json:"id"`
	StepID            string          `json:"step_id"`
	StepKeyword       string          `json:"step_keyword"`
	StepContent       string          `json:"step_content"`
	StepAction        string          `json:"step_action"`
	StepType          string          `json:"step_type"`
	Enabled           *bool           `json:"enabled"`
	Screenshot        bool            `json:"screenshot"`
	Compare           bool            `json:"compare"`
	ContinueOnFailure bool            `json:"continue_on_failure"`
	Timeout           int             `json:"timeout"`
}

// steps returns the steps the body carries; ok is false when it
// carries none (the feature's steps stay). A step that does not decode is
// reported with its position.
func (b featureBody) steps() (steps []stepBody, ok bool, err error) {
	list := b.StepsContent
	if !given(list) {
		raw := bytes.TrimSpace(b.Steps)
		switch {
		case !given(raw):
			return nil, false, nil
		case raw[0] == '[':
			list = raw
		case raw[0] == '{':
			var wrapped struct {
				StepsContent json.RawMessage `json:"steps_content"`
			}
			if err := json.Unmarshal(raw, &wrapped); err != nil || !given(wrapped.StepsContent) {
				return nil, false, domain.Invalid("steps", `must be {"steps_content": [steps]} or a list of steps`)
			}
			list = wrapped.StepsContent
		case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
			return nil, false, nil // the seed's count of steps
		default:
			return nil, false, domain.Invalid("steps", `must be {"steps_content": [steps]} or a list of steps`)
		}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(list, &raws); err != nil {
		return nil, false, domain.Invalid("steps_content", "must be a list of step objects")
	}
	var errs []error
	steps = make([]stepBody, len(raws))
	for i, raw := range raws {
		if err := decodeJSON(raw, &steps[i], false); err != nil {
			errs = append(errs, domain.InvalidStep(i+1, "step", err))
		}
	}
	if len(errs) > 0 {
		return nil, false, joinInvalid(errs)
	}
	return steps, true, nil
}

// toSteps turns the body's steps into domain steps. A step without a
// step_id whose integer id is one of known takes that step's stable id.
// enabled defaults to true, as in Cometa's model.
func toSteps(in []stepBody, known map[int64]string) []feature.Step {
	out := make([]feature.Step, 0, len(in))
	for _, s := range in {
		st := feature.Step{StepID: s.StepID, Keyword: s.StepKeyword, Content: s.StepContent, Action: s.StepAction,
			Type: s.StepType, Enabled: s.Enabled == nil || *s.Enabled, Screenshot: s.Screenshot,
			Compare: s.Compare, ContinueOnFailure: s.ContinueOnFailure, Timeout: s.Timeout}
		if st.StepID == "" && given(s.ID) {
			if n, err := strconv.ParseInt(string(bytes.Trim(s.ID, `"`)), 10, 64); err == nil {
				st.StepID = known[n]
			}
		}
		out = append(out, st)
	}
	return out
}
