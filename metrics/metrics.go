// Package metrics serves Prometheus metrics at /metrics: the queue depth,
// evaluation durations and outcomes, and worker heartbeats are read from
// PostgreSQL at each scrape, so that any serve process answers for the
// whole platform (workers serve no HTTP, and several web processes behind
// a proxy would otherwise each know only their own part); HTTP latency by
// route pattern is the answering process's own. Only a configured bearer
// token or client network may read them; everyone else gets 404.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/store"
)

// Source is what the database collector reads (store.Store).
type Source interface {
	QueueStats(ctx context.Context, queues []string) ([]store.QueueStat, error)
	Workers(ctx context.Context) ([]store.WorkerInfo, error)
	OutcomeCounts(ctx context.Context) ([]store.OutcomeCount, error)
	EvaluationDurations(ctx context.Context, bounds []float64) ([]store.DurationHistogram, error)
}

// DurationBuckets are the evaluation duration histogram's upper bounds,
// seconds: a Set5 run takes a few seconds, a DIV2K test set minutes.
var DurationBuckets = []float64{1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200}

// ScrapeTimeout bounds the database queries of one scrape.
const ScrapeTimeout = 5 * time.Second

var (
	descQueueJobs = prometheus.NewDesc("srarena_queue_jobs",
		"Evaluation jobs in a River queue (hardware class) by state.", []string{"queue", "state"}, nil)
	descOldest = prometheus.NewDesc("srarena_queue_oldest_waiting_seconds",
		"How long the oldest available evaluation job of a queue has waited; 0 when none waits.", []string{"queue"}, nil)
	descDuration = prometheus.NewDesc("srarena_evaluation_duration_seconds",
		"Wall time of ended evaluations (started to finished), per queue.", []string{"queue"}, nil)
	descOutcomes = prometheus.NewDesc("srarena_evaluations_total",
		"Ended evaluations by outcome; charged=false are platform failures not counted against a quota.", []string{"outcome", "charged"}, nil)
	descHeartbeat = prometheus.NewDesc("srarena_worker_heartbeat_age_seconds",
		"Seconds since a worker's last heartbeat.", []string{"worker", "host", "queue"}, nil)
	descBusy = prometheus.NewDesc("srarena_worker_busy",
		"1 while a worker holds an evaluation job.", []string{"worker", "host", "queue"}, nil)
	descWorkerJobs = prometheus.NewDesc("srarena_worker_jobs_total",
		"Evaluations a worker ended since it started, by result.", []string{"worker", "host", "queue", "result"}, nil)
)

// dbCollector reads the platform's state from the database at scrape time.
type dbCollector struct {
	src Source
	now func() time.Time
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueJobs, descOldest, descDuration, descOutcomes, descHeartbeat, descBusy, descWorkerJobs} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	qs, err := c.src.QueueStats(ctx, []string{jobs.QueueCPU, jobs.QueueGPU})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descQueueJobs, err)
	}
	for _, q := range qs {
		for _, s := range []struct {
			state string
			n     int
		}{{"available", q.Available}, {"running", q.Running}, {"retryable", q.Retryable}, {"scheduled", q.Scheduled}} {
			ch <- prometheus.MustNewConstMetric(descQueueJobs, prometheus.GaugeValue, float64(s.n), q.Queue, s.state)
		}
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, q.OldestWaiting.Seconds(), q.Queue)
	}
	hs, err := c.src.EvaluationDurations(ctx, DurationBuckets)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descDuration, err)
	}
	for _, h := range hs {
		buckets := map[float64]uint64{}
		for i, b := range DurationBuckets {
			if i < len(h.Buckets) {
				buckets[b] = h.Buckets[i]
			}
		}
		ch <- prometheus.MustNewConstHistogram(descDuration, h.Count, h.Sum, buckets, h.Queue)
	}
	os, err := c.src.OutcomeCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descOutcomes, err)
	}
	for _, o := range os {
		ch <- prometheus.MustNewConstMetric(descOutcomes, prometheus.CounterValue, float64(o.Count), o.Outcome, strconv.FormatBool(o.Charged))
	}
	ws, err := c.src.Workers(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descHeartbeat, err)
	}
	now := c.now()
	for _, w := range ws {
		age := now.Sub(w.LastHeartbeat).Seconds()
		if age < 0 {
			age = 0
		}
		ch <- prometheus.MustNewConstMetric(descHeartbeat, prometheus.GaugeValue, age, w.ID, w.Host, w.Queue)
		busy := 0.0
		if w.CurrentJob != nil {
			busy = 1
		}
		ch <- prometheus.MustNewConstMetric(descBusy, prometheus.GaugeValue, busy, w.ID, w.Host, w.Queue)
		ch <- prometheus.MustNewConstMetric(descWorkerJobs, prometheus.CounterValue, float64(w.Done), w.ID, w.Host, w.Queue, "done")
		ch <- prometheus.MustNewConstMetric(descWorkerJobs, prometheus.CounterValue, float64(w.Failed), w.ID, w.Host, w.Queue, "failed")
	}
}

// Metrics is one process's registry: the database collector, the HTTP
// latency histogram, and Go's and the process's own collectors.
type Metrics struct {
	reg  *prometheus.Registry
	http *prometheus.HistogramVec
}

// New builds the registry on src (nil: no database metrics).
func New(src Source) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.http = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "srarena_http_request_duration_seconds",
		Help:    "HTTP request latency of this web process by route pattern (chi's, not the raw path), method and status class.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
	}, []string{"route", "method", "code"})
	m.reg.MustRegister(m.http, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src != nil {
		m.reg.MustRegister(&dbCollector{src: src, now: time.Now})
	}
	return m
}

// ObserveHTTP records one request. route is the matched route pattern
// ("" for none: "unmatched", so that scanners' random paths do not make a
// series each).
func (m *Metrics) ObserveHTTP(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	m.http.WithLabelValues(route, method, strconv.Itoa(status/100)+"xx").Observe(d.Seconds())
}

// Access says who may read /metrics: a bearer token, client networks, or
// both (either suffices). Neither set: nobody.
type Access struct {
	Token string
	Allow []netip.Prefix
}

// allowed reports whether r may read the metrics. The client address is
// r.RemoteAddr, which the web server's trusted-proxy middleware has already
// set to the client behind a trusted proxy.
func (a Access) allowed(r *http.Request) bool {
	if a.Token != "" {
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(h)), []byte(a.Token)) == 1 {
			return true
		}
	}
	if len(a.Allow) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	var addr netip.Addr
	if err == nil {
		addr = ap.Addr()
	} else if addr, err = netip.ParseAddr(r.RemoteAddr); err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range a.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Handler serves the metrics to those a allows; others get 404 as if
// there were nothing here (what refused is not worth telling the public).
func (m *Metrics) Handler(a Access, notFound http.Handler) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.allowed(r) {
			notFound.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
