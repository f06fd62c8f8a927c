package handlers

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
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

// APIPhaseRuntime sets a phase's runtime basis (raw or ratio), reference
// runtime, timing protocol and ONNX Runtime threads (organizers).
// POST /api/v1/challenges/{slug}/phases/{phase}/runtime
func (h *AdminPages) APIPhaseRuntime(w http.ResponseWriter, r *http.Request) error {
	var raw map[string]json.RawMessage
	if err := decodeJSON(w, r, &raw); err != nil {
		return err
	}
	// encoding/json matches keys case-insensitively, but which keys a
	// request names decides what it keeps: "Threads" would set nothing.
	for k := range raw {
		if k != strings.ToLower(k) {
			return Errorf(http.StatusBadRequest, "Field names are lowercase: %q.", k)
		}
	}
	var in domain.PhaseRuntime
	b, _ := json.Marshal(raw)
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Errorf(http.StatusBadRequest, "Send runtime_basis (raw or ratio), runtime_reference_ms (a number, or null), timing_protocol (robust or official) and threads (1 to 256, or null: each worker's own): %v.", err)
	}
	_, named := raw["runtime_reference_ms"]
	in.KeepReference = !named // a request that does not name it leaves it
	_, named = raw["threads"]
	in.KeepThreads = !named
	out, err := h.Domain.UpdatePhaseRuntime(r.Context(), viewer(r), chi.URLParam(r, "slug"), chi.URLParam(r, "phase"), in)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, out)
}
