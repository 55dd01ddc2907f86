package domain

import "github.com/cometa-es/cometa/eventschemas"

// Evolver is a state that an event moves to its next state.
type Evolver[S any] interface {
	Evolve(eventschemas.Payload) S
}

// Fold applies history to s in order and returns the resulting state.
func Fold[S Evolver[S]](s S, history []eventschemas.Payload) S {
	for _, p := range history {
		s = s.Evolve(p)
	}
	return s
}
