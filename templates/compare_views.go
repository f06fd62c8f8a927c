package templates

// Compare is the crop viewer of one submission.
type Compare struct {
	Slug, Title       string
	ID                int64
	Name              string // the team, or the baseline's label
	Phase, PhaseName  string
	SubmissionHref    string // "" unless the viewer may open the submission's page
	Action            string // the page's own address (the form's)
	Images            []CompareOption
	ImageName         string
	Image, X, Y, Size int // the crop, in SR pixels
	W, H              int // the SR image's size
	Min, Max          int // crop side limits
	Shown             int // side a crop is drawn at, CSS pixels
	Overview          string
	Bicubic, SR, HR   string // crop addresses; HR "" when not public
	PSNR              string // the image's PSNR; "" when hidden from the viewer
}

// CompareOption is one image of the chooser.
type CompareOption struct {
	Value, Label string
	Selected     bool
}
