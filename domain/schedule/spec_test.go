package schedule_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/robfig/cron/v3"

	"github.com/cometa-es/cometa/domain"
	"github.com/cometa-es/cometa/domain/schedule"
)

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// local renders fires as their local time with offset, marking a shifted
// fire with its nominal wall time: "2026-03-29T03:00:00+02:00 (02:30)".
func local(fires []schedule.Fire) []string {
	out := make([]string, 0, len(fires))
	for _, f := range fires {
		s := f.Local.Format(time.RFC3339)
		if f.Shifted {
			s += " (" + f.Nominal[len("2006-01-02T"):] + ")"
		}
		out = append(out, s)
	}
	return out
}

// TestNextRunsAcrossDST checks the local times users asked for through the
// 2026 DST changes of Europe/Berlin (03-29, 10-25), America/New_York
// (03-08, 11-01) and Australia/Lord_Howe (half-hour DST: 04-05 back,
// 10-04 forward), and Asia/Kolkata (+05:30, no DST).
func TestNextRunsAcrossDST(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, zone, after string
		want                    []string
	}{
		{"Monday 00:30 Berlin in winter", "30 0 * * 1", "Europe/Berlin", "2026-01-01T00:00:00Z",
			[]string{"2026-01-05T00:30:00+01:00", "2026-01-12T00:30:00+01:00", "2026-01-19T00:30:00+01:00"}},
		{"Monday 00:30 Berlin in summer", "30 0 * * 1", "Europe/Berlin", "2026-07-01T00:00:00Z",
			[]string{"2026-07-06T00:30:00+02:00", "2026-07-13T00:30:00+02:00"}},
		{"Monday 00:30 Berlin across spring forward", "30 0 * * 1", "Europe/Berlin", "2026-03-20T00:00:00Z",
			[]string{"2026-03-23T00:30:00+01:00", "2026-03-30T00:30:00+02:00", "2026-04-06T00:30:00+02:00"}},
		{"Monday 00:30 Berlin across fall back", "30 0 * * MON", "Europe/Berlin", "2026-10-20T00:00:00Z",
			[]string{"2026-10-26T00:30:00+01:00", "2026-11-02T00:30:00+01:00"}},
		{"Berlin 02:30 on spring-forward day fires after the gap", "30 2 * * *", "Europe/Berlin",
			"2026-03-28T00:00:00Z",
			[]string{"2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00 (02:30)", "2026-03-30T02:30:00+02:00"}},
		{"Berlin 02:30 on fall-back day fires once", "30 2 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z",
			[]string{"2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"Berlin two gap times and the gap end fire once", "0,30 2,3 * * *", "Europe/Berlin",
			"2026-03-29T00:00:00Z",
			[]string{"2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00", "2026-03-30T02:00:00+02:00"}},
		{"Berlin every minute into the gap", "* * * * *", "Europe/Berlin", "2026-03-29T00:58:00Z",
			[]string{"2026-03-29T01:59:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:01:00+02:00"}},
		{"Berlin every minute through the repeated hour", "* * * * *", "Europe/Berlin", "2026-10-25T00:58:00Z",
			[]string{"2026-10-25T02:59:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:01:00+01:00"}},
		{"Berlin every minute from within the second 02:xx", "* * * * *", "Europe/Berlin", "2026-10-25T01:30:00Z",
			[]string{"2026-10-25T02:31:00+01:00", "2026-10-25T02:32:00+01:00"}},
		{"Berlin 02:30 does not fire again in the second 02:xx", "30 2 * * *", "Europe/Berlin",
			"2026-10-25T01:00:00Z", []string{"2026-10-26T02:30:00+01:00"}},
		{"Berlin @hourly has no 02:00 in spring", "@hourly", "Europe/Berlin", "2026-03-28T23:30:00Z",
			[]string{"2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"}},
		{"Berlin @hourly has two 02:00 in autumn", "@hourly", "Europe/Berlin", "2026-10-24T23:30:00Z",
			[]string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T03:00:00+01:00"}},
		{"Berlin @daily across spring forward", "@daily", "Europe/Berlin", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"}},
		{"New York weekdays 09:00 across spring forward", "0 9 * * 1-5", "America/New_York",
			"2026-03-06T00:00:00Z",
			[]string{"2026-03-06T09:00:00-05:00", "2026-03-09T09:00:00-04:00", "2026-03-10T09:00:00-04:00"}},
		{"New York 02:30 on spring-forward day", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
			[]string{"2026-03-08T03:00:00-04:00 (02:30)", "2026-03-09T02:30:00-04:00"}},
		{"New York 01:30 on fall-back day fires once", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"New York every 30 minutes through the repeated hour", "*/30 * * * *", "America/New_York",
			"2026-11-01T04:45:00Z",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00",
				"2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"New York @weekly is Sunday midnight", "@weekly", "America/New_York", "2026-10-28T00:00:00Z",
			[]string{"2026-11-01T00:00:00-04:00", "2026-11-08T00:00:00-05:00"}},
		{"Kolkata Monday 00:30", "30 0 * * 1", "Asia/Kolkata", "2026-03-01T00:00:00Z",
			[]string{"2026-03-02T00:30:00+05:30", "2026-03-09T00:30:00+05:30"}},
		{"Kolkata has no DST in March", "0 2 * * *", "Asia/Kolkata", "2026-03-27T00:00:00Z",
			[]string{"2026-03-28T02:00:00+05:30", "2026-03-29T02:00:00+05:30", "2026-03-30T02:00:00+05:30"}},
		{"Kolkata @monthly", "@monthly", "Asia/Kolkata", "2026-01-15T00:00:00Z",
			[]string{"2026-02-01T00:00:00+05:30", "2026-03-01T00:00:00+05:30"}},
		{"Lord Howe 02:15 on spring-forward day fires after the half-hour gap", "15 2 * * *",
			"Australia/Lord_Howe", "2026-10-02T12:00:00Z",
			[]string{"2026-10-03T02:15:00+10:30", "2026-10-04T02:30:00+11:00 (02:15)", "2026-10-05T02:15:00+11:00"}},
		{"Lord Howe 01:45 on fall-back day fires once", "45 1 * * *", "Australia/Lord_Howe",
			"2026-04-03T12:00:00Z",
			[]string{"2026-04-04T01:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		{"Lord Howe every 15 minutes through the repeated half hour", "*/15 * * * *", "Australia/Lord_Howe",
			"2026-04-04T14:20:00Z",
			[]string{"2026-04-05T01:30:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-05T01:30:00+10:30",
				"2026-04-05T01:45:00+10:30", "2026-04-05T02:00:00+10:30"}},
		{"Lord Howe every 15 minutes into the half-hour gap", "*/15 * * * *", "Australia/Lord_Howe",
			"2026-10-03T15:10:00Z",
			[]string{"2026-10-04T01:45:00+10:30", "2026-10-04T02:30:00+11:00", "2026-10-04T02:45:00+11:00"}},
		{"Lord Howe @yearly", "@yearly", "Australia/Lord_Howe", "2026-06-01T00:00:00Z",
			[]string{"2027-01-01T00:00:00+11:00", "2028-01-01T00:00:00+11:00"}},
		{"empty zone is UTC", "0 12 * * *", "", "2026-03-29T12:00:00Z",
			[]string{"2026-03-30T12:00:00Z", "2026-03-31T12:00:00Z"}},
		{"30 February never fires", "0 0 30 2 *", "Europe/Berlin", "2026-01-01T00:00:00Z", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fires, err := schedule.NextRuns(tt.expr, tt.zone, utc(t, tt.after), len(tt.want)+boolInt(len(tt.want) == 0))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, local(fires)); diff != "" {
				t.Errorf("NextRuns(%q, %q) (-want +got):\n%s", tt.expr, tt.zone, diff)
			}
			for _, f := range fires {
				if f.At.Location() != time.UTC || !f.At.Equal(f.Local) {
					t.Errorf("fire %v: At %v is not Local in UTC", f.Local, f.At)
				}
				if !f.Shifted && f.Nominal != f.Local.Format(schedule.NominalLayout) {
					t.Errorf("fire %v: nominal %s", f.Local, f.Nominal)
				}
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestEveryMinuteFiresEveryRealMinute walks "* * * * *" over the two hours
// of real time that hold Berlin's repeated hour: 120 distinct ticks, one
// minute apart.
func TestEveryMinuteFiresEveryRealMinute(t *testing.T) {
	t.Parallel()
	spec, err := schedule.Parse("* * * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	from := utc(t, "2026-10-25T00:00:00Z")
	fires, more := spec.Between(from, from.Add(2*time.Hour), 1000)
	if more || len(fires) != 120 {
		t.Fatalf("got %d fires (more %v), want 120", len(fires), more)
	}
	for i, f := range fires {
		if want := from.Add(time.Duration(i+1) * time.Minute); !f.At.Equal(want) {
			t.Fatalf("fire %d at %v, want %v", i, f.At, want)
		}
	}
	if got := fires[59].Local.Format(time.RFC3339); got != "2026-10-25T02:00:00+01:00" {
		t.Errorf("the 60th minute is %s, want the second 02:00", got)
	}
}

// TestRobfigAloneFiresTwiceOnFallBack documents why Spec does not hand the
// zone to robfig/cron: v3.0.1 on its own fires a fixed 02:30 twice on
// Berlin's fall-back day and skips it on the spring-forward day.
func TestRobfigAloneFiresTwiceOnFallBack(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	sched, err := cron.ParseStandard("CRON_TZ=Europe/Berlin 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	next := func(from string, n int) []string {
		var out []string
		at := utc(t, from)
		for range n {
			at = sched.Next(at)
			out = append(out, at.In(berlin).Format(time.RFC3339))
		}
		return out
	}
	wantFall := []string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"}
	if diff := cmp.Diff(wantFall, next("2026-10-24T12:00:00Z", 2)); diff != "" {
		t.Errorf("robfig on the fall-back day (-want +got):\n%s", diff)
	}
	wantSpring := []string{"2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00"}
	if diff := cmp.Diff(wantSpring, next("2026-03-27T12:00:00Z", 2)); diff != "" {
		t.Errorf("robfig on the spring-forward day (-want +got):\n%s", diff)
	}
	fires, err := schedule.NextRuns("30 2 * * *", "Europe/Berlin", utc(t, "2026-10-24T12:00:00Z"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}, local(fires)); diff != "" {
		t.Errorf("Spec on the fall-back day (-want +got):\n%s", diff)
	}
}

func TestBetweenLimit(t *testing.T) {
	t.Parallel()
	spec, err := schedule.Parse("*/10 * * * *", "Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	from := utc(t, "2026-05-01T00:00:00Z")
	fires, more := spec.Between(from, from.Add(24*time.Hour), 100)
	if len(fires) != 100 || !more {
		t.Errorf("limit 100 of 144: got %d, more %v", len(fires), more)
	}
	fires, more = spec.Between(from, from.Add(time.Hour), 100)
	if len(fires) != 6 || more {
		t.Errorf("one hour: got %d, more %v", len(fires), more)
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr, zone string
		field            string
		want             []string // substrings of the message
	}{
		{"minute out of range", "61 * * * *", "", "schedule",
			[]string{`minute field "61"`, "end of range (61) above maximum (59)"}},
		{"hour out of range", "0 25 * * *", "", "schedule", []string{`hour field "25"`, "above maximum (23)"}},
		{"day of month zero", "0 0 0 * *", "", "schedule", []string{`day of month field "0"`, "below minimum (1)"}},
		{"month 13", "0 0 * 13 *", "", "schedule", []string{`month field "13"`}},
		{"day of week 8", "0 0 * * 8", "", "schedule",
			[]string{`day of week field "8"`, "above maximum (7): 8; the allowed range is 0-7"}},
		{"day of week range past 7", "0 0 * * 5-8", "", "schedule", []string{"the allowed range is 0-7"}},
		{"hour range named", "0 25 * * *", "", "schedule", []string{"the allowed range is 0-23"}},
		{"trailing comma", "0 3 * * 1,", "", "schedule",
			[]string{`day of week field "1,": an empty list item`}},
		{"leading comma", "0 ,3 * * *", "", "schedule", []string{`hour field ",3": an empty list item`}},
		{"two commas", "0,,30 3 * * *", "", "schedule", []string{`minute field "0,,30": an empty list item`}},
		{"a comma alone", "0 3 , * *", "", "schedule", []string{`day of month field ",": an empty list item`}},
		{"not a number", "x * * * *", "", "schedule", []string{`minute field "x": "x" is not a number`}},
		{"last day of month", "0 3 L * *", "", "schedule", []string{`day of month field "L": "L" is not a number`}},
		{"a token in a range", "0 3 1-L * *", "", "schedule", []string{`day of month field "1-L": "L" is not a number`}},
		{"seconds field", "0 0 9 * * *", "", "schedule", []string{"seconds field is not supported"}},
		{"too few fields", "* * *", "", "schedule", []string{"expected exactly 5 fields", "found 3"}},
		{"CRON_TZ prefix", "CRON_TZ=Europe/Berlin 0 9 * * *", "", "schedule", []string{"CRON_TZ= or TZ= prefix"}},
		{"TZ prefix", "TZ=UTC 0 9 * * *", "", "schedule", []string{"CRON_TZ= or TZ= prefix"}},
		{"@every", "@every 1h", "", "schedule", []string{"@every is not accepted"}},
		{"unknown descriptor", "@fortnightly", "", "schedule", []string{"unrecognized descriptor"}},
		{"empty", "", "", "schedule", []string{"cron expression is empty"}},
		{"unknown zone", "0 9 * * *", "Mars/Base", "original_timezone", []string{`unknown time zone "Mars/Base"`}},
		{"Local is no IANA zone", "0 9 * * *", "Local", "original_timezone", []string{"not an IANA zone name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := schedule.Parse(tt.expr, tt.zone)
			var fe *domain.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, domain.ErrInvalid) {
				t.Fatalf("Parse(%q, %q) = %v, want a field error", tt.expr, tt.zone, err)
			}
			if fe.Field != tt.field {
				t.Errorf("field %q, want %q", fe.Field, tt.field)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseKeepsInput(t *testing.T) {
	t.Parallel()
	spec, err := schedule.Parse(" 30 0 * * 1 ", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Expression() != " 30 0 * * 1 " || spec.Zone() != "Europe/Berlin" {
		t.Errorf("got %q in %q", spec.Expression(), spec.Zone())
	}
	fire, ok := spec.Next(utc(t, "2026-01-01T00:00:00Z"))
	if !ok || fire.ID() != "20260104T233000Z" {
		t.Errorf("first tick %v (%v), want id 20260104T233000Z", fire.ID(), ok)
	}
}

// TestParseHidesGoErrors checks that no refused field's message carries
// the Go error robfig/cron wraps (strconv's).
func TestParseHidesGoErrors(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"0 3 L * *", "0 3 * * 5L", "0 3 15W * *", "0 3 * * 1#2", "x/2 * * * *"} {
		if _, err := schedule.Parse(expr, ""); err == nil || strings.Contains(err.Error(), "strconv") {
			t.Errorf("Parse(%q) = %v, want an error without strconv's", expr, err)
		}
	}
}

// TestDayOfWeekSevenIsSunday: 7 in the day-of-week field is Sunday, as in
// Vixie cron, alone, in ranges, lists and steps; each expression fires as
// the one written with 0-6, and is kept as given.
func TestDayOfWeekSevenIsSunday(t *testing.T) {
	t.Parallel()
	tests := []struct{ expr, same string }{
		{"0 3 * * 7", "0 3 * * 0"},
		{"0 3 * * 0-7", "0 3 * * *"},
		{"0 3 * * 5-7", "0 3 * * 0,5,6"},
		{"0 3 * * 1,7", "0 3 * * 0,1"},
		{"0 3 * * 1-7/2", "0 3 * * 0,1,3,5"},
		{"0 3 * * 6-7/2", "0 3 * * 6"},
		{"0 3 * * 7-7", "0 3 * * 0"},
		{"0 3 * * 7/3", "0 3 * * 0"},
		{"0 3 * * MON-FRI,7", "0 3 * * 0-5"},
	}
	from := utc(t, "2026-03-01T00:00:00Z")
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			spec, err := schedule.Parse(tt.expr, "Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			want, err := schedule.Parse(tt.same, "Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			if spec.Expression() != tt.expr {
				t.Errorf("expression kept as %q, want %q", spec.Expression(), tt.expr)
			}
			if diff := cmp.Diff(local(want.NextRuns(from, 12)), local(spec.NextRuns(from, 12))); diff != "" {
				t.Errorf("fires differ from %q (-want +got):\n%s", tt.same, diff)
			}
		})
	}

	// Sundays at 03:00 where the schedule is, across the spring change.
	spec, err := schedule.Parse("0 3 * * 7", "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range spec.NextRuns(from, 4) {
		if f.Local.Weekday() != time.Sunday || f.Local.Hour() != 3 || f.Local.Location().String() != "America/New_York" {
			t.Errorf("fire %v, want a Sunday 03:00 in America/New_York", f.Local)
		}
	}
	for _, expr := range []string{"0 3 * * 8", "0 3 * * 5-8", "0 3 * * 7-5"} {
		if _, err := schedule.Parse(expr, ""); err == nil {
			t.Errorf("Parse(%q) accepted", expr)
		}
	}
}
