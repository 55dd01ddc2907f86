package feature

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Changes is the difference between two versions of a definition.
type Changes struct {
	// Fields are the changed definition fields other than the steps, in
	// the order of the definition.
	Fields []FieldChange
	// Steps are the step changes: removed steps first (in their old
	// order), then the others in their new order.
	Steps []StepChange
}

// FieldChange is one changed field, with its JSON values before and after.
type FieldChange struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from"`
	To    json.RawMessage `json:"to"`
}

// StepChangeKind says what happened to a step between two versions.
type StepChangeKind string

// The kinds of step change. One step may show several: edited and moved,
// for example.
const (
	StepAdded    StepChangeKind = "added"
	StepRemoved  StepChangeKind = "removed"
	StepEdited   StepChangeKind = "edited"
	StepMoved    StepChangeKind = "moved"
	StepEnabled  StepChangeKind = "enabled"
	StepDisabled StepChangeKind = "disabled"
)

// StepChange is one change of one step, known by its stable id.
type StepChange struct {
	Kind   StepChangeKind `json:"kind"`
	StepID string         `json:"step_id"`
	// From and To are the 1-based positions before and after (0 when the
	// step is absent on that side).
	From int `json:"from"`
	To   int `json:"to"`
	// Fields are the step fields an edit changed (JSON names).
	Fields []string `json:"fields,omitempty"`
	// Before and After are the step on each side, when it exists there.
	Before *Step `json:"before,omitempty"`
	After  *Step `json:"after,omitempty"`
}

// Summary counts the changes, for a history listing.
type Summary struct {
	Fields   []string `json:"fields"`
	Added    int      `json:"steps_added"`
	Removed  int      `json:"steps_removed"`
	Edited   int      `json:"steps_edited"`
	Moved    int      `json:"steps_moved"`
	Enabled  int      `json:"steps_enabled"`
	Disabled int      `json:"steps_disabled"`
}

// Empty reports whether the two versions are the same.
func (c Changes) Empty() bool { return len(c.Fields) == 0 && len(c.Steps) == 0 }

// Summary counts c's changes.
func (c Changes) Summary() Summary {
	s := Summary{Fields: []string{}}
	for _, f := range c.Fields {
		s.Fields = append(s.Fields, f.Field)
	}
	for _, st := range c.Steps {
		switch st.Kind {
		case StepAdded:
			s.Added++
		case StepRemoved:
			s.Removed++
		case StepEdited:
			s.Edited++
		case StepMoved:
			s.Moved++
		case StepEnabled:
			s.Enabled++
		case StepDisabled:
			s.Disabled++
		}
	}
	return s
}

// Diff compares two versions of a definition: fields by value, steps by
// stable id. A step whose place relative to the other common steps changed
// is moved (the common steps outside a longest common subsequence), so
// inserting one step does not make every later step "moved".
func Diff(a, b Definition) Changes {
	c := Changes{Fields: diffFields(a, b)}
	aPos, bPos := positions(a.Steps), positions(b.Steps)
	for i, st := range a.Steps {
		if _, ok := bPos[st.StepID]; !ok {
			c.Steps = append(c.Steps, StepChange{Kind: StepRemoved, StepID: st.StepID, From: i + 1, Before: ptr(st)})
		}
	}
	moved := movedSteps(a.Steps, b.Steps, aPos, bPos)
	for j, after := range b.Steps {
		i, ok := aPos[after.StepID]
		if !ok {
			c.Steps = append(c.Steps, StepChange{Kind: StepAdded, StepID: after.StepID, To: j + 1, After: ptr(after)})
			continue
		}
		before := a.Steps[i]
		change := func(kind StepChangeKind, fields []string) {
			c.Steps = append(c.Steps, StepChange{Kind: kind, StepID: after.StepID, From: i + 1, To: j + 1,
				Fields: fields, Before: ptr(before), After: ptr(after)})
		}
		if moved[after.StepID] {
			change(StepMoved, nil)
		}
		if fields := diffStep(before, after); len(fields) > 0 {
			change(StepEdited, fields)
		}
		switch {
		case !before.Enabled && after.Enabled:
			change(StepEnabled, nil)
		case before.Enabled && !after.Enabled:
			change(StepDisabled, nil)
		}
	}
	return c
}

func ptr(st Step) *Step { return &st }

func positions(steps []Step) map[string]int {
	m := make(map[string]int, len(steps))
	for i, st := range steps {
		if _, dup := m[st.StepID]; !dup {
			m[st.StepID] = i
		}
	}
	return m
}

// movedSteps returns the ids of the steps common to a and b that are not
// on a longest common subsequence of the two orders.
func movedSteps(a, b []Step, aPos, bPos map[string]int) map[string]bool {
	var x, y []string
	for _, st := range a {
		if _, ok := bPos[st.StepID]; ok {
			x = append(x, st.StepID)
		}
	}
	for _, st := range b {
		if _, ok := aPos[st.StepID]; ok {
			y = append(y, st.StepID)
		}
	}
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	// Of the longest common subsequences, two are walked: one preferring
	// to skip steps of a, one of b. The one that calls fewer steps moved
	// although they kept their position reads better ("c moved to the
	// front", not "b moved from 2 to 2").
	walk := func(preferA bool) map[string]bool {
		moved := make(map[string]bool)
		for _, id := range x {
			moved[id] = true
		}
		for i, j := 0, 0; i < len(x) && j < len(y); {
			switch {
			case x[i] == y[j]:
				delete(moved, x[i])
				i++
				j++
			case lcs[i+1][j] > lcs[i][j+1] || (preferA && lcs[i+1][j] == lcs[i][j+1]):
				i++
			default:
				j++
			}
		}
		return moved
	}
	stayed := func(moved map[string]bool) int {
		n := 0
		for id := range moved {
			if aPos[id] == bPos[id] {
				n++
			}
		}
		return n
	}
	first, second := walk(true), walk(false)
	if stayed(second) < stayed(first) {
		return second
	}
	return first
}

// diffStep names the fields of a step, other than its id and enabled flag,
// that differ.
func diffStep(a, b Step) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"step_keyword", a.Keyword == b.Keyword},
		{"step_content", a.Content == b.Content},
		{"step_action", a.Action == b.Action},
		{"step_type", a.Type == b.Type},
		{"screenshot", a.Screenshot == b.Screenshot},
		{"compare", a.Compare == b.Compare},
		{"continue_on_failure", a.ContinueOnFailure == b.ContinueOnFailure},
		{"timeout", a.Timeout == b.Timeout},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

// diffFields compares every field of two definitions but the steps.
// Embedded JSON compares by content; values are given as JSON.
func diffFields(a, b Definition) []FieldChange {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	t := av.Type()
	var out []FieldChange
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || name == "steps" {
			continue
		}
		from, to := jsonValue(av.Field(i).Interface()), jsonValue(bv.Field(i).Interface())
		if !bytes.Equal(from, to) {
			out = append(out, FieldChange{Field: name, From: from, To: to})
		}
	}
	return out
}

// jsonValue encodes one field value compactly. Embedded JSON that does not
// parse (never the case for validated definitions) is given as a string.
func jsonValue(v any) json.RawMessage {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if len(raw) == 0 {
			return json.RawMessage("null")
		}
		if json.Compact(&buf, raw) == nil {
			return buf.Bytes()
		}
		v = string(raw)
	}
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(err.Error())
	}
	return data
}
