package eventschemas

// Event types of the name claim streams ("unique-<kind>-<hash>"), which
// keep a name unique across the aggregates of one kind.
const (
	TypeNameClaimed  = "NameClaimed"
	TypeNameReleased = "NameReleased"
)

// NameSchemas lists the schemas of the name claim events.
func NameSchemas() []Schema {
	return []Schema{
		v1[NameClaimed](),
		v1[NameReleased](),
	}
}

// NameClaimed reserves a name of Kind ("department-name", say) for Owner,
// the stream of the aggregate that is about to carry it ("department-3").
// It is appended before the owner's own event; whether the claim still
// holds is decided against the owner's stream (see package commands).
type NameClaimed struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// EventType returns TypeNameClaimed.
func (*NameClaimed) EventType() string { return TypeNameClaimed }

// NameReleased gives up Owner's claim on a name, after a rename or a
// deletion.
type NameReleased struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
}

// EventType returns TypeNameReleased.
func (*NameReleased) EventType() string { return TypeNameReleased }
