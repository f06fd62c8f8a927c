// Package templates renders srarena's HTML with templ components. Components
// take plain view structs that handlers fill in; they never see requests,
// so they are rendered the same way in tests as in the server.
package templates

// Page is what the layout needs on every page.
type Page struct {
	Title      string
	User       *User // nil when anonymous
	CSRF       string
	Flash      string
	FlashError bool
	CSS, JS    string // hashed asset URLs
	// Refresh, when > 0, reloads the page every Refresh seconds for browsers
	// without JavaScript (inside <noscript>).
	Refresh int
}

// User is the signed-in user as the nav shows them.
type User struct {
	Username string
	IsAdmin  bool
}

// Form carries a form's submitted values and its per-field errors, so a
// refused form comes back filled in with each message next to its field.
type Form struct {
	Values  map[string]string
	Errors  map[string]string
	General []string
}

// Value returns the submitted value of a field.
func (f Form) Value(name string) string { return f.Values[name] }

// Error returns the error message of a field, or "".
func (f Form) Error(name string) string { return f.Errors[name] }

// Signup is the sign-up page.
type Signup struct{ Form Form }

// Login is the login page.
type Login struct {
	Form Form
	Next string
}

// ChallengeCard is one challenge on the home page.
type ChallengeCard struct {
	Slug, Title, Summary, State, Closes string
}

// Home is the front page.
type Home struct{ Challenges []ChallengeCard }

// Challenge is a challenge's page with its phases, registration and
// upload form.
type Challenge struct {
	Slug, Title, Description string
	Scale                    int
	State                    string // of Phase: "open", "closed", "upcoming"
	Open                     bool
	Rules                    []string
	Dataset                  string
	MaxUploadMB              string
	LoggedIn                 bool
	Hardware                 string // the hardware class evaluations run on
	Terms                    string
	// DescriptionHTML and TermsHTML are the Markdown rendered and
	// sanitized by package markdown: the only raw HTML a page inserts.
	DescriptionHTML, TermsHTML string
	NeedsApproval              bool
	TeamSizeLimit              int
	// Registration is the viewer's state: "" (not registered), "pending",
	// "approved", "rejected".
	Registration string
	TeamName     string // "" without a team
	Phases       []PhaseView
	Phase        PhaseView // the phase the page is about (the upload target)
	Quota        QuotaView
	Upload       UploadForm
	// Downloads are the dataset archives the viewer may download.
	Downloads []DownloadView
}

// DownloadView is one dataset archive link.
type DownloadView struct {
	Href, Text, Note string
}

// PhaseView is one phase as pages list it.
type PhaseView struct {
	Name, Title, State, Window string
	EntryRule                  string // in words
	Selected                   bool   // the rule is "selected"
	Visibility                 string // in words
	Datasets                   string
	Quota                      string // the limits in words
	Current                    bool
}

// QuotaView is what the team has used of the phase's quotas.
type QuotaView struct {
	Lines    []string
	ResetUTC string // when the daily count restarts, UTC
	ResetISO string // the same, RFC 3339, for the local-time script
}

// UploadForm is the state of the upload form after a refused upload.
type UploadForm struct {
	Label       string
	MethodName  string
	Description string
	DataRange   string   // "1" or "255": the pixel range the form had selected
	Error       string   // why the upload was refused
	Problems    []string // what the model check found
}

// KV is one labelled value.
type KV struct{ Key, Value string }

// ImageRow is one row of a submission's per-image table.
type ImageRow struct{ Name, PSNR, SSIM, Runtime string }

// LogLine is one line of an evaluation log.
type LogLine struct {
	ID       int64
	At, Line string
}

// Submission is a submission's page.
type Submission struct {
	ID                      int64
	Phase                   string // the phase's title
	Team                    string
	MethodName, Description string
	// Progress is "image i of N" while running; Queue the position and
	// estimate while queued.
	Progress, Queue         string
	CanCancel               bool
	CanSelect               bool
	Selected                bool   // the team's chosen entry
	ScoresHidden            bool   // a hidden phase before its reveal
	CompareHref             string // the crop viewer of its outputs; "" for none
	ChallengeSlug           string
	ChallengeTitle          string
	Owner, Label, Status    string
	Message                 string
	Created, Started, Ended string
	ModelSHA256, ModelSize  string
	DataRange               string // "[0, 1]" or "[0, 255]"
	Profile                 []KV
	Metrics                 []KV // empty until finished
	Images                  []ImageRow
	// ImageScores: the per-image table shows PSNR and SSIM (validation
	// split, or an admin); otherwise runtime only, so a hidden test set's
	// per-image scores cannot be probed.
	ImageScores bool
	// RuntimeNote says how the runtime was measured (warm-up, repeats).
	RuntimeNote string
	Log         []LogLine
	Live        bool // queued or running: poll for updates
	StatusURL   string
	LastLogID   int64
	// Extras: overrides and earlier runs (admin_content.templ).
	Extras SubmissionExtras
}

// SubmissionRow is one line of "my submissions".
type SubmissionRow struct {
	ID                                    int64
	Label, Status, Created, PSNR, Runtime string
	Phase, MethodName                     string
	Selected                              bool
}

// MySubmissions lists the user's submissions to a challenge.
type MySubmissions struct {
	Slug, Title string
	Team        string
	Rows        []SubmissionRow
	// Progress is one chart per phase the team has evaluated submissions in.
	Progress []ProgressChart
}

// ProgressChart is a team's progress in one phase: an SVG, or why there
// is none (Hidden).
type ProgressChart struct {
	Phase   string
	SVG     string // trusted markup from package charts
	Caption string
	Hidden  string // a hidden phase: what the team sees instead of scores
}

// PhaseLink is a tab of the leaderboard.
type PhaseLink struct {
	Name, Title string
	Current     bool
}

// Error is an error page.
type Error struct {
	Status  int
	Heading string
	Detail  string
}

// Account is the profile page.
type Account struct {
	Username, Email string
	Server          string // the site's base URL, for the login command
	Tokens          []Token
	Form            Form
	// NewToken is a token just created, shown once.
	NewToken, NewTokenName string
}

// Token is one personal access token as the profile lists it.
type Token struct {
	ID                int64
	Name              string
	Created, LastUsed string
	Revoked           string // "" while active
}

// Team is the team page of a challenge.
type Team struct {
	Slug, Title   string
	Name          string
	Solo          bool
	Members       []string
	SizeLimit     int
	InviteURL     string // a fresh invitation link, shown once
	InviteExpires string
	Form          Form
}

// Register is the registration form of a challenge.
type Register struct {
	Slug, Title   string
	Terms         string
	TermsHTML     string // Terms rendered by package markdown
	NeedsApproval bool
	Form          Form
}

// Join is the page an invitation link opens.
type Join struct {
	Token          string
	ChallengeSlug  string
	ChallengeTitle string
	Terms          string
	TermsHTML      string // Terms rendered by package markdown
	Team           string
	Members        []string
	Expires        string
	Registered     bool // no terms to accept
	CurrentTeam    string
	Error          string
}
