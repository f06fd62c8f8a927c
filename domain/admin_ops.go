package domain

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/store"
)

// Thresholds of the operations view's warnings.
const (
	// DeadWorkerAfter: a worker holding a job whose heartbeat is older
	// than this is shown as dead (the sweep requeues its job soon after).
	DeadWorkerAfter = 20 * time.Second
	// CongestionFactor: the queue is congested when its oldest job has
	// waited longer than this many median evaluations…
	CongestionFactor = 5
	// CongestionMinWait: …and longer than this (a queue of 3 s jobs is not
	// congested after 16 s).
	CongestionMinWait = 2 * time.Minute
	// CongestionPerWorker: or when more jobs wait than this many per live
	// worker of the queue (or any wait with no live worker at all).
	CongestionPerWorker = 10
	// MedianOver is how many recent evaluations the median is taken over.
	MedianOver = 200
)

// QueueOps is one hardware class's queue in the operations view.
type QueueOps struct {
	store.QueueStat
	LiveWorkers int
	Median      time.Duration // median evaluation wall time, recent ones
	Evaluations int           // how many the median is over
	// Mine are the viewer's own challenges' queued and running
	// submissions (organizers who are not site admins).
	MineQueued, MineRunning int
}

// WorkerOps is one worker in the operations view.
type WorkerOps struct {
	store.WorkerInfo
	HeartbeatAge time.Duration
	Dead         bool // holds a job, no heartbeat for DeadWorkerAfter
}

// Operations is the operations view: queues per hardware class, workers
// (site admins only), and warnings in words.
type Operations struct {
	At       time.Time
	Queues   []QueueOps
	Workers  []WorkerOps
	Warnings []string
	IsAdmin  bool
}

// Operations returns the queue and worker state. Site admins see every
// queue and worker; an organizer sees the queues of the challenges they
// organize with their own share of them, and no workers (they serve every
// challenge); anyone else: not found.
func (s *Service) Operations(ctx context.Context, v Viewer) (Operations, error) {
	cs, err := s.OrganizedChallenges(ctx, v)
	if err != nil {
		return Operations{}, err
	}
	op := Operations{At: s.now(), IsAdmin: v.IsAdmin}
	queues := []string{jobs.QueueCPU, jobs.QueueGPU}
	var ids []int64
	if !v.IsAdmin {
		seen := map[string]bool{}
		queues = nil
		for _, c := range cs {
			ids = append(ids, c.ID)
			if q := queueOf(c); !seen[q] {
				seen[q] = true
				queues = append(queues, q)
			}
		}
		sort.Strings(queues)
	}
	stats, err := s.st.QueueStats(ctx, queues)
	if err != nil {
		return op, err
	}
	ws, err := s.st.Workers(ctx)
	if err != nil {
		return op, err
	}
	live := map[string]int{}
	for _, w := range ws {
		age := op.At.Sub(w.LastHeartbeat)
		if age < 0 {
			age = 0
		}
		wo := WorkerOps{WorkerInfo: w, HeartbeatAge: age,
			Dead: w.LostAt != nil || (w.CurrentJob != nil && age >= DeadWorkerAfter)}
		if w.LostAt == nil && age < DeadWorkerAfter {
			live[w.Queue]++
		}
		if v.IsAdmin {
			op.Workers = append(op.Workers, wo)
			if wo.Dead && w.CurrentSubmission != nil {
				op.Warnings = append(op.Warnings, fmt.Sprintf("Worker %s on %s is dead: no heartbeat for %s while holding submission #%d; the sweep requeues it.",
					w.ID, w.Host, age.Round(time.Second), *w.CurrentSubmission))
			} else if wo.Dead {
				op.Warnings = append(op.Warnings, fmt.Sprintf("Worker %s on %s is dead: no heartbeat for %s.", w.ID, w.Host, age.Round(time.Second)))
			}
		}
	}
	var mine map[string][2]int
	if !v.IsAdmin {
		if mine, err = s.st.WaitingSubmissions(ctx, ids); err != nil {
			return op, err
		}
	}
	wanted := map[string]bool{}
	for _, q := range queues {
		wanted[q] = true
	}
	for _, st := range stats {
		if !wanted[st.Queue] {
			continue
		}
		q := QueueOps{QueueStat: st, LiveWorkers: live[st.Queue]}
		if q.Median, q.Evaluations, err = s.st.MedianEvaluation(ctx, st.Queue, MedianOver); err != nil {
			return op, err
		}
		q.MineQueued, q.MineRunning = mine[st.Queue][0], mine[st.Queue][1]
		op.Warnings = append(op.Warnings, congestion(q)...)
		op.Queues = append(op.Queues, q)
	}
	return op, nil
}

// congestion says in words why a queue is congested, if it is.
func congestion(q QueueOps) []string {
	var out []string
	waiting := q.Available + q.Retryable
	if waiting > 0 && q.LiveWorkers == 0 {
		out = append(out, fmt.Sprintf("Queue %s: %d jobs wait and no worker of this hardware class is alive.", q.Queue, waiting))
	} else if q.LiveWorkers > 0 && waiting > CongestionPerWorker*q.LiveWorkers {
		out = append(out, fmt.Sprintf("Queue %s is congested: %d jobs wait for %d live workers (more than %d each).",
			q.Queue, waiting, q.LiveWorkers, CongestionPerWorker))
	}
	if q.Median > 0 && q.OldestWaiting > CongestionMinWait && q.OldestWaiting > CongestionFactor*q.Median {
		out = append(out, fmt.Sprintf("Queue %s is congested: the oldest job has waited %s, more than %d× the median evaluation (%s over the last %d).",
			q.Queue, q.OldestWaiting.Round(time.Second), CongestionFactor, q.Median.Round(100*time.Millisecond), q.Evaluations))
	}
	return out
}
