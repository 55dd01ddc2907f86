package schedule

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/cometa-es/cometa/domain"
)

// The input fields a schedule's errors name, with Cometa's JSON names.
const (
	fieldExpression = "schedule"
	fieldZone       = "original_timezone"
)

// Spec is a parsed schedule: the user's expression read in the user's zone.
// Build one with Parse. A Spec is immutable and safe for concurrent use.
//
// Fire times are computed from the local wall clock of the zone, at the
// moment they are asked for, so a schedule keeps meaning the local time the
// user wrote across daylight saving changes. robfig/cron matches the
// expression against wall-clock times; Spec turns each matching wall time
// into real instants with these rules:
//
//   - A wall time that occurs once fires at that instant.
//   - Spring forward (a wall time that does not exist, such as 02:30 in
//     Europe/Berlin on the last Sunday of March): a schedule whose hour
//     field is fixed (a number, list or range, and every descriptor but
//     @hourly) fires once at the first instant after the gap (03:00 CEST),
//     as Vixie cron does; several such wall times in one gap fire once. A
//     schedule whose hour field starts with "*" (every hour, */2, @hourly)
//     has no such minutes and fires at none of them.
//   - Fall back (a wall time that occurs twice, such as 02:30 in
//     Europe/Berlin on the last Sunday of October): a fixed-hour schedule
//     fires once, at the first occurrence; a schedule whose hour field
//     starts with "*" fires at every real instant whose wall time matches,
//     so "* * * * *" fires every real minute of the repeated hour.
//   - One instant fires at most once: when a shifted wall time lands on a
//     wall time the expression also matches, the fire keeps the real one
//     as its nominal time.
type Spec struct {
	expr string
	zone string
	loc  *time.Location
	// wall matches wall-clock times: it is evaluated in UTC, where no
	// clock ever jumps, on times whose fields are the zone's local fields.
	wall *cron.SpecSchedule
	// everyHour is true when the hour field starts with "*": the schedule
	// follows real time through DST changes instead of the wall clock.
	everyHour bool
}

// Fire is one tick of a schedule.
type Fire struct {
	// At is the instant the tick fires, in UTC. It identifies the tick.
	At time.Time
	// Local is At in the schedule's zone.
	Local time.Time
	// Nominal is the local wall time the expression matched, as
	// "2006-01-02T15:04". It differs from Local's wall time only when
	// Shifted is true.
	Nominal string
	// Shifted is true when Nominal does not exist in the zone (a spring
	// forward gap) and the tick fires at the end of the gap instead.
	Shifted bool
}

// NominalLayout is the layout of Fire.Nominal.
const NominalLayout = "2006-01-02T15:04"

// ID is the tick's identity within its schedule: At in UTC, as
// "20060102T150405Z". It is safe in stream names of every store.
func (f Fire) ID() string { return f.At.UTC().Format("20060102T150405Z") }

// descriptors are the robfig descriptors a schedule accepts, with whether
// their hour field is "*". @every is refused: it counts from whenever a
// process started, so two replicas would disagree on its ticks and no tick
// could be claimed exactly once.
var descriptors = map[string]bool{
	"@yearly": false, "@annually": false, "@monthly": false, "@weekly": false,
	"@daily": false, "@midnight": false, "@hourly": true,
}

// fieldNames names the five fields in order, for error messages.
var fieldNames = [5]string{"minute", "hour", "day of month", "month", "day of week"}

// fieldRanges are the values each field allows, for error messages.
var fieldRanges = [5]string{"0-59", "0-23", "1-31", "1-12", "0-7 (0 and 7 are Sunday)"}

var fieldOptions = [5]cron.ParseOption{cron.Minute, cron.Hour, cron.Dom, cron.Month, cron.Dow}

// Parse checks an expression and a zone name and returns the schedule they
// describe. The expression is a standard five-field cron expression
// (minute hour day-of-month month day-of-week) or one of @yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly. The zone is an
// IANA name; the empty zone is UTC. Errors are *domain.FieldError (for
// "schedule" or "original_timezone", matching domain.ErrInvalid) and name
// the problem: the cron field robfig/cron refused with its message, a
// seconds field, a CRON_TZ= or TZ= prefix (the zone is its own field),
// @every, an unknown zone.
func Parse(expr, zone string) (*Spec, error) {
	loc, err := loadZone(zone)
	if err != nil {
		return nil, err
	}
	wall, everyHour, err := parseExpr(expr)
	if err != nil {
		return nil, err
	}
	return &Spec{expr: expr, zone: zoneName(zone), loc: loc, wall: wall, everyHour: everyHour}, nil
}

func zoneName(zone string) string {
	if zone == "" {
		return "UTC"
	}
	return zone
}

func loadZone(zone string) (*time.Location, error) {
	if zone == "" {
		return time.UTC, nil
	}
	// "Local" would mean whatever zone the scheduler's machine has.
	if zone == "Local" {
		return nil, domain.Invalid(fieldZone, "time zone %q: not an IANA zone name", zone)
	}
	// TODO(scheduler): zones come from the machine's tz database; replicas
	// with different versions of it could compute different instants for
	// one tick and both fire. Pinning one copy (time.LoadLocationFromTZData
	// over an embedded database) would rule that out.
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, domain.Invalid(fieldZone, "unknown time zone %q", zone)
	}
	return loc, nil
}

func parseExpr(expr string) (*cron.SpecSchedule, bool, error) {
	invalid := func(format string, args ...any) error {
		return domain.Invalid(fieldExpression, "cron expression %q: "+format, append([]any{expr}, args...)...)
	}
	trimmed := strings.TrimSpace(expr)
	switch {
	case trimmed == "":
		return nil, false, domain.Invalid(fieldExpression, "cron expression is empty")
	case strings.HasPrefix(trimmed, "CRON_TZ=") || strings.HasPrefix(trimmed, "TZ="):
		return nil, false, invalid("a CRON_TZ= or TZ= prefix is not accepted, " +
			"give the zone as original_timezone")
	case strings.HasPrefix(trimmed, "@every"):
		return nil, false, invalid("@every is not accepted, its ticks depend on when a scheduler started")
	case strings.HasPrefix(trimmed, "@"):
		everyHour, ok := descriptors[trimmed]
		if !ok {
			return nil, false, invalid("unrecognized descriptor, use @yearly, @monthly, @weekly, " +
				"@daily or @hourly")
		}
		return mustSpec(trimmed), everyHour, nil
	}

	fields := strings.Fields(trimmed)
	switch {
	case len(fields) == 6:
		return nil, false, invalid("6 fields, but a seconds field is not supported; " +
			"use minute hour day-of-month month day-of-week")
	case len(fields) != 5:
		return nil, false, invalid("expected exactly 5 fields "+
			"(minute hour day-of-month month day-of-week), found %d", len(fields))
	}
	// robfig/cron reads an empty list item ("1,", "1,,2") as nothing and
	// keeps the rest; the writer meant something else.
	for i, f := range fields {
		if slices.Contains(strings.Split(f, ","), "") {
			return nil, false, invalid("%s field %q: an empty list item (nothing before or after a comma)",
				fieldNames[i], f)
		}
	}
	parsed := slices.Clone(fields)
	parsed[4] = sundayAsSeven(parsed[4])
	for i, f := range fields {
		if _, err := cron.NewParser(fieldOptions[i]).Parse(parsed[i]); err != nil {
			return nil, false, invalid("%s field %q: %s", fieldNames[i], f, fieldReason(i, err))
		}
	}
	sched, err := cron.ParseStandard(strings.Join(parsed, " "))
	if err != nil {
		return nil, false, invalid("%v", err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, false, invalid("not a calendar schedule")
	}
	spec.Location = time.UTC
	hour := fields[1]
	return spec, strings.HasPrefix(hour, "*") || strings.HasPrefix(hour, "?"), nil
}

// sundayAsSeven rewrites a day-of-week field for robfig/cron, which knows
// only 0-6, so that 7 is Sunday as in Vixie cron: "7" becomes "0", and a
// range that ends at 7 ends at 6 instead, with a 0 added when its step
// reaches 7 ("5-7" is "5-6,0", "1-7/2" is "1-6/2,0"). Lists are rewritten
// part by part; a part that is not numbers (*, ?, MON-FRI) or that
// robfig/cron would refuse anyway is left as it is, for it to name.
func sundayAsSeven(field string) string {
	parts := strings.Split(field, ",")
	for i, part := range parts {
		parts[i] = sevenAsZero(part)
	}
	return strings.Join(parts, ",")
}

func sevenAsZero(part string) string {
	span, stepText, stepped := strings.Cut(part, "/")
	first, last, ranged := strings.Cut(span, "-")
	start, err := strconv.Atoi(first)
	if err != nil {
		return part
	}
	if !ranged {
		if start == 7 {
			return "0" // "7/2" runs from 7 to the end: Sunday alone
		}
		return part
	}
	end, err := strconv.Atoi(last)
	if err != nil || end != 7 || start > end {
		return part
	}
	step := 1
	if stepped {
		if step, err = strconv.Atoi(stepText); err != nil || step <= 0 {
			return part
		}
	}
	if start == 7 {
		return "0"
	}
	out := fmt.Sprintf("%d-6", start)
	if stepped {
		out += "/" + stepText
	}
	if (7-start)%step == 0 {
		out += ",0"
	}
	return out
}

// fieldReason is cronReason for field i, with the field's allowed range
// added to a number out of range. robfig/cron's maximum for the day of
// week is 6, but 7 (Sunday) is accepted here, so its message says 7.
func fieldReason(i int, err error) string {
	reason := cronReason(err)
	if i == 4 {
		reason = strings.Replace(reason, "maximum (6)", "maximum (7)", 1)
	}
	if strings.Contains(reason, "above maximum") || strings.Contains(reason, "below minimum") {
		reason += "; the allowed range is " + fieldRanges[i]
	}
	return reason
}

// cronReason is robfig/cron's reason for refusing a field, without the Go
// parse error it carries for a token that is not a number (such as "L" or
// "W", which it does not support).
func cronReason(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "failed to parse int from "); ok {
		token, _, _ := strings.Cut(rest, ": strconv.")
		return fmt.Sprintf("%q is not a number", token)
	}
	return msg
}

// mustSpec parses a descriptor already checked against the table.
func mustSpec(descriptor string) *cron.SpecSchedule {
	sched, err := cron.ParseStandard(descriptor)
	if err != nil {
		panic(fmt.Sprintf("descriptor %q: %v", descriptor, err))
	}
	spec := sched.(*cron.SpecSchedule)
	spec.Location = time.UTC
	return spec
}

// Expression returns the expression exactly as it was given.
func (s *Spec) Expression() string { return s.expr }

// Zone returns the zone name as given, or "UTC" for the empty zone.
func (s *Spec) Zone() string { return s.zone }

// Location returns the loaded zone.
func (s *Spec) Location() *time.Location { return s.loc }

// foldMargin bounds how far the wall clock can step back at a fall-back
// change; every zone's rules today stay within 2 hours.
const foldMargin = 3 * time.Hour

// stepBack returns how far the zone's wall clock steps back within
// foldMargin after the instant t: wall times that far before t's may
// still come again after t.
func (s *Spec) stepBack(t time.Time) time.Duration {
	_, now := t.In(s.loc).Zone()
	_, later := t.Add(foldMargin).In(s.loc).Zone()
	if later >= now {
		return 0
	}
	return time.Duration(now-later) * time.Second
}

// NextRuns returns up to n ticks that fire strictly after the instant
// after, in order. It returns fewer when the expression matches nothing
// within robfig's five-year search window (such as "0 0 30 2 *").
func (s *Spec) NextRuns(after time.Time, n int) []Fire {
	if n <= 0 {
		return nil
	}
	after = after.UTC()
	var pending, out []Fire
	w := asWall(after.In(s.loc)).Add(-s.stepBack(after))
	for len(out) < n {
		w = s.wall.Next(w)
		if w.IsZero() {
			break
		}
		floor := s.place(w, &pending, after)
		// Later wall times never map before floor: everything pending
		// that lies before it is final.
		for len(pending) > 0 && pending[0].At.Before(floor) && len(out) < n {
			out = append(out, pending[0])
			pending = pending[1:]
		}
	}
	for len(pending) > 0 && len(out) < n {
		out = append(out, pending[0])
		pending = pending[1:]
	}
	return out
}

// Next returns the first tick after the instant after, and false when
// there is none within robfig's search window.
func (s *Spec) Next(after time.Time) (Fire, bool) {
	f := s.NextRuns(after, 1)
	if len(f) == 0 {
		return Fire{}, false
	}
	return f[0], true
}

// Between returns the ticks in (after, until], in order, at most limit of
// them, and whether there were more.
func (s *Spec) Between(after, until time.Time, limit int) (fires []Fire, more bool) {
	for {
		batch := s.NextRuns(after, 64)
		for _, f := range batch {
			if f.At.After(until) {
				return fires, false
			}
			if len(fires) == limit {
				return fires, true
			}
			fires = append(fires, f)
		}
		if len(batch) < 64 {
			return fires, false
		}
		after = batch[len(batch)-1].At
	}
}

// place adds the ticks of wall time w that fire after the instant after to
// pending (kept sorted by At, one tick per instant) and returns the
// earliest instant w maps to.
func (s *Spec) place(w time.Time, pending *[]Fire, after time.Time) time.Time {
	nominal := w.Format(NominalLayout)
	occ, gapEnd := s.resolve(w)
	var fires []Fire
	switch {
	case len(occ) == 0 && s.everyHour:
		return gapEnd
	case len(occ) == 0:
		fires = []Fire{{At: gapEnd, Nominal: nominal, Shifted: true}}
	case s.everyHour:
		for _, at := range occ {
			fires = append(fires, Fire{At: at, Nominal: nominal})
		}
	default:
		fires = []Fire{{At: occ[0], Nominal: nominal}}
	}
	for _, f := range fires {
		if !f.At.After(after) {
			continue
		}
		f.Local = f.At.In(s.loc)
		i, found := slices.BinarySearchFunc(*pending, f.At, func(p Fire, at time.Time) int {
			return p.At.Compare(at)
		})
		switch {
		case !found:
			*pending = slices.Insert(*pending, i, f)
		case (*pending)[i].Shifted && !f.Shifted:
			(*pending)[i] = f
		}
	}
	if len(occ) == 0 {
		return gapEnd
	}
	return occ[0]
}

// resolve returns the instants (in UTC, in order) at which the zone's wall
// clock shows w, or, when w falls in a gap, the instant the gap ends.
func (s *Spec) resolve(w time.Time) (occ []time.Time, gapEnd time.Time) {
	var offsets []int
	for _, probe := range []time.Time{w.Add(-30 * time.Hour), w, w.Add(30 * time.Hour)} {
		_, off := probe.In(s.loc).Zone()
		if !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	for _, off := range offsets {
		at := w.Add(-time.Duration(off) * time.Second)
		if _, o := at.In(s.loc).Zone(); o == off && !slices.Contains(occ, at) {
			occ = append(occ, at)
		}
	}
	if len(occ) > 0 {
		slices.SortFunc(occ, time.Time.Compare)
		return occ, time.Time{}
	}
	// In a gap w lies between the end of the old offset and the start of
	// the new one; read with the old (smaller) offset it is an instant just
	// after the change, whose zone period starts where the gap ends.
	at := w.Add(-time.Duration(slices.Min(offsets)) * time.Second)
	start, _ := at.In(s.loc).ZoneBounds()
	return nil, start.UTC()
}

// asWall returns the wall-clock fields of t as a UTC time.
func asWall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// NextRuns parses expr in zone and returns up to n ticks after the instant
// after. See Spec for the rules.
func NextRuns(expr, zone string, after time.Time, n int) ([]Fire, error) {
	s, err := Parse(expr, zone)
	if err != nil {
		return nil, err
	}
	return s.NextRuns(after, n), nil
}
