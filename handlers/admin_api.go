package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// APIRerun queues an ended submission again (organizers).
// POST /api/v1/submissions/{id}/rerun
func (h *AdminPages) APIRerun(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if err := h.Domain.Rerun(r.Context(), viewer(r), id); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "queued"})
}

// APIResults exports a phase's results (organizers): CSV with the columns
// of `srarena rank`'s results CSV when format=csv, else JSON.
// GET /api/v1/challenges/{slug}/results?phase=NAME&format=csv|json
func (h *AdminPages) APIResults(w http.ResponseWriter, r *http.Request) error {
	slug, phase := chi.URLParam(r, "slug"), r.URL.Query().Get("phase")
	if r.URL.Query().Get("format") == "csv" {
		b, err := h.Domain.ExportCSV(r.Context(), viewer(r), slug, phase)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		if note := h.runtimeNote(r, slug, phase); note != "" {
			w.Header().Set("X-Runtime-Note", note)
		}
		_, err = w.Write(b)
		return err
	}
	t, rules, err := h.Domain.ExportPhase(r.Context(), viewer(r), slug, phase)
	if err != nil {
		return err
	}
	rows := make([]map[string]string, 0, len(t.Rows))
	for _, row := range t.Rows {
		m := map[string]string{}
		for i, col := range t.Header {
			m[col] = row[i]
		}
		rows = append(rows, m)
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"challenge": slug, "phase": phase, "rules": rules.Name, "columns": t.Header, "rows": rows,
		"runtime_note": h.runtimeNote(r, slug, phase)})
}
