package eventschemas_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/eventschemas"
)

var update = flag.Bool("update", false, "rewrite the current-version golden fixtures from the samples")

const sampleCiphertext = "U2FsdGVkX1+X8pvfbirj2eVHFfTaVKDFkHvLEPkJ9Qw="

// samples holds a fully populated payload per event type of these areas;
// the golden fixture of its current version is its encoding (written with
// -update). A type without a sample is still checked against its
// hand-written fixtures.
func samples(t *testing.T) map[string]eventschemas.Payload {
	t.Helper()
	secret, err := eventschemas.Ciphertext(sampleCiphertext)
	if err != nil {
		t.Fatal(err)
	}
	list := []eventschemas.Payload{
		&eventschemas.AccountCreated{AccountID: 2, Name: "Zoë Ångström", Email: "zoe@example.com",
			Role: "DEVOPS", Departments: []int64{1, 3}},
		&eventschemas.AccountUpdated{AccountID: 2, Name: "Zoë Å.", Email: "zoe@example.org",
			Role: "MANAGER", Departments: []int64{3},
			Settings:          json.RawMessage(`{"continue_on_failure":true}`),
			FavouriteBrowsers: json.RawMessage(`[{"browser":"chrome","os":"Generic"}]`)},
		&eventschemas.AccountDeleted{AccountID: 2},
		&eventschemas.TokenIssued{AccountID: 2, TokenID: "0b7e9f3c-3d4a-4a8e-9a61-2f0c8e3d5b11",
			TokenSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		&eventschemas.TokensRevoked{AccountID: 2, TokenIDs: []string{"0b7e9f3c-3d4a-4a8e-9a61-2f0c8e3d5b11"}},
		&eventschemas.DepartmentCreated{DepartmentID: 3, Name: "Qualität & Test", Slug: "Qualitat-Test"},
		&eventschemas.DepartmentRenamed{DepartmentID: 3, Name: "QA", Slug: "QA"},
		&eventschemas.DepartmentSettingsChanged{DepartmentID: 3,
			Settings: json.RawMessage(`{"continue_on_failure":false,"result_expire_days":90}`)},
		&eventschemas.DepartmentDeleted{DepartmentID: 3},
		&eventschemas.ApplicationCreated{ApplicationID: 1, Name: "Shop", Slug: "Shop"},
		&eventschemas.ApplicationRenamed{ApplicationID: 1, Name: "Web shop", Slug: "Web-shop"},
		&eventschemas.ApplicationDeleted{ApplicationID: 1},
		&eventschemas.EnvironmentCreated{EnvironmentID: 4, Name: "staging"},
		&eventschemas.EnvironmentRenamed{EnvironmentID: 4, Name: "pre-prod"},
		&eventschemas.EnvironmentDeleted{EnvironmentID: 4},
		&eventschemas.BrowserAdded{BrowserID: 1, BrowserJSON: json.RawMessage(
			`{"os":"Generic","cloud":"local","device":null,"browser":"chrome","os_version":"Debian","real_mobile":false,"browser_version":"134.0"}`)},
		&eventschemas.BrowserRemoved{BrowserID: 1},
		&eventschemas.FeatureCreated{FeatureID: 12, CreatedBy: 2},
		&eventschemas.FeatureSaved{FeatureID: 12, Version: 3, RestoredFrom: 1, Definition: sampleDefinition()},
		&eventschemas.FeatureMovedToFolder{FeatureID: 12, FolderID: 7, FromFolderID: 5},
		&eventschemas.FeatureDeleted{FeatureID: 12},
		&eventschemas.FolderCreated{FolderID: 7, Name: "Smoke ✓", DepartmentID: 3, ParentID: 5, OwnerID: 2},
		&eventschemas.FolderRenamed{FolderID: 7, Name: "Smoke tests"},
		&eventschemas.FolderMoved{FolderID: 7, ParentID: 0, DepartmentID: 1, FromParentID: 5, FromDepartmentID: 3},
		&eventschemas.FolderDeleted{FolderID: 7},
		&eventschemas.FolderMoveClaimed{FolderID: 7, ParentID: 5, DepartmentID: 3, FolderRevision: 4},
		&eventschemas.VariableSet{VariableID: 9, DepartmentID: 3, EnvironmentID: 4, FeatureID: 12,
			Name: "PASSWORD", Based: eventschemas.BasedFeature, Value: secret},
		&eventschemas.VariableDeleted{VariableID: 9},
		&eventschemas.NameClaimed{Kind: "department-name", Name: "Qualität & Test", Owner: "department-3"},
		&eventschemas.NameReleased{Kind: "department-name", Name: "Qualität & Test", Owner: "department-3"},
	}
	out := make(map[string]eventschemas.Payload, len(list))
	for _, p := range list {
		if _, dup := out[p.EventType()]; dup {
			t.Fatalf("two samples of %s", p.EventType())
		}
		out[p.EventType()] = p
	}
	return out
}

func sampleDefinition() eventschemas.FeatureDefinition {
	return eventschemas.FeatureDefinition{
		FeatureName: "Search on two engines", Slug: "Search-on-two-engines",
		Description: "Looks up $SEARCHTERM", AppID: 1, AppName: "Shop",
		EnvironmentID: 4, EnvironmentName: "staging", DepartmentID: 3, DepartmentName: "QA",
		DependsOnOthers: true, Cloud: "local",
		Browsers: json.RawMessage(`[{"browser":"chrome","browser_version":"134.0","os":"Generic"}]`),
		Mobiles:  json.RawMessage(`[]`),
		SendMail: true, SendMailOnError: true, CheckMaximumNotificationOnError: true,
		MaximumNotificationOnError: 3, AttachPDFReportToEmail: true, DoNotUseDefaultTemplate: true,
		EmailAddress: []string{"qa@example.com"}, EmailCCAddress: []string{"lead@example.com"},
		EmailBCCAddress: []string{"audit@example.com"}, EmailSubject: "Result of $feature_name",
		EmailBody: "Täglich", Video: true, NetworkLogging: true, GenerateDataset: true,
		ContinueOnFailure: true, NeedHelp: true, SendTelegramNotification: true,
		Steps: []eventschemas.FeatureStep{
			{StepID: "s-1", Keyword: "Given", Content: `Goto URL "https://example.com/"`,
				Action: `Goto URL "{url}"`, Type: "normal", Enabled: true, Screenshot: true,
				Compare: true, Timeout: 60},
			{StepID: "s-2", Keyword: "Then", Content: `I sleep "3" seconds`, Type: "normal",
				ContinueOnFailure: true, Timeout: 8},
		},
	}
}

// compactJSON compares embedded JSON by content, not by layout: a fixture
// is indented, an encoded event is compact.
var compactJSON = cmp.Transformer("compact", func(m json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, m); err != nil {
		return "invalid JSON: " + string(m)
	}
	return buf.String()
})

func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden fixture: %v", err)
	}
	return data
}

func writeFixture(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fixturePath(typ string, version int) string {
	return filepath.Join("testdata", typ, fmt.Sprintf("v%d.json", version))
}

func indent(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		t.Fatalf("indent %s: %v", data, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// TestGoldenRoundTrip checks every registered type and version against its
// golden fixture: decoding (with upcasting) and encoding again reproduces
// the current version's fixture byte for byte, and a type with a sample
// decodes to that sample.
func TestGoldenRoundTrip(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	all := samples(t)
	for _, typ := range reg.Types() {
		schema, _ := reg.Lookup(typ)
		sample, hasSample := all[typ]
		delete(all, typ)
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			current := fixturePath(typ, schema.Version)
			if hasSample {
				_, version, data, err := reg.Encode(sample)
				if err != nil {
					t.Fatal(err)
				}
				if version != schema.Version {
					t.Errorf("encoded version %d, want %d", version, schema.Version)
				}
				if *update {
					writeFixture(t, current, indent(t, data))
				}
				if diff := cmp.Diff(string(readFixture(t, current)), string(indent(t, data))); diff != "" {
					t.Errorf("sample encodes differently from %s (-fixture +encoded):\n%s", current, diff)
				}
			}
			want := readFixture(t, current)
			for v := 1; v <= schema.Version; v++ {
				decoded, err := reg.Decode(typ, v, readFixture(t, fixturePath(typ, v)))
				if err != nil {
					t.Fatalf("decode version %d: %v", v, err)
				}
				if diff := cmp.Diff(sample, decoded, compactJSON); hasSample && diff != "" {
					t.Errorf("version %d decodes to another payload (-sample +decoded):\n%s", v, diff)
				}
				_, _, again, err := reg.Encode(decoded)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), string(indent(t, again))); diff != "" {
					t.Errorf("version %d re-encodes differently (-fixture +encoded):\n%s", v, diff)
				}
			}
		})
	}
	for typ := range all {
		t.Errorf("sample of %s, which no schema registers", typ)
	}
}

// TestNoStaleFixtures makes sure every fixture directory belongs to a
// registered type and holds only versions that type knows.
func TestNoStaleFixtures(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		schema, ok := reg.Lookup(d.Name())
		if !ok {
			t.Errorf("testdata/%s: not a registered type", d.Name())
			continue
		}
		files, err := os.ReadDir(filepath.Join("testdata", d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			var v int
			if _, err := fmt.Sscanf(f.Name(), "v%d.json", &v); err != nil || v < 1 || v > schema.Version {
				t.Errorf("testdata/%s/%s: not a version of the type", d.Name(), f.Name())
			}
		}
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	t.Parallel()
	all := eventschemas.Schemas()
	_, err := eventschemas.NewRegistry(append(all, eventschemas.Schemas()...)...)
	if err == nil {
		t.Fatal("registering every schema twice succeeded")
	}
	for _, s := range all {
		if want := fmt.Sprintf("%q: registered twice", s.Type); !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %s: %v", want, err)
		}
	}
}

type unregistered struct{}

func (*unregistered) EventType() string { return "NoSuchEvent" }

func TestEncodeRefusesUnknownType(t *testing.T) {
	t.Parallel()
	reg, err := eventschemas.NewRegistry(eventschemas.Schemas()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := reg.Encode(&unregistered{}); !errors.Is(err, eventschemas.ErrUnknownType) {
		t.Errorf("Encode of an unregistered type: got %v, want ErrUnknownType", err)
	}
	if _, err := reg.Decode("NoSuchEvent", 1, []byte(`{}`)); !errors.Is(err, eventschemas.ErrUnknownType) {
		t.Errorf("Decode of an unregistered type: got %v, want ErrUnknownType", err)
	}
}

func TestTypeNamesAreDistinct(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range eventschemas.Schemas() {
		if seen[s.Type] {
			t.Errorf("%s listed twice by Schemas", s.Type)
		}
		seen[s.Type] = true
	}
}
