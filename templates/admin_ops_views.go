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
