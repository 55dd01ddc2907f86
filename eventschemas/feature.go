package eventschemas

import "encoding/json"

// Event types of the feature stream ("feature-<id>").
const (
	TypeFeatureCreated       = "FeatureCreated"
	TypeFeatureSaved         = "FeatureSaved"
	TypeFeatureMovedToFolder = "FeatureMovedToFolder"
	TypeFeatureDeleted       = "FeatureDeleted"
)

// FeatureSchemas lists the schemas of the feature events.
func FeatureSchemas() []Schema {
	return []Schema{
		v1[FeatureCreated](),
		v1[FeatureSaved](),
		v1[FeatureMovedToFolder](),
		v1[FeatureDeleted](),
	}
}

// FeatureCreated opens a feature (a test case). It is always followed, in
// the same append, by FeatureSaved with version 1. CreatedBy is the id of
// the creating account (0 for a service); ownership rules use it.
type FeatureCreated struct {
	FeatureID int64 `json:"feature_id"`
	CreatedBy int64 `json:"created_by"`
}

// EventType returns TypeFeatureCreated.
func (*FeatureCreated) EventType() string { return TypeFeatureCreated }

// FeatureSaved is a complete new version of a feature's definition, steps
// included. Version counts the FeatureSaved events of the stream: 1, 2, ...
// RestoredFrom is the version this one copies when it was made by a
// restore, else 0.
type FeatureSaved struct {
	FeatureID    int64             `json:"feature_id"`
	Version      int               `json:"version"`
	RestoredFrom int               `json:"restored_from,omitempty"`
	Definition   FeatureDefinition `json:"definition"`
}

// EventType returns TypeFeatureSaved.
func (*FeatureSaved) EventType() string { return TypeFeatureSaved }

// FeatureDefinition is everything a user edits about a feature, with
// Cometa's JSON key names. App, environment and department names are the
// copies Cometa keeps beside the ids. The number of enabled steps (Cometa's
// "steps" count) is derived from Steps and not stored.
type FeatureDefinition struct {
	FeatureName     string `json:"feature_name"`
	Slug            string `json:"slug"`
	Description     string `json:"description"`
	AppID           int64  `json:"app_id"`
	AppName         string `json:"app_name"`
	EnvironmentID   int64  `json:"environment_id"`
	EnvironmentName string `json:"environment_name"`
	DepartmentID    int64  `json:"department_id"`
	DepartmentName  string `json:"department_name"`
	DependsOnOthers bool   `json:"depends_on_others"`
	Cloud           string `json:"cloud"`
	// Browsers and Mobiles are JSON arrays of Cometa's browser and mobile
	// objects, kept as the client sent them.
	Browsers                        json.RawMessage `json:"browsers"`
	Mobiles                         json.RawMessage `json:"mobiles"`
	SendMail                        bool            `json:"send_mail"`
	SendMailOnError                 bool            `json:"send_mail_on_error"`
	CheckMaximumNotificationOnError bool            `json:"check_maximum_notification_on_error"`
	MaximumNotificationOnError      int             `json:"maximum_notification_on_error"`
	AttachPDFReportToEmail          bool            `json:"attach_pdf_report_to_email"`
	DoNotUseDefaultTemplate         bool            `json:"do_not_use_default_template"`
	EmailAddress                    []string        `json:"email_address"`
	EmailCCAddress                  []string        `json:"email_cc_address"`
	EmailBCCAddress                 []string        `json:"email_bcc_address"`
	EmailSubject                    string          `json:"email_subject"`
	EmailBody                       string          `json:"email_body"`
	Video                           bool            `json:"video"`
	NetworkLogging                  bool            `json:"network_logging"`
	GenerateDataset                 bool            `json:"generate_dataset"`
	ContinueOnFailure               bool            `json:"continue_on_failure"`
	NeedHelp                        bool            `json:"need_help"`
	SendTelegramNotification        bool            `json:"send_telegram_notification"`
	Steps                           []FeatureStep   `json:"steps"`
}

// FeatureStep is one authored step of a feature. StepID is stable across
// versions: the same step keeps its id when it is edited, moved, enabled or
// disabled, so that versions can be compared step by step. Steps inlined
// from sub-features are not stored; they are expanded when needed.
type FeatureStep struct {
	StepID            string `json:"step_id"`
	Keyword           string `json:"step_keyword"`
	Content           string `json:"step_content"`
	Action            string `json:"step_action"`
	Type              string `json:"step_type"`
	Enabled           bool   `json:"enabled"`
	Screenshot        bool   `json:"screenshot"`
	Compare           bool   `json:"compare"`
	ContinueOnFailure bool   `json:"continue_on_failure"`
	// Timeout is in seconds.
	Timeout int `json:"timeout"`
}

// FeatureMovedToFolder puts a feature into a folder (FolderID 0: the
// department root). FromFolderID is where it was. A move into another
// department also appends a FeatureSaved with the new department.
type FeatureMovedToFolder struct {
	FeatureID    int64 `json:"feature_id"`
	FolderID     int64 `json:"folder_id"`
	FromFolderID int64 `json:"from_folder_id"`
}

// EventType returns TypeFeatureMovedToFolder.
func (*FeatureMovedToFolder) EventType() string { return TypeFeatureMovedToFolder }

// FeatureDeleted removes a feature. Its stream is closed for commands.
type FeatureDeleted struct {
	FeatureID int64 `json:"feature_id"`
}

// EventType returns TypeFeatureDeleted.
func (*FeatureDeleted) EventType() string { return TypeFeatureDeleted }
