// Package benchreport is the convention by which the project's benchmarks
// put a figure beside the baseline measured in the same run, so that
// `make bench` can print one table of values, baselines and ratios.
//
// A benchmark calls Record once, after its measured loop. The figure and its
// baseline appear in the `go test -bench` output as two metrics, "<unit>"
// and "base-<unit>", which cmd/benchtable turns into a table row.
package benchreport

import (
	"sort"
	"testing"
	"time"
)

// Record reports value beside baseline, both in unit (for example
// "events/s" or "ms-p50"). Benchmarks report; they assert nothing.
func Record(b *testing.B, value, baseline float64, unit string) {
	b.Helper()
	b.ReportMetric(value, unit)
	b.ReportMetric(baseline, "base-"+unit)
}

// Rate returns n operations over d as a per-second figure.
func Rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Percentile returns the p-th percentile (0 to 100) of samples in
// milliseconds, by nearest rank. It sorts samples in place.
func Percentile(samples []time.Duration, p float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	rank := int(p/100*float64(len(samples))+0.5) - 1
	rank = max(0, min(rank, len(samples)-1))
	return float64(samples[rank]) / float64(time.Millisecond)
}
