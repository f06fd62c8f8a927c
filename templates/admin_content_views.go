package templates

// SubmissionExtras is what the submission page shows beyond the current
// run: organizers' overrides and earlier runs (admin-content).
type SubmissionExtras struct {
	ID        int64
	Organizer bool     // show the override form
	Override  string   // "overridden by organizers: …"; "" when none
	Overrides []KV     // metric → value and reason, active ones
	Metrics   []string // what an override may set
	Runs      []PastRun
}

// PastRun is one archived run of a submission.
type PastRun struct {
	Run, Status, Message, Ended, Archived, RerunBy string
	Result                                         []KV
	Log                                            string
}

// AdminBans is the site admins' list of banned accounts.
type AdminBans struct {
	Rows  []AdminBan
	Form  Form
	Audit []AdminAudit // the site-level audit log (bans, unbans)
}

// AdminBan is one banned account.
type AdminBan struct{ Username, Reason, By, At string }

// AdminImport is the form that imports a challenge settings file.
type AdminImport struct {
	Form Form
}
