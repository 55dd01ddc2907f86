package variables

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// dateToken is a dynamic date: #today, an optional ;<strftime format>
// (without ';', default %Y-%m-%d) and an optional ;<unit>=<+|-><n>
// (default days=+0). The format runs to the next ';' or the end of the
// text, so text after a format is formatted too (non-% characters pass
// through unchanged).
var dateToken = regexp.MustCompile(`#today(;[^;]*)?(;(?:days|weeks|hours|minutes|seconds)=[+-]?\d+)?`)

var offsetSpec = regexp.MustCompile(`^(days|weeks|hours|minutes|seconds)=([+-]?\d+)$`)

func expandDates(text string, now time.Time) string {
	if !strings.Contains(text, "#today") {
		return text
	}
	return dateToken.ReplaceAllStringFunc(text, func(tok string) string {
		parts := strings.Split(tok, ";")[1:]
		format, offset := "%Y-%m-%d", time.Duration(0)
		days := 0
		for i, p := range parts {
			if m := offsetSpec.FindStringSubmatch(p); m != nil {
				n, _ := strconv.Atoi(m[2])
				switch m[1] {
				case "days":
					days = n
				case "weeks":
					days = 7 * n
				case "hours":
					offset = time.Duration(n) * time.Hour
				case "minutes":
					offset = time.Duration(n) * time.Minute
				case "seconds":
					offset = time.Duration(n) * time.Second
				}
				continue
			}
			if i == 0 && p != "" {
				format = p
			}
		}
		return Strftime(format, now.AddDate(0, 0, days).Add(offset))
	})
}

// Strftime formats t with the common C strftime directives: %Y %y %m %d
// %e %H %I %M %S %f (microseconds) %p %b %B %a %A %j %z %Z %F %T %s and %%.
// Unknown directives are written as they are.
func Strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			b.WriteString(pad2(t.Year() % 100))
		case 'm':
			b.WriteString(pad2(int(t.Month())))
		case 'd':
			b.WriteString(pad2(t.Day()))
		case 'e':
			b.WriteString(strconv.Itoa(t.Day()))
		case 'H':
			b.WriteString(pad2(t.Hour()))
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(pad2(h))
		case 'M':
			b.WriteString(pad2(t.Minute()))
		case 'S':
			b.WriteString(pad2(t.Second()))
		case 'f':
			b.WriteString(leftPad(strconv.Itoa(t.Nanosecond()/1000), 6))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'j':
			b.WriteString(leftPad(strconv.Itoa(t.YearDay()), 3))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

func pad2(n int) string { return leftPad(strconv.Itoa(n), 2) }

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}
