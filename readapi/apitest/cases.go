package apitest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cometa-es/cometa/domain/role"
)

// Fixture is the cast of a table test: two departments and an account of
// each role in them, created through the API.
type Fixture struct {
	Srv *Server
	// DeptA is the bootstrap's "Default" department; DeptB another one.
	DeptA, DeptB int64
	// Tokens by user: "admin" (SUPERUSER), "manager", "devops",
	// "anonymous" and "analysis" (in DeptA), "devopsB" (in DeptB only).
	Tokens map[string]string
	// IDs are the account ids of the same users.
	IDs map[string]int64
	// Vars replace placeholders in a Case's paths and string bodies:
	// {deptA}, {deptB}, {<user>} (the user's account id), and whatever a
	// Case's Prep adds.
	Vars map[string]string
}

// NewFixture creates the fixture's departments and accounts on srv.
func NewFixture(t *testing.T, srv *Server) *Fixture {
	t.Helper()
	f := &Fixture{Srv: srv, DeptA: srv.DefaultDepartment, Tokens: map[string]string{"admin": srv.AdminToken},
		IDs: map[string]int64{"admin": 1}, Vars: map[string]string{}}
	f.DeptB = srv.Department(t, "Department B")
	for _, u := range []struct {
		name, role string
		dept       int64
	}{
		{"manager", role.Manager, f.DeptA}, {"devops", role.Devops, f.DeptA},
		{"anonymous", role.Anonymous, f.DeptA}, {"analysis", role.Analysis, f.DeptA},
		{"devopsB", role.Devops, f.DeptB},
	} {
		f.IDs[u.name], f.Tokens[u.name] = srv.Account(t, u.role, u.dept)
	}
	f.Vars["{deptA}"] = strconv.FormatInt(f.DeptA, 10)
	f.Vars["{deptB}"] = strconv.FormatInt(f.DeptB, 10)
	for name, id := range f.IDs {
		f.Vars["{"+name+"}"] = strconv.FormatInt(id, 10)
	}
	return f
}

// Expand replaces the fixture's placeholders in s.
func (f *Fixture) Expand(s string) string {
	for k, v := range f.Vars {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// Case is one row of an endpoint table: one method and path, and the four
// requests every endpoint is tried with. A nil request does not apply to
// the endpoint; NA says why.
type Case struct {
	Method, Path string
	// Prep runs before the requests, e.g. to create the object the path
	// names and put its id into f.Vars.
	Prep func(t *testing.T, f *Fixture)
	// OK is the success case.
	OK *Try
	// Forbidden is a caller without the permission: 403, nothing appended.
	Forbidden *Try
	// OtherDepartment is a caller, or an object, of another department:
	// the request is refused (or the answer leaves the object out) and
	// nothing is appended.
	OtherDepartment *Try
	// BadBody is invalid input: 400 (or 415) naming the problem, nothing
	// appended.
	BadBody *Try
	// NA explains the requests that are nil.
	NA string
}

// Try is one request of a Case.
type Try struct {
	// As is the fixture user whose token is sent ("" sends none).
	As string
	// Path overrides the Case's path (placeholders are expanded).
	Path string
	// Body is sent as in Request.Body; strings are expanded.
	Body any
	// ContentType overrides application/json.
	ContentType string
	// Status is the status wanted.
	Status int
	// Check looks at the answer further.
	Check func(t *testing.T, f *Fixture, r *Response)
}

// RunCases runs every Case as a subtest, in order (later rows may rely on
// what earlier ones created). Refused requests must append nothing.
func RunCases(t *testing.T, f *Fixture, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Method+" "+c.Path, func(t *testing.T) {
			if c.OK == nil || (c.Forbidden == nil || c.OtherDepartment == nil || c.BadBody == nil) && c.NA == "" {
				t.Fatalf("a case needs OK, and NA to explain every nil request")
			}
			if c.Prep != nil {
				c.Prep(t, f)
			}
			for _, step := range []struct {
				name    string
				try     *Try
				refused bool
			}{
				{"ok", c.OK, false}, {"forbidden", c.Forbidden, true},
				{"other department", c.OtherDepartment, true}, {"bad body", c.BadBody, true},
			} {
				if step.try == nil {
					continue
				}
				t.Run(step.name, func(t *testing.T) {
					send := func() { f.try(t, c, step.try) }
					if step.refused || c.Method == http.MethodGet {
						f.Srv.Unchanged(t, c.Method+" "+c.Path+" ("+step.name+")", send)
						return
					}
					send()
				})
			}
		})
	}
}

// try sends one request of c and checks its status.
func (f *Fixture) try(t *testing.T, c Case, tr *Try) {
	t.Helper()
	path := c.Path
	if tr.Path != "" {
		path = tr.Path
	}
	body := tr.Body
	if s, ok := body.(string); ok {
		body = f.Expand(s)
	}
	r := f.Srv.Send(t, Request{Method: c.Method, Path: f.Expand(path), Token: f.Tokens[tr.As],
		Body: body, ContentType: tr.ContentType})
	r.Want(t, tr.Status)
	if tr.Check != nil {
		tr.Check(t, f, r)
	}
}
