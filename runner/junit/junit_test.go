package junit_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cometa-es/cometa/runner/junit"
)

// parsed is the document as a CI server reads it.
type parsed struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		ID         string `xml:"id,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []parsedCase `xml:"testcase"`
		Out   string       `xml:"system-out"`
	} `xml:"testsuite"`
}

type parsedCase struct {
	Name      string `xml:"name,attr"`
	ClassName string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

func render(t *testing.T, s junit.Suite) (parsed, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := junit.Write(&buf, s); err != nil {
		t.Fatal(err)
	}
	var doc parsed
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the report does not parse: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d suites, want 1", len(doc.Suites))
	}
	return doc, buf.String()
}

func TestWriteCarriesEveryStep(t *testing.T) {
	t.Parallel()
	s := junit.Suite{
		Name: `Login & "checkout" <täglich>`, ID: "17",
		Timestamp: time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC),
		Time:      4321 * time.Millisecond,
		Properties: []junit.Property{
			{Name: "feature_result_id", Value: "17"}, {Name: "status", Value: "Failed"},
		},
		Cases: []junit.Case{
			{Name: `StartBrowser and call URL "http://localhost/"`, Time: 1500 * time.Millisecond},
			{Name: `I can see "Welcome"`, Time: 20 * time.Millisecond},
			{Name: `I click on "#missing"`, Time: 2001 * time.Millisecond, Status: junit.Failed,
				Message: "Element not found: #missing\nwaited 2 s", Detail: "Element not found: #missing\nwaited 2 s\nat step 3"},
			{Name: `I sleep "1" seconds`, Status: junit.Skipped, Message: "not reached"},
		},
		SystemOut: "line 1\nline 2 with \x01 control",
	}
	doc, raw := render(t, s)
	if !strings.HasPrefix(raw, "<?xml") {
		t.Errorf("no XML declaration:\n%s", raw)
	}
	suite := doc.Suites[0]
	if suite.Name != s.Name || suite.ID != "17" || suite.Timestamp != "2026-03-01T12:00:05" {
		t.Errorf("suite name %q id %q timestamp %q", suite.Name, suite.ID, suite.Timestamp)
	}
	if suite.Tests != 4 || suite.Failures != 1 || suite.Skipped != 1 || suite.Errors != 0 || suite.Time != "4.321" {
		t.Errorf("suite counts tests=%d failures=%d skipped=%d errors=%d time=%s",
			suite.Tests, suite.Failures, suite.Skipped, suite.Errors, suite.Time)
	}
	if doc.Tests != 4 || doc.Failures != 1 || doc.Skipped != 1 || doc.Time != "4.321" {
		t.Errorf("testsuites counts %+v", doc)
	}
	if len(suite.Properties) != 2 || suite.Properties[1].Value != "Failed" {
		t.Errorf("properties %+v", suite.Properties)
	}
	if len(suite.Cases) != len(s.Cases) {
		t.Fatalf("%d cases, want %d", len(suite.Cases), len(s.Cases))
	}
	wantTimes := []string{"1.500", "0.020", "2.001", "0.000"}
	for i, c := range suite.Cases {
		if c.Name != s.Cases[i].Name || c.ClassName != s.Name || c.Time != wantTimes[i] {
			t.Errorf("case %d = %q (%s, %s), want %q (%s)", i, c.Name, c.ClassName, c.Time, s.Cases[i].Name, wantTimes[i])
		}
		if (c.Failure != nil) != (i == 2) || (c.Skipped != nil) != (i == 3) {
			t.Errorf("case %d: failure %v, skipped %v", i, c.Failure, c.Skipped)
		}
	}
	f := suite.Cases[2].Failure
	if f.Message != "Element not found: #missing" || f.Text != s.Cases[2].Detail || f.Type == "" {
		t.Errorf("failure %+v", f)
	}
	if suite.Cases[3].Skipped.Message != "not reached" {
		t.Errorf("skipped message %q", suite.Cases[3].Skipped.Message)
	}
	if want := "line 1\nline 2 with \uFFFD control"; suite.Out != want {
		t.Errorf("system-out %q, want %q", suite.Out, want)
	}
}

func TestWriteDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		suite     junit.Suite
		wantTime  string
		wantClass string
		wantTests int
	}{
		{"time is the sum of the steps", junit.Suite{Name: "f", Cases: []junit.Case{
			{Name: "a", Time: 250 * time.Millisecond}, {Name: "b", Time: 750 * time.Millisecond}}},
			"1.000", "f", 2},
		{"class name given", junit.Suite{Name: "f", ClassName: "dept.app.f", Cases: []junit.Case{{Name: "a"}}},
			"0.000", "dept.app.f", 1},
		{"no steps", junit.Suite{Name: "empty"}, "0.000", "", 0},
		{"failure without detail keeps the message", junit.Suite{Name: "f", Cases: []junit.Case{
			{Name: "a", Status: junit.Failed, Message: "boom"}}}, "0.000", "f", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, _ := render(t, tt.suite)
			suite := doc.Suites[0]
			if suite.Time != tt.wantTime || suite.Tests != tt.wantTests {
				t.Errorf("time %s tests %d, want %s and %d", suite.Time, suite.Tests, tt.wantTime, tt.wantTests)
			}
			var classes []string
			for _, c := range suite.Cases {
				classes = append(classes, c.ClassName)
				if c.Failure != nil && c.Failure.Text != "boom" {
					t.Errorf("failure text %q, want the message", c.Failure.Text)
				}
			}
			if len(classes) > 0 && !cmp.Equal(classes[0], tt.wantClass) {
				t.Errorf("classname %q, want %q", classes[0], tt.wantClass)
			}
		})
	}
}

// An errored case (a result that failed outside its steps) is an <error>,
// counted in errors on the suite and the document, so that CI sees the
// report fail even when no step did.
func TestWriteErrors(t *testing.T) {
	t.Parallel()
	doc, _ := render(t, junit.Suite{Name: "f", Cases: []junit.Case{
		{Name: "a"},
		{Name: "f", Status: junit.Errored, Message: "the browser did not start: no such file\nmore", Type: "ResultFailed"},
		{Name: "g", Status: junit.Errored, Message: "canceled"},
	}})
	suite := doc.Suites[0]
	if suite.Tests != 3 || suite.Failures != 0 || suite.Errors != 2 || doc.Errors != 2 || doc.Failures != 0 {
		t.Fatalf("counts: suite tests=%d failures=%d errors=%d, document errors=%d",
			suite.Tests, suite.Failures, suite.Errors, doc.Errors)
	}
	e := suite.Cases[1].Error
	if e == nil || suite.Cases[1].Failure != nil || e.Message != "the browser did not start: no such file" ||
		e.Type != "ResultFailed" || e.Text != "the browser did not start: no such file\nmore" {
		t.Errorf("error %+v", e)
	}
	if e := suite.Cases[2].Error; e == nil || e.Type != "Error" || e.Text != "canceled" {
		t.Errorf("error with defaults %+v", e)
	}
	if suite.Cases[0].Error != nil {
		t.Errorf("a passed case has an error: %+v", suite.Cases[0].Error)
	}
}
