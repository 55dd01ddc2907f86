package readapi_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/cometa-es/cometa/readapi"
	"github.com/cometa-es/cometa/readapi/apitest"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestBrowserStackList stands a fake BrowserStack on 127.0.0.1 in for the
// real one: the list is fetched with the credentials, passed through and
// kept; a failing BrowserStack is a 502 in Cometa's shape.
func TestBrowserStackList(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var fail atomic.Bool
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		user, key, ok := r.BasicAuth()
		if !ok || user != "alice" || key != "s3cret" || r.URL.Path != "/automate/browsers.json" || fail.Load() {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"os": "Windows", "os_version": "11", "browser": "chrome", "browser_version": "120.0", "device": null, "real_mobile": null}]`))
	}))
	t.Cleanup(fake.Close)

	srv := apitest.Start(t, apitest.Options{BrowserStack: readapi.BrowserStack{Username: "alice", AccessKey: "s3cret", URL: fake.URL}})
	for range 2 {
		m := srv.Do(t, get, "/backend/browsers/browserstack/", srv.AdminToken, nil).Want(t, 200).Map(t)
		list, _ := m["results"].([]any)
		if m["success"] != true || len(list) != 1 || list[0].(map[string]any)["os"] != "Windows" {
			t.Fatalf("browserstack list %v", m)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("BrowserStack asked %d times, want once (the list is kept)", n)
	}

	bad := apitest.Start(t, apitest.Options{BrowserStack: readapi.BrowserStack{Username: "alice", AccessKey: "wrong", URL: fake.URL}})
	m := bad.Do(t, get, "/backend/browsers/browserstack/", bad.AdminToken, nil).Want(t, http.StatusBadGateway).Map(t)
	if m["success"] != false || !strings.Contains(m["msg"].(string), "401") {
		t.Errorf("failing BrowserStack: %v", m)
	}
}

// TestEncryptCompatibleWithCryptoJS decrypts what CryptoJS 4.2.0 made with
// the server's passphrase, so values made by Cometa's UI work here.
func TestEncryptCompatibleWithCryptoJS(t *testing.T) {
	t.Parallel()
	file, err := os.Open("../internal/cryptojs/testdata/cryptojs-4.2.0.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { file.Close() })
	sc := bufio.NewScanner(file)
	n := 0
	for sc.Scan() {
		var v struct{ Passphrase, Plaintext, Ciphertext string }
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		srv := apitest.Start(t, apitest.Options{Passphrase: v.Passphrase})
		got := srv.Do(t, post, "/backend/encrypt/", srv.AdminToken,
			map[string]any{"action": "decrypt", "text": v.Ciphertext}).Want(t, 200).Map(t)
		if got["result"] != v.Plaintext {
			t.Errorf("decrypt %q with %q = %v, want %q", v.Ciphertext, v.Passphrase, got["result"], v.Plaintext)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no CryptoJS vectors")
	}
}

// TestMetrics checks that /metrics counts requests by route pattern, not
// raw path, and reports every read model's lag and state.
func TestMetrics(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	srv.Do(t, del, "/backend/api/accounts/77/", srv.AdminToken, nil).Want(t, 404)
	srv.Do(t, get, "/backend/api/nope/", srv.AdminToken, nil).Want(t, 404)
	r := srv.Do(t, get, "/metrics", "", nil).Want(t, 200)
	text := string(r.Body)
	for _, want := range []string{
		`cometa_http_requests_total{method="DELETE",route="/backend/api/accounts/:user_id/",status="404"} 1`,
		`cometa_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`cometa_http_request_duration_seconds_bucket{method="DELETE",route="/backend/api/accounts/:user_id/",le="+Inf"} 1`,
		`cometa_projection_status_up 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s\n%s", want, grepLines(text, "cometa_http_requests_total"))
		}
	}
	for _, name := range srv.Manager.Names() {
		for _, metric := range []string{"cometa_projection_lag_events", "cometa_projection_lag_seconds"} {
			if !regexp.MustCompile(metric + `\{read_model="` + name + `"\} \d`).MatchString(text) {
				t.Errorf("metrics lack %s of %s", metric, name)
			}
		}
		if !regexp.MustCompile(`cometa_projection_state\{read_model="` + name + `",state="[a-z_]+"\} 1`).MatchString(text) {
			t.Errorf("metrics lack the state of %s", name)
		}
	}
	if strings.Contains(text, "/77/") {
		t.Error("a raw path leaked into a metric label")
	}
}

// TestDocs checks the documentation: one OpenAPI document naming every
// route the core registers, served as JSON, and a page made from it that
// loads nothing from elsewhere.
func TestDocs(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	srv.Do(t, get, "/docs/openapi.json", "", nil).Want(t, 200).JSON(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for path, methods := range map[string][]string{
		"/api/accounts/": {"get", "post"}, "/api/accounts/{user_id}/": {"patch", "delete"},
		"/api/accounts/{user_id}/tokens/": {"post", "delete"}, "/api/account_roles/": {"get"},
		"/addoidcaccount/": {"get"}, "/api/departments/": {"get", "post"},
		"/api/departments/{department_id}/": {"patch", "delete"}, "/user/departments/": {"get"},
		"/api/applications/": {"get", "post"}, "/api/environments/": {"get", "post"},
		"/api/browsers/": {"get"}, "/browsers/browserstack/": {"get"}, "/api/actions/": {"get"},
		"/parseActions/": {"get"}, "/info/": {"get"}, "/encrypt/": {"get", "post"},
	} {
		for _, m := range methods {
			if doc.Paths[path][m] == nil {
				t.Errorf("the document lacks %s %s", m, path)
			}
		}
	}
	page := srv.Send(t, apitest.Request{Method: get, Path: "/docs"}).Want(t, 200)
	if ct := page.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("/docs Content-Type %q", ct)
	}
	html := string(page.Body)
	if !strings.Contains(html, "/api/accounts/{user_id}/tokens/") || !strings.Contains(html, "Missing permission") {
		t.Error("the page does not show the document")
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`).MatchString(html) {
		t.Error("the page loads something from elsewhere")
	}
}

// TestEveryRouteDocumented mounts the API on an app of its own and wants
// every route it registers to be an operation of the OpenAPI document, so
// that a route no test calls cannot go undocumented either. Only the
// operations routes (/metrics, /docs) are outside the document.
func TestEveryRouteDocumented(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	app := fiber.New()
	if err := readapi.Mount(app, srv.Deps); err != nil {
		t.Fatal(err)
	}
	doc, err := readapi.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	checked := 0
	for _, r := range app.GetRoutes(true) {
		if r.Method == http.MethodHead || r.Path == "/metrics" || strings.HasPrefix(r.Path, "/docs") {
			continue
		}
		// The document's paths are the bare form; /backend is a server.
		path := strings.TrimPrefix(r.Path, "/backend")
		path = strings.Replace(param.ReplaceAllString(path, "{$1}"), "*", "{name}/", 1)
		if item := doc.Paths.Find(path); item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is served but not in the OpenAPI document", r.Method, r.Path)
		}
		checked++
	}
	if checked < 100 {
		t.Errorf("only %d routes checked", checked)
	}
}

// TestBootstrapToken checks the bootstrap account: SUPERUSER admin@localhost
// in the "Default" department, whose token is COMETA_BOOTSTRAP_TOKEN.
func TestBootstrapToken(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	me := srv.Do(t, get, "/backend/addoidcaccount/", apitest.AdminToken, nil).Want(t, 200).Map(t)
	deps := me["departments"].([]any)
	if me["email"] != "admin@localhost" || me["user_permissions"].(map[string]any)["permission_name"] != "SUPERUSER" ||
		len(deps) != 1 || deps[0].(map[string]any)["department_name"] != "Default" {
		t.Errorf("bootstrap account %v", me)
	}
	for _, path := range []string{"/backend/api/applications/", "/backend/api/environments/"} {
		if body := string(srv.Do(t, get, path, apitest.AdminToken, nil).Want(t, 200).Body); !strings.Contains(body, `"Default"`) {
			t.Errorf("GET %s: %s, want the Default entry", path, body)
		}
	}
	// Tokens are kept as their hashes only, by the read models too.
	_, issued := srv.Account(t, "DEVOPS", srv.DefaultDepartment)
	if tables := readModelsHolding(t, srv, apitest.AdminToken, issued); tables != nil {
		t.Errorf("read models hold a token: %v", tables)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+apitest.AdminToken))
	srv.Send(t, apitest.Request{Method: get, Path: "/backend/api/departments/", Header: http.Header{"Authorization": {basic}}}).Want(t, 401)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
