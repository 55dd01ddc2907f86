package worker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cometa-es/cometa/commands"
	"github.com/cometa-es/cometa/domain/access"
	"github.com/cometa-es/cometa/eventschemas"
	"github.com/cometa-es/cometa/internal/cryptojs"
)

// variableSink saves the environment variables that a result's steps
// save ("Save ... to environment variable"), in the run's department and
// environment, as the runner service. A value that holds the plain text
// of one of the run's encrypted variables is saved encrypted, so a secret
// never reaches an event in plain text.
type variableSink struct {
	vars        *commands.Variables
	req         eventschemas.RunRequested
	passphrase  string
	correlation string
	now         func() time.Time
}

// SaveEnvironmentVariable creates or replaces the variable name.
func (s *variableSink) SaveEnvironmentVariable(ctx context.Context, name, value string) error {
	meta := commands.Meta{Actor: "service:runner", CorrelationID: s.correlation, Now: s.now()}
	_, _, _, err := s.vars.Put(ctx, meta, access.Service(), commands.VariableInput{
		DepartmentID: s.req.DepartmentID, EnvironmentID: s.req.EnvironmentID, Name: name,
		Based: eventschemas.BasedEnvironment, Encrypted: s.secret(value), Value: value})
	if err != nil {
		return fmt.Errorf("save environment variable %q: %w", name, err)
	}
	return nil
}

// secret reports whether value contains the plain text of an encrypted
// variable of the run.
func (s *variableSink) secret(value string) bool {
	for _, v := range s.req.Variables {
		if !v.Value.Encrypted() {
			continue
		}
		plain, err := cryptojs.Decrypt(s.passphrase, v.Value.Text())
		if err == nil && plain != "" && strings.Contains(value, plain) {
			return true
		}
	}
	return false
}
