package projections

import (
	"strconv"

	"github.com/cometa-es/cometa/eventschemas"
)

// scopeRule says which departments an event belongs to and which streams
// it places in departments from now on.
//
// An event belongs to the departments its payload names (named) and to
// those of the stream inherit as the scopes table has them when the event
// is applied. An object's later events then inherit from its stream, so a
// VariableDeleted belongs to the department the variable was set in, and
// result events to the department of their run.
type scopeRule struct {
	named   []int64
	inherit string
	sets    []scopeSet
}

// scopeSet places stream in departments; with own set, in the event's own
// departments (named and inherited).
type scopeSet struct {
	stream      string
	departments []int64
	own         bool
}

func streamOf(kind string, id int64) string { return kind + "-" + strconv.FormatInt(id, 10) }

// scopeOf derives the departments of an event from its payload. Events of
// the catalogue (applications, environments, browsers) belong to no
// department: only SUPERUSER sees them. An event type this function does
// not know inherits from its own stream, so a new event on a known stream
// is scoped like its neighbours.
func scopeOf(ev Event) scopeRule {
	own := ev.Stream
	switch e := ev.Payload.(type) {
	case *eventschemas.AccountCreated:
		return scopeRule{named: e.Departments,
			sets: []scopeSet{{stream: streamOf("account", e.AccountID), departments: e.Departments}}}
	case *eventschemas.AccountUpdated:
		// The departments it left see the change too.
		acc := streamOf("account", e.AccountID)
		return scopeRule{named: e.Departments, inherit: acc,
			sets: []scopeSet{{stream: acc, departments: e.Departments}}}
	case *eventschemas.AccountDeleted:
		return scopeRule{inherit: streamOf("account", e.AccountID)}
	case *eventschemas.TokenIssued:
		return scopeRule{inherit: streamOf("account", e.AccountID)}
	case *eventschemas.TokensRevoked:
		return scopeRule{inherit: streamOf("account", e.AccountID)}

	case *eventschemas.DepartmentCreated:
		return scopeRule{named: []int64{e.DepartmentID}}
	case *eventschemas.DepartmentRenamed:
		return scopeRule{named: []int64{e.DepartmentID}}
	case *eventschemas.DepartmentSettingsChanged:
		return scopeRule{named: []int64{e.DepartmentID}}
	case *eventschemas.DepartmentDeleted:
		return scopeRule{named: []int64{e.DepartmentID}}

	case *eventschemas.ApplicationCreated, *eventschemas.ApplicationRenamed, *eventschemas.ApplicationDeleted,
		*eventschemas.EnvironmentCreated, *eventschemas.EnvironmentRenamed, *eventschemas.EnvironmentDeleted,
		*eventschemas.BrowserAdded, *eventschemas.BrowserRemoved:
		return scopeRule{}

	case *eventschemas.FolderCreated:
		return scopeRule{named: []int64{e.DepartmentID},
			sets: []scopeSet{{stream: own, departments: []int64{e.DepartmentID}}}}
	case *eventschemas.FolderMoved:
		// Both departments of a move across departments see it.
		return scopeRule{named: []int64{e.DepartmentID, e.FromDepartmentID},
			sets: []scopeSet{{stream: own, departments: []int64{e.DepartmentID}}}}

	case *eventschemas.VariableSet:
		return scopeRule{named: []int64{e.DepartmentID},
			sets: []scopeSet{{stream: own, departments: []int64{e.DepartmentID}}}}

	case *eventschemas.FeatureSaved:
		// A save that moves the feature to another department belongs to
		// both; the feature belongs to the new one from now on.
		dep := e.Definition.DepartmentID
		return scopeRule{named: []int64{dep}, inherit: own,
			sets: []scopeSet{{stream: streamOf("feature", e.FeatureID), departments: []int64{dep}}}}
	case *eventschemas.FeatureScheduled:
		return scopeRule{inherit: streamOf("feature", e.FeatureID)}
	case *eventschemas.ScheduleCleared:
		return scopeRule{inherit: streamOf("feature", e.FeatureID)}
	case *eventschemas.ScheduleTickFired:
		return scopeRule{inherit: streamOf("feature", e.FeatureID)}
	case *eventschemas.ScheduleTickMissed:
		return scopeRule{inherit: streamOf("feature", e.FeatureID)}
	case *eventschemas.ScheduleTickRunRequested:
		return scopeRule{inherit: streamOf("feature", e.FeatureID)}
	case *eventschemas.ScheduleTickRunRefused:
		return scopeRule{inherit: streamOf("feature", e.FeatureID)}

	case *eventschemas.RunRequested:
		deps := []int64{e.DepartmentID}
		sets := []scopeSet{{stream: streamOf("run", e.RunID), departments: deps}}
		for _, r := range e.Results {
			sets = append(sets, scopeSet{stream: streamOf("result", r.FeatureResultID), departments: deps})
		}
		if e.RequestKey != "" {
			sets = append(sets, scopeSet{stream: "runkey-" + e.RequestKey, departments: deps})
		}
		return scopeRule{named: deps, sets: sets}
	case *eventschemas.ResultAllocated:
		return scopeRule{inherit: streamOf("feature", e.FeatureID),
			sets: []scopeSet{{stream: own, own: true}}}
	case *eventschemas.BaselineRecorded:
		return scopeRule{inherit: streamOf("feature", e.FeatureID)}
	}
	return scopeRule{inherit: own}
}
