package feature

import (
	"strconv"

	"github.com/cometa-es/cometa/domain"
)

// References returns the features that the enabled "Run feature with id|name
// ... before continuing" steps of steps name: ids and names in step order,
// each once. An id that is not a number is left out (Expand reports it),
// and so is a name that is not valid UTF-8 or holds a NUL: no feature has
// it, PostgreSQL cannot look it up, and the step's own check refuses it.
// The command layer uses it to load the features a Lookup must hold.
func References(steps []Step) (ids []int64, names []string) {
	seenID := map[int64]bool{}
	seenName := map[string]bool{}
	for _, st := range steps {
		if !st.Enabled {
			continue
		}
		if m := subfeatureByID.FindStringSubmatch(st.Content); m != nil {
			id, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil && !seenID[id] {
				seenID[id] = true
				ids = append(ids, id)
			}
			continue
		}
		m := subfeatureName.FindStringSubmatch(st.Content)
		if m != nil && !seenName[m[1]] && domain.CheckFreeText("step_content", m[1]) == nil {
			seenName[m[1]] = true
			names = append(names, m[1])
		}
	}
	return ids, names
}
