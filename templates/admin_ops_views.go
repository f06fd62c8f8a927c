package templates

// AdminOps is the operations view: queues, workers, warnings.
type AdminOps struct {
	At       string
	IsAdmin  bool
	RiverUI  string // River's own job list, for site admins; "" when not mounted
	Warnings []string
	Queues   []AdminQueue
	Workers  []AdminOpsWorker
}

// AdminQueue is one hardware class's queue.
type AdminQueue struct {
	Queue                                    string
	Available, Running, Retryable, Scheduled int
	Oldest, Median                           string
	LiveWorkers                              int
	Mine                                     string // the organizer's own queued/running submissions
}

// AdminOpsWorker is one worker in the operations view.
type AdminOpsWorker struct {
	ID, Host, Queue, Device, Hardware, ORT string
	Submission                             int64 // 0: idle
	Heartbeat, Age, State                  string
	Dead                                   bool
	Done, Failed                           int
}

// AdminFinal is a phase's newest final re-timing run.
type AdminFinal struct {
	Requested string // "top 3 with 20 repeats on eval_cpu, by root at …"
	Note      string // what the ranking says once it has ended
	Timings   []AdminFinalTiming
}

// AdminFinalTiming is one re-timed submission.
type AdminFinalTiming struct {
	Submission                int64
	Status, Runtime, Hardware string
	Message                   string
}
