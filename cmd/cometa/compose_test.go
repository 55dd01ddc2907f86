package main

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// There is no Docker engine on the machines this project is built on, so
// docker-compose.yml and the Dockerfile are checked by parsing them: the
// services, their images, healthchecks, start order and the configuration
// they hand to cometa.

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string                       `yaml:"image"`
	Build       any                          `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Environment map[string]string            `yaml:"environment"`
	Ports       []string                     `yaml:"ports"`
	Volumes     []string                     `yaml:"volumes"`
	DependsOn   map[string]map[string]string `yaml:"depends_on"`
	Healthcheck struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	for name, svc := range f.Services {
		for k, v := range svc.Environment {
			svc.Environment[k] = interpolate(v)
		}
		f.Services[name] = svc
	}
	return f
}

// interpolate resolves compose's ${NAME:-default} and ${NAME} as an empty
// environment would.
func interpolate(s string) string {
	re := regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::-([^}]*))?\}`)
	return re.ReplaceAllString(s, "$1")
}

func TestComposeServices(t *testing.T) {
	t.Parallel()
	f := loadCompose(t)

	for _, name := range []string{"eventstore", "postgres", "cometa", "runner"} {
		svc, ok := f.Services[name]
		if !ok {
			t.Errorf("service %q is missing", name)
			continue
		}
		if len(svc.Healthcheck.Test) < 2 || svc.Healthcheck.Test[0] != "CMD-SHELL" {
			t.Errorf("service %q has no CMD-SHELL healthcheck: %q", name, svc.Healthcheck.Test)
		}
		if svc.Healthcheck.Interval == "" {
			t.Errorf("service %q healthcheck has no interval", name)
		}
		for _, v := range svc.Volumes {
			volume, _, _ := strings.Cut(v, ":")
			if _, ok := f.Volumes[volume]; !ok {
				t.Errorf("service %q mounts undeclared volume %q", name, volume)
			}
		}
	}

	if img := f.Services["eventstore"].Image; !strings.HasPrefix(img, "eventstore/eventstore:") {
		t.Errorf("eventstore image = %q, want eventstore/eventstore", img)
	}
	if es := f.Services["eventstore"].Environment; es["EVENTSTORE_INSECURE"] != "true" ||
		es["EVENTSTORE_CLUSTER_SIZE"] != "1" {
		t.Errorf("eventstore is not a single insecure node: %v", es)
	}
	if img := f.Services["postgres"].Image; img != "postgres:15" && !strings.HasPrefix(img, "postgres:15.") {
		t.Errorf("postgres image = %q, want PostgreSQL 15", img)
	}
	for _, name := range []string{"cometa", "runner"} {
		if f.Services[name].Build == nil {
			t.Errorf("service %q is not built from the Dockerfile", name)
		}
	}

	wantDeps := map[string][]string{
		"cometa": {"eventstore", "postgres"},
		"runner": {"eventstore", "postgres", "cometa"},
	}
	for name, deps := range wantDeps {
		for _, dep := range deps {
			if got := f.Services[name].DependsOn[dep]["condition"]; got != "service_healthy" {
				t.Errorf("%s depends_on %s condition = %q, want service_healthy", name, dep, got)
			}
		}
	}
}

func TestComposeCometaConfig(t *testing.T) {
	t.Parallel()
	f := loadCompose(t)

	params, err := env.GetFieldParams(&Config{})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, p := range params {
		known[p.Key] = true
	}
	subcommands := cliCommands(t)
	pg := f.Services["postgres"].Environment

	for _, name := range []string{"cometa", "runner"} {
		svc := f.Services[name]
		var environ []string
		for k, v := range svc.Environment {
			if !known[k] {
				t.Errorf("%s sets %s, which Config does not read", name, k)
			}
			environ = append(environ, k+"="+v)
		}
		cfg, err := LoadConfig(environ)
		if err != nil {
			t.Errorf("%s's environment is not a valid configuration: %v", name, err)
			continue
		}

		if len(svc.Command) == 0 || !slices.Contains(subcommands, svc.Command[0]) {
			t.Errorf("%s command = %q, want one of %q", name, svc.Command, subcommands)
		}

		es, _ := url.Parse(cfg.EventStore)
		if es == nil || es.Scheme != "esdb" || es.Hostname() != "eventstore" || es.Port() != "2113" {
			t.Errorf("%s COMETA_EVENTSTORE = %q, want esdb://eventstore:2113", name, cfg.EventStore)
		}
		db, _ := url.Parse(cfg.DatabaseURL)
		if db == nil || db.Hostname() != "postgres" || db.Port() != "5432" {
			t.Fatalf("%s COMETA_DATABASE_URL = %q, want the postgres service", name, cfg.DatabaseURL)
		}
		password, _ := db.User.Password()
		if db.User.Username() != pg["POSTGRES_USER"] || password != pg["POSTGRES_PASSWORD"] ||
			strings.TrimPrefix(db.Path, "/") != pg["POSTGRES_DB"] {
			t.Errorf("%s COMETA_DATABASE_URL does not match the postgres service's user, "+
				"password and database", name)
		}

		// The healthcheck probes the port cometa listens on.
		host, port, _ := net.SplitHostPort(cfg.Listen)
		if host != "0.0.0.0" {
			t.Errorf("%s listens on %q; in a container it must listen on 0.0.0.0", name, cfg.Listen)
		}
		if !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), ":"+port+"/readyz") {
			t.Errorf("%s healthcheck %q does not probe /readyz on port %s", name,
				svc.Healthcheck.Test, port)
		}
	}

	if got := f.Services["cometa"].Ports; !slices.Contains(got, "127.0.0.1:8000:8000") {
		t.Errorf("cometa ports = %q, want 127.0.0.1:8000:8000", got)
	}
	if got := f.Services["eventstore"].Ports; !slices.Contains(got, "127.0.0.1:2113:2113") {
		t.Errorf("eventstore ports = %q, want 127.0.0.1:2113:2113", got)
	}
	if got := f.Services["runner"].Environment["COMETA_BROWSER_BIN"]; got != "/usr/bin/chromium" {
		t.Errorf("runner COMETA_BROWSER_BIN = %q, want Debian's /usr/bin/chromium", got)
	}
}

func TestDockerfile(t *testing.T) {
	t.Parallel()

	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	text := string(raw)
	for _, line := range strings.Split(text, "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == "FROM" {
			from = append(from, fields[1])
		}
	}
	if len(from) != 2 || !strings.HasPrefix(from[0], "golang:1.26") ||
		!strings.HasPrefix(from[1], "debian:bookworm") {
		t.Errorf("stages = %q, want golang:1.26 then debian:bookworm", from)
	}
	for _, want := range []string{
		"go build", "./cmd/cometa", "-X main.version=", "chromium", "curl",
		"COPY --from=build", `ENTRYPOINT ["/usr/local/bin/cometa"]`, "USER cometa",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// cliCommands lists the names of the binary's subcommands.
func cliCommands(t *testing.T) []string {
	t.Helper()
	parser, err := kong.New(&cli{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, node := range parser.Model.Children {
		names = append(names, node.Name)
	}
	return names
}
