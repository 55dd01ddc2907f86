package eventschemas

import "encoding/json"

// Event types of the catalogue streams: "application-<id>",
// "environment-<id>" and "browser-<id>".
const (
	TypeApplicationCreated = "ApplicationCreated"
	TypeApplicationRenamed = "ApplicationRenamed"
	TypeApplicationDeleted = "ApplicationDeleted"
	TypeEnvironmentCreated = "EnvironmentCreated"
	TypeEnvironmentRenamed = "EnvironmentRenamed"
	TypeEnvironmentDeleted = "EnvironmentDeleted"
	TypeBrowserAdded       = "BrowserAdded"
	TypeBrowserRemoved     = "BrowserRemoved"
)

// CatalogSchemas lists the schemas of the application, environment and
// browser events.
func CatalogSchemas() []Schema {
	return []Schema{
		v1[ApplicationCreated](),
		v1[ApplicationRenamed](),
		v1[ApplicationDeleted](),
		v1[EnvironmentCreated](),
		v1[EnvironmentRenamed](),
		v1[EnvironmentDeleted](),
		v1[BrowserAdded](),
		v1[BrowserRemoved](),
	}
}

// ApplicationCreated adds an application (the system under test).
type ApplicationCreated struct {
	ApplicationID int64  `json:"app_id"`
	Name          string `json:"app_name"`
	Slug          string `json:"slug"`
}

// EventType returns TypeApplicationCreated.
func (*ApplicationCreated) EventType() string { return TypeApplicationCreated }

// ApplicationRenamed gives an application a new name and slug.
type ApplicationRenamed struct {
	ApplicationID int64  `json:"app_id"`
	Name          string `json:"app_name"`
	Slug          string `json:"slug"`
}

// EventType returns TypeApplicationRenamed.
func (*ApplicationRenamed) EventType() string { return TypeApplicationRenamed }

// ApplicationDeleted removes an application from the catalogue. Features
// keep their copy of its id and name.
type ApplicationDeleted struct {
	ApplicationID int64 `json:"app_id"`
}

// EventType returns TypeApplicationDeleted.
func (*ApplicationDeleted) EventType() string { return TypeApplicationDeleted }

// EnvironmentCreated adds an environment (for example "staging").
type EnvironmentCreated struct {
	EnvironmentID int64  `json:"environment_id"`
	Name          string `json:"environment_name"`
}

// EventType returns TypeEnvironmentCreated.
func (*EnvironmentCreated) EventType() string { return TypeEnvironmentCreated }

// EnvironmentRenamed gives an environment a new name.
type EnvironmentRenamed struct {
	EnvironmentID int64  `json:"environment_id"`
	Name          string `json:"environment_name"`
}

// EventType returns TypeEnvironmentRenamed.
func (*EnvironmentRenamed) EventType() string { return TypeEnvironmentRenamed }

// EnvironmentDeleted removes an environment from the catalogue.
type EnvironmentDeleted struct {
	EnvironmentID int64 `json:"environment_id"`
}

// EventType returns TypeEnvironmentDeleted.
func (*EnvironmentDeleted) EventType() string { return TypeEnvironmentDeleted }

// BrowserAdded puts a browser into the local catalogue. BrowserJSON is
// Cometa's browser object, e.g. {"os": "Generic", "browser": "chrome",
// "browser_version": "134.0", ...}.
type BrowserAdded struct {
	BrowserID   int64           `json:"browser_id"`
	BrowserJSON json.RawMessage `json:"browser_json"`
}

// EventType returns TypeBrowserAdded.
func (*BrowserAdded) EventType() string { return TypeBrowserAdded }

// BrowserRemoved takes a browser out of the local catalogue.
type BrowserRemoved struct {
	BrowserID int64 `json:"browser_id"`
}

// EventType returns TypeBrowserRemoved.
func (*BrowserRemoved) EventType() string { return TypeBrowserRemoved }
