package schedule_test

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/cometa-es/cometa/domain/schedule"
	"github.com/cometa-es/cometa/internal/benchreport"
)

// BenchmarkNextRuns puts the cost of five fire times computed by Spec
// (wall-clock matching plus the DST rules) beside robfig/cron's own Next
// with CRON_TZ for the same expression, which fires twice on fall-back days.
func BenchmarkNextRuns(b *testing.B) {
	for _, expr := range []string{"30 2 * * *", "* * * * *", "30 0 * * 1"} {
		b.Run(expr, func(b *testing.B) {
			spec, err := schedule.Parse(expr, "Europe/Berlin")
			if err != nil {
				b.Fatal(err)
			}
			raw, err := cron.ParseStandard("CRON_TZ=Europe/Berlin " + expr)
			if err != nil {
				b.Fatal(err)
			}
			from := time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC)

			start := time.Now()
			for b.Loop() {
				if len(spec.NextRuns(from, 5)) != 5 {
					b.Fatal("fewer than 5 runs")
				}
			}
			ours := time.Since(start)
			n := b.N

			start = time.Now()
			for range n {
				at := from
				for range 5 {
					at = raw.Next(at)
				}
			}
			base := time.Since(start)
			benchreport.Record(b, float64(ours.Nanoseconds())/float64(n),
				float64(base.Nanoseconds())/float64(n), "ns/5-runs")
		})
	}
}
