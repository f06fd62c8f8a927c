package domain

import (
	"context"

	"github.com/srarena/srarena/store"
)

// Workers lists the evaluation workers (host, hardware class, ONNX Runtime
// version, current submission, last heartbeat, done and failed), for site
// admins: workers serve every challenge.
func (s *Service) Workers(ctx context.Context, v Viewer) ([]store.WorkerInfo, error) {
	if err := s.requireAdmin(v); err != nil {
		return nil, err
	}
	return s.st.Workers(ctx)
}
