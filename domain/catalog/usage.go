package catalog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cometa-es/cometa/domain"
)

// Usage is what still refers to an application or an environment: how many
// live features (and, for an environment, live variables) name it, and the
// ids of some of them, lowest first. The aggregates cannot see features or
// variables, so the caller of a deletion looks them up and passes them in.
// A deletion is refused while the usage is not empty: the features would
// keep showing the old name and their runs would lose the environment's
// variables.
type Usage struct {
	// Features is the number of live features that use the object.
	Features int
	// FeatureIDs are some of them; fewer than Features when shortened.
	FeatureIDs []int64
	// Variables is the number of live variables scoped to an environment.
	Variables int
	// VariableIDs are some of them; fewer than Variables when shortened.
	VariableIDs []int64
}

// refuse returns the ErrConflict that names what uses kind id, or nil when
// nothing does.
func (u Usage) refuse(kind string, id int64) error {
	var users []string
	if u.Features > 0 {
		users = append(users, counted(u.Features, "feature", u.FeatureIDs))
	}
	if u.Variables > 0 {
		users = append(users, counted(u.Variables, "variable", u.VariableIDs))
	}
	if len(users) == 0 {
		return nil
	}
	return domain.Conflict("%s %d is used by %s: move them to another %s first",
		kind, id, strings.Join(users, " and "), kind)
}

// counted reads "4 features (ids 3, 5, 7, 9)", "1 variable (id 2)", or
// "12 features (ids 1, 2, 3, ...)" when ids are fewer than n.
func counted(n int, noun string, ids []int64) string {
	if n != 1 {
		noun += "s"
	}
	if len(ids) == 0 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	shown := make([]string, 0, len(ids)+1)
	for _, id := range ids {
		shown = append(shown, strconv.FormatInt(id, 10))
	}
	if len(ids) < n {
		shown = append(shown, "...")
	}
	label := "ids"
	if n == 1 {
		label = "id"
	}
	return fmt.Sprintf("%d %s (%s %s)", n, noun, label, strings.Join(shown, ", "))
}
