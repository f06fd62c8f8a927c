package templates

// AdminHome lists the challenges the viewer organizes.
type AdminHome struct {
	Challenges []AdminChallengeRow
	CanCreate  bool // a site admin
}

// AdminChallengeRow is one challenge in the panel's list.
type AdminChallengeRow struct{ Slug, Title, Phase string }

// AdminTemplate is one template offered by the creation form.
type AdminTemplate struct{ Name, Title string }

// AdminNew is the form that creates a challenge from a template.
type AdminNew struct {
	Templates []AdminTemplate
	Form      Form
}

// AdminPhase is one phase in the panel, with its edit form's values.
type AdminPhase struct {
	Name, Title, State, Window string
	Opens, Closes              string // datetime-local values, UTC
	QuotaDaily, QuotaTotal     string
	QuotaConcurrent            string
	EntryRule, Visibility      string
	Revealed                   string // when the scores become public; "" when not set
	Datasets                   string
	Frozen                     []AdminFrozen
	Final                      *AdminFinal // the newest final re-timing; nil: none
	// Fair runtimes: raw or ratio, the reference runtime in ms ("" for
	// the baseline's measured one), robust or official timing, ORT
	// threads ("" for each worker's own setting).
	RuntimeBasis, RuntimeReferenceMS, TimingProtocol string
	Threads                                          string
}

// AdminFrozen is one frozen ranking version.
type AdminFrozen struct{ Version, At, By string }

// AdminTeam is a team in the panel.
type AdminTeam struct {
	ID                 int64
	Name               string
	DisqualifiedReason string
}

// AdminRegistration is a registration in the panel.
type AdminRegistration struct {
	UserID                int64
	Username, State, Team string
}

// AdminAudit is one audit event.
type AdminAudit struct {
	At, Actor, Action, Target, Before, After, Reason string
}

// AdminChallenge is a challenge's panel page.
type AdminChallenge struct {
	Slug, Title, Template string
	Settings              Form // the settings form's values
	IsAdmin               bool
	Phases                []AdminPhase
	Organizers            []string
	Teams                 []AdminTeam
	Registrations         []AdminRegistration
	Audit                 []AdminAudit
	Datasets              []AdminDataset
}

// AdminDataset is a dataset in the panel.
type AdminDataset struct {
	Name, Split, Images string
	Public              bool
}

// AdminSubmissionRow is one row of the organizers' submission table.
type AdminSubmissionRow struct {
	ID                                      int64
	Phase, Team, Uploader, Label, Method    string
	Status, Message, Created, PSNR, Runtime string
	Hidden                                  string
	Baseline, CanRerun, CanCancel           bool
}

// AdminSubmissions is the organizers' submission table with its filters.
type AdminSubmissions struct {
	Slug, Title                 string
	Phases                      []string
	Teams                       []AdminTeam
	Phase, Team, Status, Search string
	Rows                        []AdminSubmissionRow
}

// AdminWorker is one evaluation worker in the site admins' list.
type AdminWorker struct {
	ID, Host, Queue, Device, Hardware, ORT string
	Current, Heartbeat, State              string
	Done, Failed                           int
}
