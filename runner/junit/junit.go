// Package junit renders a feature result as a JUnit XML report, the format
// CI servers read: one testsuite per feature result, one testcase per step,
// failures with their messages, errors for what failed outside any step,
// times in seconds.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Status is the outcome of one test case.
type Status int

// The outcomes of a case. Failed is a step that failed (a <failure>);
// Errored is a case that could not run or a problem outside the steps,
// such as a result that failed or was canceled with no step failing (an
// <error>). CI servers count both as failing.
const (
	Passed Status = iota
	Failed
	Skipped
	Errored
)

// Suite is one feature result.
type Suite struct {
	// Name is the suite's name, the feature's name.
	Name string
	// ID identifies the suite, e.g. the feature result id.
	ID string
	// ClassName is the classname of every case (CI servers group cases by
	// it); Name when empty.
	ClassName string
	// Timestamp is when the result started.
	Timestamp time.Time
	// Time is the result's execution time; the sum of the cases' when 0.
	Time time.Duration
	// Properties are name/value pairs shown with the suite (ids, status,
	// browser), in the given order.
	Properties []Property
	// Cases are the steps in execution order.
	Cases []Case
	// SystemOut is the result's log, if any.
	SystemOut string
}

// Property is one name/value pair of a suite.
type Property struct {
	Name, Value string
}

// Case is one executed (or skipped) step.
type Case struct {
	// Name is the step as written.
	Name string
	// Time is the step's execution time.
	Time time.Duration
	// Status is Passed, Failed, Skipped or Errored.
	Status Status
	// Message is a failure's, error's or skip's one-line reason.
	Message string
	// Detail is a failure's or error's full text; Message when empty.
	Detail string
	// Type classifies a failure or error (its type attribute); StepFailed
	// or Error when empty.
	Type string
}

// The XML shape. Attributes that JUnit consumers require (tests,
// failures, errors, time) are always written.
type (
	xmlSuites struct {
		XMLName  xml.Name   `xml:"testsuites"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     string     `xml:"time,attr"`
		Suites   []xmlSuite `xml:"testsuite"`
	}
	xmlSuite struct {
		Name       string        `xml:"name,attr"`
		ID         string        `xml:"id,attr,omitempty"`
		Tests      int           `xml:"tests,attr"`
		Failures   int           `xml:"failures,attr"`
		Errors     int           `xml:"errors,attr"`
		Skipped    int           `xml:"skipped,attr"`
		Time       string        `xml:"time,attr"`
		Timestamp  string        `xml:"timestamp,attr,omitempty"`
		Properties *xmlProps     `xml:"properties,omitempty"`
		Cases      []xmlCase     `xml:"testcase"`
		SystemOut  *xmlCharsBody `xml:"system-out,omitempty"`
	}
	xmlProps struct {
		Items []xmlProp `xml:"property"`
	}
	xmlProp struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	xmlCase struct {
		Name      string      `xml:"name,attr"`
		ClassName string      `xml:"classname,attr"`
		Time      string      `xml:"time,attr"`
		Failure   *xmlFailure `xml:"failure,omitempty"`
		Error     *xmlFailure `xml:"error,omitempty"`
		Skipped   *xmlSkipped `xml:"skipped,omitempty"`
	}
	xmlFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	xmlSkipped struct {
		Message string `xml:"message,attr,omitempty"`
	}
	xmlCharsBody struct {
		Text string `xml:",chardata"`
	}
)

// Write renders s as a JUnit XML document (a testsuites element holding
// one testsuite) to w. Text that XML cannot carry (control characters) is
// replaced, never written raw, so the document always parses.
func Write(w io.Writer, s Suite) error {
	class := s.ClassName
	if class == "" {
		class = s.Name
	}
	suite := xmlSuite{Name: s.Name, ID: s.ID, Tests: len(s.Cases)}
	if !s.Timestamp.IsZero() {
		suite.Timestamp = s.Timestamp.UTC().Format("2006-01-02T15:04:05")
	}
	var sum time.Duration
	for _, c := range s.Cases {
		xc := xmlCase{Name: c.Name, ClassName: class, Time: seconds(c.Time)}
		switch c.Status {
		case Failed:
			suite.Failures++
			xc.Failure = problem(c, "StepFailed")
		case Errored:
			suite.Errors++
			xc.Error = problem(c, "Error")
		case Skipped:
			suite.Skipped++
			xc.Skipped = &xmlSkipped{Message: firstLine(c.Message)}
		}
		sum += c.Time
		suite.Cases = append(suite.Cases, xc)
	}
	total := s.Time
	if total == 0 {
		total = sum
	}
	suite.Time = seconds(total)
	if len(s.Properties) > 0 {
		suite.Properties = &xmlProps{}
		for _, p := range s.Properties {
			suite.Properties.Items = append(suite.Properties.Items, xmlProp(p))
		}
	}
	if s.SystemOut != "" {
		suite.SystemOut = &xmlCharsBody{Text: s.SystemOut}
	}
	doc := xmlSuites{Name: s.Name, Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []xmlSuite{suite}}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report %q: %w", s.Name, err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report %q: %w", s.Name, err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit report %q: %w", s.Name, err)
	}
	return nil
}

// problem is the <failure> or <error> of a case.
func problem(c Case, defaultType string) *xmlFailure {
	detail, typ := c.Detail, c.Type
	if detail == "" {
		detail = c.Message
	}
	if typ == "" {
		typ = defaultType
	}
	return &xmlFailure{Message: firstLine(c.Message), Type: typ, Text: detail}
}

// seconds formats d as JUnit's decimal seconds with millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
