package readapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cometa-es/cometa/domain/role"
	"github.com/cometa-es/cometa/internal/cryptojs"
	"github.com/cometa-es/cometa/readapi/apitest"
)

// secretValue is the plain value of an encrypted variable; it must never
// reach an event or an answer.
const secretValue = "hünter2 ✓ secret"

// setVariables sets variables in environment "Default" of the caller's
// department through the seed's batch and stores their ids under the
// placeholders, in order.
func setVariables(t *testing.T, f *apitest.Fixture, user string, body string, placeholders ...string) {
	t.Helper()
	var out struct {
		Data []struct {
			ID int64 `json:"id"`
		} `json:"data"`
	}
	f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", f.Tokens[user], f.Expand(body)).Want(t, 201).JSON(t, &out)
	if len(out.Data) != len(placeholders) {
		t.Fatalf("%d variables set, want %d", len(out.Data), len(placeholders))
	}
	for i, p := range placeholders {
		f.Vars[p] = strconv.FormatInt(out.Data[i].ID, 10)
	}
}

// wantCiphertext checks that the value at path is a ciphertext of
// secretValue under the test server's passphrase.
func wantCiphertext(path string) func(*testing.T, *apitest.Fixture, *apitest.Response) {
	return func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
		t.Helper()
		got := lookup(t, r, path)
		plain, err := cryptojs.Decrypt(apitest.Passphrase, got)
		if err != nil || plain != secretValue {
			t.Errorf("%s %s: %s = %q decrypts to %q, %v", r.Method, r.Path, path, got, plain, err)
		}
	}
}

func variableCases() []apitest.Case {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	const everyRoleSets = "forbidden: every default role has create_variable and edit_variable"
	return []apitest.Case{
		{Method: get, Path: "/backend/api/variables/Default/",
			Prep: func(t *testing.T, f *apitest.Fixture) {
				setVariables(t, f, "devops", `{"environment_name": "Default", "variables": [
					{"variable_name": "password", "variable_value": "`+secretValue+`", "encrypted": true},
					{"variable_name": "host", "variable_value": "https://a.example"}]}`, "{varPassword}", "{varHost}")
				setVariables(t, f, "devopsB", `{"environment_name": "Default", "variables": [
					{"variable_name": "host", "variable_value": "https://b.example"}]}`, "{varB}")
			},
			OK: &apitest.Try{As: "devops", Status: 200, Check: all(listsExactly("", "id", "{varPassword}", "{varHost}"),
				field("0.encrypted", "true"), wantCiphertext("0.variable_value"), field("1.variable_value", "https://a.example"),
				field("0.environment_name", "Default"), field("0.based", "environment"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: listsExactly("", "id", "{varB}")},
			BadBody: &apitest.Try{As: "devops", Path: "/backend/api/variables/No%20such%20env/", Status: 404,
				Check: says(`environment "No such env"`)},
			NA: "forbidden: Cometa's variable list needs no permission"},
		{Method: get, Path: "/backend/api/variables/",
			OK:              &apitest.Try{As: "devops", Status: 200, Check: listsExactly("", "id", "{varPassword}", "{varHost}")},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 200, Check: listsExactly("", "id", "{varB}")},
			NA:              "forbidden: Cometa's variable list needs no permission; bad body: it takes no input"},
		{Method: get, Path: "/api/variables",
			OK: &apitest.Try{As: "admin", Status: 200, Check: listsExactly("", "id", "{varPassword}", "{varHost}", "{varB}")},
			NA: "SUPERUSER sees every department's variables; the bare form without the slash; as above"},
		{Method: post, Path: "/backend/api/variables/",
			OK: &apitest.Try{As: "devops", Status: 200, Body: `{"environment_name": "Default", "variables": [
					{"variable_name": "host", "variable_value": "https://c.example ✓"}]}`,
				Check: all(field("data.0.id", "{varHost}"), field("data.0.variable_value", "https://c.example ✓"))},
			OtherDepartment: &apitest.Try{As: "devops", Status: 403, Check: says("not a member of department {deptB}"),
				Body: `{"environment_name": "Default", "department_id": {deptB}, "variables": [
					{"variable_name": "x", "variable_value": "y"}]}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Check: says("variables[1].variable_value: is required"),
				Body: `{"environment_name": "Default", "variables": [
					{"variable_name": "x", "variable_value": "y"}, {"variable_name": "z"}]}`},
			NA: everyRoleSets},
		{Method: post, Path: "/api/variables",
			OK: &apitest.Try{As: "devops", Status: 201, Check: all(field("success", "true"),
				field("data.variable_name", "ünï_côdé"), field("data.encrypted", "true"), wantCiphertext("data.variable_value")),
				Body: `{"department": {deptA}, "environment": 1, "feature": null, "variable_name": "ünï_côdé",
					"variable_value": "` + secretValue + `", "encrypted": true, "based": "environment"}`},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 403, Check: says("not a member of department {deptA}"),
				Body: `{"department": {deptA}, "environment": 1, "variable_name": "x", "variable_value": "y"}`},
			BadBody: &apitest.Try{As: "devops", Status: 400,
				Check: says("Variable already exists with specified requirements, please update the variable."),
				Body:  `{"department": {deptA}, "environment": 1, "variable_name": "host", "variable_value": "dup"}`},
			NA: everyRoleSets},
		{Method: patch, Path: "/backend/api/variables/{varHost}/",
			OK: &apitest.Try{As: "manager", Status: 200, Body: `{"variable_value": "` + secretValue + `", "encrypted": true}`,
				Check: all(field("data.id", "{varHost}"), wantCiphertext("data.variable_value"),
					field("data.updated_by", "{manager}"), field("data.created_by", "{devops}"))},
			OtherDepartment: &apitest.Try{As: "devopsB", Status: 404, Body: `{"variable_value": "mine"}`},
			BadBody: &apitest.Try{As: "devops", Status: 400, Body: `{"based": "galaxy"}`,
				Check: says("based: must be department, environment or feature")},
			NA: everyRoleSets},
		{Method: del, Path: "/backend/api/variables/{varHost}/",
			OK: &apitest.Try{As: "admin", Status: 200, Check: func(t *testing.T, f *apitest.Fixture, r *apitest.Response) {
				got := f.Srv.Do(t, get, "/backend/api/variables/", f.Tokens["devops"], nil).Want(t, 200)
				if strings.Contains(string(got.Body), `"host"`) {
					t.Errorf("deleted variable still listed: %s", got.Body)
				}
			}},
			Forbidden: &apitest.Try{As: "devops", Path: "/backend/api/variables/{varPassword}/", Status: 403,
				Check: says("Missing permission 'delete_variable'.")},
			BadBody: &apitest.Try{As: "admin", Path: "/backend/api/variables/x/", Status: 400, Check: says("variable_id")},
			NA:      "other department: only SUPERUSER has delete_variable, and it sees every department"},
	}
}

func TestVariableEndpoints(t *testing.T) {
	t.Parallel()
	f := newFeatureFixture(t)
	apitest.RunCases(t, f, variableCases())
	sameAfterRebuild(t, f, map[string][]string{
		"devops":  {"/backend/api/variables/", "/backend/api/variables/Default/"},
		"devopsB": {"/backend/api/variables/"},
		"admin":   {"/backend/api/variables/"},
	})

	// The plain value of an encrypted variable is in no event.
	rows, err := f.Srv.Pool.Query(context.Background(), "SELECT data::text FROM eventlog.events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(data, "hünter2") || strings.Contains(data, `h\u00fcnter2`) {
			t.Errorf("an event holds the plain secret: %s", data)
		}
	}
	// Nor in any row of any read model.
	if tables := readModelsHolding(t, f.Srv, "hünter2", `h\u00fcnter2`); tables != nil {
		t.Errorf("read models hold the plain secret: %v", tables)
	}
	if strings.Contains(f.Srv.Logs.String(), "hünter2") {
		t.Error("the server logged the plain secret")
	}
}

// TestVariableBatchDepartment checks the seed's batch without
// department_id: a caller of one department means it, a caller of two
// gets a 400 naming department_id, and an unknown environment is named.
func TestVariableBatchDepartment(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	_, both := f.Srv.Account(t, "DEVOPS", f.DeptA, f.DeptB)
	f.Tokens["both"] = both
	body := `{"environment_name": "Default", "variables": [{"variable_name": "a", "variable_value": "b"}]}`
	f.Srv.Unchanged(t, "an ambiguous department", func() {
		r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", both, body).Want(t, 400)
		says("department_id: is required")(t, f, r)
	})
	f.Srv.Unchanged(t, "an unknown environment", func() {
		r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", both,
			`{"environment_name": "Nowhere", "department_id": `+f.Vars["{deptB}"]+`, "variables": []}`).Want(t, 400)
		says(`environment_name: no environment named "Nowhere"`)(t, f, r)
	})
	r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", both,
		`{"environment_name": "Default", "department_id": `+f.Vars["{deptB}"]+`, "variables": [
			{"variable_name": "a", "variable_value": "b"}]}`).Want(t, 201)
	field("data.0.department", "{deptB}")(t, f, r)
}

// TestVariableBatchDepartmentFirst: the batch checks the department before
// it looks up the environment, so an outsider gets the same 403 whatever
// environment it names (unknown, shared, by id), and a deleted department
// is a 400 naming department even with an unknown environment name.
func TestVariableBatchDepartmentFirst(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	for range 2 {
		created("{twin}", "/backend/api/environments/", "environment_id",
			map[string]any{"environment_name": "Twin"})(t, f)
	}
	items := `"variables": [{"variable_name": "a", "variable_value": "b"}]`
	for _, env := range []string{`"environment_name": "NoSuchEnv"`, `"environment_name": "Default"`,
		`"environment_name": "Twin"`, `"environment_id": 999`, `"environment_id": 1`} {
		f.Srv.Unchanged(t, "an outsider with "+env, func() {
			r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", f.Tokens["devopsB"],
				f.Expand(`{`+env+`, "department_id": {deptA}, `+items+`}`)).Want(t, http.StatusForbidden)
			says("not a member of department {deptA}")(t, f, r)
		})
	}

	gone := f.Srv.Department(t, "Gone")
	f.Srv.Do(t, http.MethodDelete, fmt.Sprintf("/backend/api/departments/%d/", gone), f.Srv.AdminToken, nil).
		Want(t, 200)
	for _, dep := range []int64{gone, -1} {
		f.Srv.Unchanged(t, fmt.Sprintf("department %d", dep), func() {
			r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", f.Srv.AdminToken,
				fmt.Sprintf(`{"environment_name": "NoSuchEnv", "department_id": %d, %s}`, dep, items)).Want(t, 400)
			says(fmt.Sprintf("department: department %d does not exist", dep))(t, f, r)
		})
	}
}

// readModelsHolding returns the read model tables (those of the rm_
// schemas) with a row whose text holds any of needles.
func readModelsHolding(t *testing.T, srv *apitest.Server, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := srv.Pool.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
		FROM information_schema.tables WHERE table_schema LIKE 'rm\_%' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("read model tables %v: %v", tables, err)
	}
	var holding []string
	for _, table := range tables {
		var found bool
		if err := srv.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+
			" r WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) n WHERE strpos(r::text, n) > 0))",
			needles).Scan(&found); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if found {
			holding = append(holding, table)
		}
	}
	return holding
}

// TestVariablesOfUnicodeEnvironment reads the seed's variables of one
// environment whose name needs percent-encoding in the path (any Unicode,
// even a slash).
func TestVariablesOfUnicodeEnvironment(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	const env = "Prüfung ✓/β"
	f.Srv.Do(t, http.MethodPost, "/api/environments/", f.Srv.AdminToken, map[string]any{"environment_name": env}).
		Want(t, http.StatusCreated)
	setVariables(t, f, "devops", `{"environment_name": "`+env+`", "variables": [
		{"variable_name": "greeting", "variable_value": "grüß dich"}]}`, "{varEnv}")
	setVariables(t, f, "devops", `{"environment_name": "Default", "variables": [
		{"variable_name": "greeting", "variable_value": "hello"}]}`, "{varDefault}")

	r := f.Srv.Do(t, http.MethodGet, "/backend/api/variables/"+url.PathEscape(env)+"/", f.Tokens["devops"], nil).Want(t, 200)
	all(listsExactly("", "id", "{varEnv}"), field("0.environment_name", env), field("0.variable_value", "grüß dich"))(t, f, r)
}

// TestVariableBatchAmbiguousEnvironment: environment names are not
// unique, so a batch naming an environment that several have is refused,
// naming environment_name, instead of setting variables in one of them;
// environment_id names one. The list of one environment by name refuses
// such a name too.
func TestVariableBatchAmbiguousEnvironment(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	var ids []string
	for range 2 {
		created("{env}", "/backend/api/environments/", "environment_id",
			map[string]any{"environment_name": "RaceEnv"})(t, f)
		ids = append(ids, f.Vars["{env}"])
	}
	items := `"variables": [{"variable_name": "a", "variable_value": "b"}]`
	for _, tc := range []struct{ name, env, says string }{
		{"a shared name", `"environment_name": "RaceEnv"`,
			`environment_name: "RaceEnv" is the name of more than one environment: give environment_id instead`},
		{"name and id", `"environment_name": "RaceEnv", "environment_id": ` + ids[0],
			"environment_id: give environment_id or environment_name, not both"},
		{"an unknown id", `"environment_id": 4040`, "environment_id: no environment 4040"},
	} {
		f.Srv.Unchanged(t, tc.name, func() {
			r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", f.Srv.AdminToken,
				`{`+tc.env+`, "department_id": `+f.Vars["{deptA}"]+`, `+items+`}`).Want(t, 400)
			says(tc.says)(t, f, r)
		})
	}
	r := f.Srv.Do(t, http.MethodGet, "/backend/api/variables/RaceEnv/", f.Srv.AdminToken, nil).Want(t, 400)
	says(`environment_name: "RaceEnv" is the name of more than one environment`)(t, f, r)

	r = f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", f.Srv.AdminToken,
		`{"environment_id": `+ids[1]+`, "department_id": `+f.Vars["{deptA}"]+`, `+items+`}`).Want(t, 201)
	field("data.0.environment", ids[1])(t, f, r)
	f.Vars["{inSecond}"] = lookup(t, r, "data.0.id")

	// ?environment_id= tells the two apart where the name cannot.
	r = f.Srv.Do(t, http.MethodGet, "/backend/api/variables/?environment_id="+ids[1], f.Srv.AdminToken, nil).Want(t, 200)
	listsExactly("", "id", "{inSecond}")(t, f, r)
	r = f.Srv.Do(t, http.MethodGet, "/backend/api/variables/?environment_id="+ids[0], f.Srv.AdminToken, nil).Want(t, 200)
	listsExactly("", "id")(t, f, r)
	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/backend/api/variables/?environment_id=4040", 404, "environment 4040"},
		{"/backend/api/variables/?environment_id=0", 400, "environment_id: must be a positive integer"},
		{"/backend/api/variables/?environment_id=x", 400, `environment_id: expected integer, got "x"`},
		{"/backend/api/variables/No%20such%20env/", 404, `environment "No such env"`},
		{"/backend/api/variables/%20/", 400, "environment_name: must not be empty"},
	} {
		r := f.Srv.Do(t, http.MethodGet, tc.path, f.Srv.AdminToken, nil).Want(t, tc.status)
		says(tc.says)(t, f, r)
	}
}

// TestVariableBatchConcurrent sends 8 batches setting one new name at
// once, as the seed's clients do: each answers 201 or 200, and one
// variable has the name, with one of the values sent.
func TestVariableBatchConcurrent(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	const batches = 8
	statuses := make([]int, batches)
	bodies := make([]string, batches)
	var wg sync.WaitGroup
	for i := range batches {
		wg.Go(func() {
			r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", f.Tokens["devops"],
				fmt.Sprintf(`{"environment_name": "Default", "variables": [
					{"variable_name": "RACED", "variable_value": "value %d"}]}`, i))
			statuses[i], bodies[i] = r.Status, string(r.Body)
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusCreated && s != http.StatusOK {
			t.Errorf("batch %d: status %d (%s), want 201 or 200", i, s, bodies[i])
		}
	}

	var list []struct {
		Name  string `json:"variable_name"`
		Value string `json:"variable_value"`
	}
	f.Srv.Do(t, http.MethodGet, "/backend/api/variables/", f.Tokens["devops"], nil).Want(t, 200).JSON(t, &list)
	var values []string
	for _, v := range list {
		if v.Name == "RACED" {
			values = append(values, v.Value)
		}
	}
	if len(values) != 1 || !strings.HasPrefix(values[0], "value ") {
		t.Errorf("variables named RACED hold %q, want one of the values sent", values)
	}
}

// TestVariableOutsiderLearnsNoNames writes, as a MANAGER of another
// department only, variables into a department whose variable USER
// exists: whether the name exists or not, the batch, the single form and
// a PATCH moving the caller's own variable there are all the same 403,
// and append nothing.
func TestVariableOutsiderLearnsNoNames(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	setVariables(t, f, "devops", `{"environment_name": "Default", "variables": [
		{"variable_name": "USER", "variable_value": "alice"}]}`, "{user}")
	_, outsider := f.Srv.Account(t, role.Manager, f.DeptB)
	f.Tokens["outsider"] = outsider
	setVariables(t, f, "outsider", `{"environment_name": "Default", "variables": [
		{"variable_name": "USER", "variable_value": "bob"}]}`, "{mine}")

	for _, name := range []string{"USER", "NO_SUCH_NAME"} {
		for _, tc := range []struct{ method, path, body string }{
			{http.MethodPost, "/backend/api/variables/", `{"environment_name": "Default", "department_id": {deptA},
				"variables": [{"variable_name": "` + name + `", "variable_value": "pwn"}]}`},
			{http.MethodPost, "/backend/api/variables/", `{"environment_id": 1, "department_id": {deptA},
				"variables": [{"variable_name": "` + name + `", "variable_value": "pwn"}]}`},
			{http.MethodPost, "/backend/api/variables/", `{"department": {deptA}, "environment": 1,
				"variable_name": "` + name + `", "variable_value": "pwn"}`},
			{http.MethodPatch, "/backend/api/variables/{mine}/",
				`{"department": {deptA}, "variable_name": "` + name + `"}`},
		} {
			f.Srv.Unchanged(t, tc.method+" "+name, func() {
				r := f.Srv.Do(t, tc.method, f.Expand(tc.path), outsider, f.Expand(tc.body)).Want(t, http.StatusForbidden)
				says("not a member of department {deptA}")(t, f, r)
			})
		}
	}
}

// TestVariablesOfEnvironmentByNameAndID lists the variables of one
// environment by name and ?environment_id= together: the id picks the
// environment, so a name two environments share is no longer ambiguous,
// and a name that is not the environment's is a 400 naming both. A name
// with nothing visible in it is empty, and an unknown name says that the
// path takes an environment name, not a variable id.
func TestVariablesOfEnvironmentByNameAndID(t *testing.T) {
	t.Parallel()
	f := apitest.NewFixture(t, apitest.Start(t, apitest.Options{}))
	var prod []string
	for range 2 {
		created("{env}", "/backend/api/environments/", "environment_id",
			map[string]any{"environment_name": "Prod"})(t, f)
		prod = append(prod, f.Vars["{env}"])
	}
	r := f.Srv.Do(t, http.MethodPost, "/backend/api/variables/", f.Tokens["devops"], `{"environment_id": `+prod[1]+
		`, "variables": [{"variable_name": "a", "variable_value": "b"}]}`).Want(t, 201)
	f.Vars["{inSecond}"] = lookup(t, r, "data.0.id")

	for _, tc := range []struct {
		path   string
		status int
		check  func(*testing.T, *apitest.Fixture, *apitest.Response)
	}{
		{"/backend/api/variables/Prod/?environment_id=" + prod[1], 200, listsExactly("", "id", "{inSecond}")},
		{"/backend/api/variables/Prod/?environment_id=" + prod[0], 200, listsExactly("", "id")},
		{"/backend/api/variables/Default/?environment_id=" + prod[1], 400,
			says(`environment_name: "Default" is not the name of environment_id ` + prod[1] + ` (that is "Prod")`)},
		{"/backend/api/variables/Prod/?environment_id=4040", 404, says("environment 4040: not found")},
		{"/backend/api/variables/Prod/?environment_id=0", 400, says("environment_id: must be a positive integer")},
		{"/backend/api/variables/Prod/", 400, says(`"Prod" is the name of more than one environment`)},
		{"/backend/api/variables/%E2%80%8B/", 400, says("environment_name: must not be empty")},
		{"/backend/api/variables/%20%E2%80%8B%E3%85%A4/", 400, says("environment_name: must not be empty")},
		{"/backend/api/variables/" + f.Vars["{inSecond}"] + "/", 404,
			says(`environment "` + f.Vars["{inSecond}"] +
				`": not found (GET /variables/<name>/ takes an environment name`)},
	} {
		t.Run(tc.path, func(t *testing.T) {
			tc.check(t, f, f.Srv.Do(t, http.MethodGet, tc.path, f.Tokens["devops"], nil).Want(t, tc.status))
		})
	}
}
