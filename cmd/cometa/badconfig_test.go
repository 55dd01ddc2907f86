package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// wrongValues holds, for every configuration variable, a value the
// binary must refuse. The BrowserStack credentials are wrong only as a
// pair (one set, the other empty): their single problem names both.
var wrongValues = map[string]string{
	"COMETA_LISTEN":                   "nowhere",
	"COMETA_DATA_DIR":                 " ",
	"COMETA_DATABASE_URL":             "mysql://db/cometa",
	"COMETA_EVENTSTORE":               "kafka://broker:9092",
	"COMETA_BOOTSTRAP_TOKEN":          "short",
	"COMETA_LOG_LEVEL":                "loud",
	"COMETA_LOG_FORMAT":               "xml",
	"COMETA_PG_BIN_DIR":               "bin",
	"COMETA_BROWSER_BIN":              "chromium",
	"COMETA_BROWSER_URL":              "http://chrome:9222",
	"COMETA_BROWSER_LOOPBACK_ONLY":    "perhaps",
	"COMETA_MAX_PARALLEL_RUNS":        "0",
	"COMETA_RUN_LEASE":                "forever",
	"COMETA_SCHEDULER_GRACE":          "0s",
	"COMETA_SCHEDULER_POLL_INTERVAL":  "1ms",
	"COMETA_STEP_TIMEOUT_MAX":         "48h",
	"COMETA_ENCRYPTION_PASSPHRASE":    "abc",
	"COMETA_BODY_LIMIT":               "lots",
	"COMETA_READ_YOUR_WRITES_TIMEOUT": "2h",
	"COMETA_BROWSERSTACK_USERNAME":    "someone",
	"COMETA_BROWSERSTACK_ACCESS_KEY":  "",
	"COMETA_BROWSERSTACK_URL":         "ftp://browserstack",
	"COMETA_SHUTDOWN_TIMEOUT":         "-1s",
}

// pairedWith names the variables whose problem is reported under another
// variable's key.
var pairedWith = map[string]string{
	"COMETA_BROWSERSTACK_ACCESS_KEY": "COMETA_BROWSERSTACK_USERNAME",
}

// readmeVariables returns the variables of the README's configuration
// table, in table order.
func readmeVariables(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `(COMETA_[A-Z0-9_]+)` \\|")
	var vars []string
	for _, line := range strings.Split(string(readme), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			vars = append(vars, m[1])
		}
	}
	if len(vars) == 0 {
		t.Fatal("README has no configuration table")
	}
	return vars
}

// TestServeRefusesEveryWrongVariable starts `cometa serve` with every
// variable of the README's table set to a wrong value at once: it exits
// with the configuration exit code, lists one problem per variable, and
// creates nothing.
func TestServeRefusesEveryWrongVariable(t *testing.T) {
	t.Parallel()
	vars := readmeVariables(t)
	env := make([]string, 0, len(vars))
	problems := 0
	for _, key := range vars {
		value, ok := wrongValues[key]
		if !ok {
			t.Errorf("the README documents %s, but this test knows no wrong value for it", key)
			continue
		}
		env = append(env, key+"="+value)
		if _, paired := pairedWith[key]; !paired {
			problems++
		}
	}

	work := dataDir(t)
	cmd := exec.Command(cometaBinary(t), "serve")
	cmd.Env = childEnv(env...)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitConfig {
		t.Fatalf("cometa serve with every variable wrong: %v, want exit %d\n%s", err, exitConfig, out)
	}

	lines := strings.Split(string(out), "\n")
	for _, key := range vars {
		if _, ok := wrongValues[key]; !ok {
			continue
		}
		owner := key
		if other, paired := pairedWith[key]; paired {
			owner = other
		}
		found := false
		for _, line := range lines {
			found = found || (strings.HasPrefix(line, "  - "+owner+": ") && strings.Contains(line, key))
		}
		if !found {
			t.Errorf("no problem line names %s:\n%s", key, out)
		}
	}
	if head := fmt.Sprintf("invalid configuration (%d problems):", problems); !strings.Contains(string(out), head) {
		t.Errorf("output does not start the list with %q:\n%s", head, out)
	}
	if entries, err := os.ReadDir(work); err != nil || len(entries) > 0 {
		t.Errorf("a refused configuration left files in the working directory: %v %v", entries, err)
	}
}
