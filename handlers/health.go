package handlers

import (
	"context"
	"net/http"
	"time"
)

// Pinger is the database as the health check sees it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health answers load balancers. GET /healthz
type Health struct {
	DB Pinger
}

// Check pings the database within two seconds: 200 "ok" or 503.
func (h *Health) Check(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.DB.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, err := w.Write([]byte("database unreachable\n"))
		return err
	}
	_, err := w.Write([]byte("ok\n"))
	return err
}
