package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DayCount is how many submissions a phase received on one UTC day.
type DayCount struct {
	Day   time.Time
	Count int
}

// PhaseSubmissionsPerDay counts a phase's submissions per UTC day (every
// status; baselines and hidden ones not), oldest first: the bars of the
// phase's history chart.
func (s *Store) PhaseSubmissionsPerDay(ctx context.Context, phaseID int64) ([]DayCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc('day', created_at AT TIME ZONE 'UTC') AS day, count(*)
		FROM submissions WHERE phase_id = $1 AND NOT is_baseline AND hidden_reason = ''
		GROUP BY day ORDER BY day`, phaseID)
	if err != nil {
		return nil, translate(err, "submissions per day")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DayCount, error) {
		var d DayCount
		err := row.Scan(&d.Day, &d.Count)
		d.Day = time.Date(d.Day.Year(), d.Day.Month(), d.Day.Day(), 0, 0, 0, 0, time.UTC)
		return d, err
	})
	return out, translate(err, "submissions per day")
}
