package readapi

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cometa-es/cometa/projections"
)

// statusTimeout bounds the projection status read of one scrape.
const statusTimeout = 5 * time.Second

// metrics are the API's Prometheus metrics.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, mgr *projections.Manager, logger *slog.Logger) (*metrics, error) {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cometa_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cometa_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, &projectionCollector{mgr: mgr, logger: logger}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// middleware counts and times every request by its route pattern (never
// the raw path, which would make one series per id); requests that match
// no route count as "unmatched".
func (m *metrics) middleware(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	// A request that matched no route is left on this middleware's own
	// route, "/", which no handler of the API serves.
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "/" {
		route = r.Path
	}
	status := c.Response().StatusCode()
	if err != nil {
		status, _ = errorBody(err)
	}
	method := string([]byte(c.Method()))
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	return err
}

// handler serves the registry in Prometheus's text format.
func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}

// projectionCollector reports every read model's lag and state at scrape
// time, from the Manager's Status.
type projectionCollector struct {
	mgr    *projections.Manager
	logger *slog.Logger
}

var (
	lagEventsDesc = prometheus.NewDesc("cometa_projection_lag_events",
		"Events in the log after the read model's checkpoint (a lower bound when capped).",
		[]string{"read_model"}, nil)
	lagSecondsDesc = prometheus.NewDesc("cometa_projection_lag_seconds",
		"Time between the head event and the read model's checkpoint event.",
		[]string{"read_model"}, nil)
	stateDesc = prometheus.NewDesc("cometa_projection_state",
		"1 for the read model's current state (catching_up, live, failing, rebuilding, stopped).",
		[]string{"read_model", "state"}, nil)
	upDesc = prometheus.NewDesc("cometa_projection_status_up",
		"1 when the projection status could be read at this scrape.", nil, nil)
)

// Describe sends the descriptions of the projection metrics.
func (p *projectionCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lagEventsDesc, lagSecondsDesc, stateDesc, upDesc} {
		ch <- d
	}
}

// Collect reads the projection status and sends one sample per read model.
func (p *projectionCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	list, err := p.mgr.Status(ctx)
	if err != nil {
		p.logger.WarnContext(ctx, "projection status for metrics", "err", err)
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1)
	for _, st := range list {
		ch <- prometheus.MustNewConstMetric(lagEventsDesc, prometheus.GaugeValue, float64(st.LagEvents), st.Name)
		ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, st.LagSeconds, st.Name)
		ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, 1, st.Name, string(st.State))
	}
}
