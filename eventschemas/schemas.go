package eventschemas

// Schemas lists the schema of every event type of Cometa-ES, one area after
// the other. The composition root passes it to NewRegistry; a new area adds
// its own function here.
func Schemas() []Schema {
	var all []Schema
	for _, area := range [][]Schema{
		AccountSchemas(),
		DepartmentSchemas(),
		CatalogSchemas(),
		FeatureSchemas(),
		FolderSchemas(),
		NameSchemas(),
		VariableSchemas(),
		scheduleSchemas(),
		runSchemas(),
		runResultSchemas(),
	} {
		all = append(all, area...)
	}
	return all
}

// v1 is the schema of a payload type that has only ever had version 1. Its
// type name comes from the payload's EventType method, so the constant is
// written once.
func v1[T any, P interface {
	*T
	Payload
}]() Schema {
	return Schema{
		Type:    P(new(T)).EventType(),
		Version: 1,
		New:     func() Payload { return P(new(T)) },
	}
}
