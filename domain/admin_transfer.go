package domain

// A challenge's settings as one file, to move a challenge to another
// server or start next year's edition from this one: settings, rule set,
// template, phases and dataset references (images by content digest), never
// participants, teams, submissions or results.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/store"
)

// ChallengeFileFormat and ChallengeFileVersion identify the file; an
// import refuses other formats and newer versions.
const (
	ChallengeFileFormat  = "srarena-challenge"
	ChallengeFileVersion = 1
	// MaxChallengeFile bounds an imported file (dataset references of
	// thousands of images fit easily).
	MaxChallengeFile = 8 << 20
)

// ChallengeFile is the exported settings of a challenge.
type ChallengeFile struct {
	Format   string                  `json:"format"`
	Version  int                     `json:"version"`
	Slug     string                  `json:"slug"`
	Template string                  `json:"template"`
	Settings store.ChallengeSettings `json:"settings"`
	Phases   []ChallengeFilePhase    `json:"phases"`
	Datasets []ChallengeFileDataset  `json:"datasets"`
}

// ChallengeFilePhase is a phase's settings; Datasets names the datasets it
// scores on, its primary one first.
type ChallengeFilePhase struct {
	Name            string     `json:"name"`
	Title           string     `json:"title"`
	OpensAt         *time.Time `json:"opens_at"`
	ClosesAt        *time.Time `json:"closes_at"`
	QuotaDaily      int        `json:"quota_daily"`
	QuotaTotal      int        `json:"quota_total"`
	QuotaConcurrent int        `json:"quota_concurrent"`
	EntryRule       string     `json:"entry_rule"`
	Visibility      string     `json:"visibility"`
	RevealedAt      *time.Time `json:"revealed_at"`
	Datasets        []string   `json:"datasets"`
	// Fair runtimes (absent in files written before them: the defaults).
	RuntimeBasis       string   `json:"runtime_basis,omitempty"`
	RuntimeReferenceMS *float64 `json:"runtime_reference_ms,omitempty"`
	TimingProtocol     string   `json:"timing_protocol,omitempty"`
	Threads            *int     `json:"threads,omitempty"`
}

// runtimeForm is the phase's fair-runtime settings as a phase form.
func (p ChallengeFilePhase) runtimeForm() PhaseForm {
	return PhaseForm{RuntimeBasis: p.RuntimeBasis, RuntimeReferenceMS: p.RuntimeReferenceMS, TimingProtocol: p.TimingProtocol, Threads: p.Threads}
}

// ChallengeFileDataset references a dataset: its images by the sha256 of
// their LR and HR files, which a server has when it shares the blob store
// or imported the same files.
type ChallengeFileDataset struct {
	Name     string               `json:"name"`
	Split    string               `json:"split"`
	Public   bool                 `json:"public"`
	Manifest json.RawMessage      `json:"manifest,omitempty"`
	Images   []ChallengeFileImage `json:"images"`
}

// ChallengeFileImage is one LR/HR pair by digest.
type ChallengeFileImage struct {
	Name     string `json:"name"`
	LRSHA256 string `json:"lr_sha256"`
	HRSHA256 string `json:"hr_sha256"`
}

// ExportChallenge returns a challenge's settings file (organizers). The
// same challenge gives the same bytes: no ids, no export time.
func (s *Service) ExportChallenge(ctx context.Context, v Viewer, slug string) ([]byte, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return nil, err
	}
	ci, err := s.challengeInfo(ctx, v, c)
	if err != nil {
		return nil, err
	}
	f := ChallengeFile{Format: ChallengeFileFormat, Version: ChallengeFileVersion, Slug: c.Slug,
		Settings: store.ChallengeSettings{Title: c.Title, Description: c.Description, Terms: c.Terms, Scale: c.Scale,
			Rules: c.Rules, MaxUploadBytes: c.MaxUploadBytes, TeamSizeLimit: c.TeamSizeLimit, Registration: c.RegistrationMode, Queue: c.Queue},
		Phases: []ChallengeFilePhase{}, Datasets: []ChallengeFileDataset{}}
	if f.Template, err = s.st.ChallengeTemplate(ctx, c.ID); err != nil {
		return nil, err
	}
	for _, p := range ci.Phases {
		fp := ChallengeFilePhase{Name: p.Name, Title: p.Title, OpensAt: utcPtr(p.OpensAt), ClosesAt: utcPtr(p.ClosesAt),
			QuotaDaily: p.QuotaDaily, QuotaTotal: p.QuotaTotal, QuotaConcurrent: p.QuotaConcurrent,
			EntryRule: p.EntryRule, Visibility: p.Visibility, RevealedAt: utcPtr(p.RevealedAt), Datasets: []string{},
			RuntimeBasis: p.RuntimeBasis, RuntimeReferenceMS: p.RuntimeReferenceMS, TimingProtocol: p.TimingProtocol, Threads: p.Threads}
		for _, d := range p.Datasets {
			fp.Datasets = append(fp.Datasets, d.Name)
		}
		f.Phases = append(f.Phases, fp)
	}
	ds, _, err := s.st.DatasetsOf(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		fd := ChallengeFileDataset{Name: d.Name, Split: d.Split, Public: d.Public, Images: []ChallengeFileImage{}}
		if fd.Manifest, err = s.st.DatasetManifest(ctx, c.ID, d.Name); err != nil {
			return nil, err
		}
		ims, err := s.st.DatasetImages(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		for _, im := range ims {
			fd.Images = append(fd.Images, ChallengeFileImage{Name: im.Name, LRSHA256: im.LRSHA256, HRSHA256: im.HRSHA256})
		}
		f.Datasets = append(f.Datasets, fd)
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		return s.audit(ctx, tx, v, c.ID, "challenge.export", "challenge "+slug, nil,
			map[string]any{"phases": len(f.Phases), "datasets": len(f.Datasets), "bytes": len(out)}, "")
	})
	return append(out, '\n'), err
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ImportReport says what an import made.
type ImportReport struct {
	Slug     string   `json:"slug"`
	Phases   []string `json:"phases"`
	Datasets []string `json:"datasets"` // linked, with their images
	// Missing lists datasets left out because this server lacks some of
	// their images: import them with `srarena dataset import`.
	Missing []string `json:"missing"`
}

var (
	phaseNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	digestRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ParseChallengeFile decodes and checks a settings file: its format and
// version, unknown fields refused.
func ParseChallengeFile(b []byte) (ChallengeFile, error) {
	var f ChallengeFile
	if len(b) > MaxChallengeFile {
		return f, newErr(KindInvalid, "The challenge file is over %d MiB.", MaxChallengeFile>>20)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, &Error{Kind: KindInvalid, Msg: "This is not a challenge file srarena can read: " + err.Error(), Err: err}
	}
	if dec.More() {
		return f, newErr(KindInvalid, "The challenge file has data after its JSON object.")
	}
	if f.Format != ChallengeFileFormat {
		return f, newErr(KindInvalid, "The file's format is %q, not %q.", f.Format, ChallengeFileFormat)
	}
	if f.Version < 1 || f.Version > ChallengeFileVersion {
		return f, newErr(KindInvalid, "The file is version %d; this server reads versions 1 to %d.", f.Version, ChallengeFileVersion)
	}
	return f, nil
}

// ImportChallenge creates a challenge from a settings file, under slug
// when given (else the file's). Site admins only. Datasets whose images
// are all in this server's blob store are created and linked to their
// phases; the others are reported missing. One transaction: a refused
// file leaves nothing.
func (s *Service) ImportChallenge(ctx context.Context, v Viewer, b []byte, slug string) (ImportReport, error) {
	rep := ImportReport{Phases: []string{}, Datasets: []string{}, Missing: []string{}}
	if err := s.requireAdmin(v); err != nil {
		return rep, err
	}
	f, err := ParseChallengeFile(b)
	if err != nil {
		return rep, err
	}
	if slug == "" {
		slug = f.Slug
	}
	if !slugRE.MatchString(slug) {
		return rep, newErr(KindInvalid, "The slug is 2–63 lowercase letters, digits and dashes, starting with a letter or digit.")
	}
	rep.Slug = slug
	if f.Template != "" {
		if _, ok := TemplateNamed(f.Template); !ok {
			return rep, newErr(KindInvalid, "The file names an unknown template %q.", f.Template)
		}
	}
	st := f.Settings
	if st.MaxUploadBytes < 1 || st.MaxUploadBytes > int64(MaxUploadMBLimit)<<20 {
		return rep, newErr(KindInvalid, "The upload cap must be between 1 byte and %d MB.", MaxUploadMBLimit)
	}
	form := ChallengeForm{Title: st.Title, Description: st.Description, Terms: st.Terms, Scale: st.Scale,
		MaxUploadMB: max(1, int(st.MaxUploadBytes>>20)), TeamSizeLimit: st.TeamSizeLimit, Registration: st.Registration,
		Queue: st.Queue, Rules: string(st.Rules)}
	if len(st.Rules) == 0 {
		return rep, newErr(KindInvalid, "The file has no rule set.")
	}
	c, err := form.settings(nil)
	if err != nil {
		return rep, err
	}
	c.MaxUploadBytes = st.MaxUploadBytes
	if len(f.Phases) == 0 || len(f.Phases) > 20 {
		return rep, newErr(KindInvalid, "A challenge file has 1 to 20 phases; this one has %d.", len(f.Phases))
	}
	datasets := map[string]ChallengeFileDataset{}
	for _, d := range f.Datasets {
		if _, err := checkText("dataset name", d.Name, 100, false); err != nil || d.Name == "" {
			return rep, newErr(KindInvalid, "Dataset %q: the name is 1–100 characters of plain text.", d.Name)
		}
		if d.Split != "validation" && d.Split != "test" {
			return rep, newErr(KindInvalid, "Dataset %q: the split is validation or test, not %q.", d.Name, d.Split)
		}
		if _, dup := datasets[d.Name]; dup {
			return rep, newErr(KindInvalid, "Dataset %q appears twice.", d.Name)
		}
		if len(d.Images) == 0 || len(d.Images) > 100000 {
			return rep, newErr(KindInvalid, "Dataset %q: 1 to 100,000 images, not %d.", d.Name, len(d.Images))
		}
		for _, im := range d.Images {
			if !digestRE.MatchString(im.LRSHA256) || !digestRE.MatchString(im.HRSHA256) || im.Name == "" || len(im.Name) > 200 {
				return rep, newErr(KindInvalid, "Dataset %q: image %q needs a name and lowercase hex sha256 digests of its LR and HR files.", d.Name, im.Name)
			}
		}
		if len(d.Manifest) > 0 && !json.Valid(d.Manifest) {
			return rep, newErr(KindInvalid, "Dataset %q: the manifest is not JSON.", d.Name)
		}
		datasets[d.Name] = d
	}
	var phases []store.NewPhase
	seen := map[string]bool{}
	for i, p := range f.Phases {
		if !phaseNameRE.MatchString(p.Name) || seen[p.Name] {
			return rep, newErr(KindInvalid, "Phase %d: the name %q is not a unique lowercase name.", i+1, p.Name)
		}
		seen[p.Name] = true
		title, err := checkText("phase title", p.Title, 100, false)
		if err != nil {
			return rep, err
		}
		if p.QuotaDaily < 0 || p.QuotaTotal < 0 || p.QuotaConcurrent < 0 {
			return rep, newErr(KindInvalid, "Phase %s: quotas are 0 (unlimited) or more.", p.Name)
		}
		if !slices.Contains([]string{store.EntryBest, store.EntryLast, store.EntrySelected}, p.EntryRule) {
			return rep, newErr(KindInvalid, "Phase %s: the entry rule is best, last or selected.", p.Name)
		}
		if !slices.Contains([]string{store.VisibilityPublic, store.VisibilityHidden, store.VisibilityOrganizers}, p.Visibility) {
			return rep, newErr(KindInvalid, "Phase %s: the visibility is public, hidden or organizers.", p.Name)
		}
		if p.OpensAt != nil && p.ClosesAt != nil && !p.OpensAt.Before(*p.ClosesAt) {
			return rep, newErr(KindInvalid, "Phase %s must open before it closes.", p.Name)
		}
		if err := checkRuntimeSettings(p.runtimeForm()); err != nil {
			return rep, newErr(KindInvalid, "Phase %s: %s", p.Name, Message(err))
		}
		for _, dn := range p.Datasets {
			if _, ok := datasets[dn]; !ok {
				return rep, newErr(KindInvalid, "Phase %s names dataset %q, which the file does not have.", p.Name, dn)
			}
		}
		phases = append(phases, store.NewPhase{Name: p.Name, Title: title, OpensAt: p.OpensAt, ClosesAt: p.ClosesAt,
			QuotaDaily: p.QuotaDaily, QuotaTotal: p.QuotaTotal, QuotaConcurrent: p.QuotaConcurrent,
			EntryRule: p.EntryRule, Visibility: p.Visibility})
		rep.Phases = append(rep.Phases, p.Name)
	}
	// Which datasets this server can evaluate on: every image's LR and HR
	// blobs present. Checked before the transaction (blob calls can be slow).
	present := map[string]bool{}
	for _, d := range f.Datasets {
		ok, err := s.blobsPresent(ctx, d.Images)
		if err != nil {
			return rep, err
		}
		present[d.Name] = ok
		if ok {
			rep.Datasets = append(rep.Datasets, d.Name)
		} else {
			rep.Missing = append(rep.Missing, d.Name)
		}
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		id, err := store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: slug, Title: c.Title, Description: c.Description,
			Scale: c.Scale, Rules: c.Rules, MaxUploadBytes: c.MaxUploadBytes, DailyQuota: phases[0].QuotaDaily, Queue: c.Queue,
			Terms: c.Terms, TeamSizeLimit: c.TeamSizeLimit, Registration: c.Registration, Phases: phases})
		if err != nil {
			return err
		}
		if err := store.SetChallengeTemplate(ctx, tx, id, f.Template); err != nil {
			return err
		}
		dsIDs := map[string]int64{}
		for _, d := range f.Datasets {
			if !present[d.Name] {
				continue
			}
			ims := make([]store.DatasetImage, len(d.Images))
			for i, im := range d.Images {
				ims[i] = store.DatasetImage{Name: im.Name, LRSHA256: im.LRSHA256, HRSHA256: im.HRSHA256}
			}
			dsID, err := store.CreateDataset(ctx, tx, id, d.Name, d.Split, ims)
			if err != nil {
				return err
			}
			var manifest []byte
			if len(d.Manifest) > 0 {
				manifest = d.Manifest
			}
			if err := store.SetDatasetManifest(ctx, tx, dsID, d.Public && d.Split == "validation", manifest); err != nil {
				return err
			}
			dsIDs[d.Name] = dsID
		}
		if err := store.ClearPhaseDatasets(ctx, tx, id); err != nil {
			return err
		}
		for _, p := range f.Phases {
			pid, before, err := store.PhaseSettingsForUpdate(ctx, tx, id, p.Name)
			if err != nil {
				return err
			}
			next := before
			next.RevealedAt = utcPtr(p.RevealedAt)
			next.RuntimeBasis, next.RuntimeReferenceMS, next.TimingProtocol = runtimeSettings(p.runtimeForm(), before)
			next.Threads = p.Threads
			if err := store.UpdatePhase(ctx, tx, pid, next); err != nil {
				return err
			}
			primary := true
			for _, dn := range p.Datasets {
				dsID, ok := dsIDs[dn]
				if !ok {
					continue
				}
				if err := store.AddPhaseDataset(ctx, tx, pid, dsID, primary); err != nil {
					return err
				}
				primary = false
			}
		}
		if err := store.AddOrganizerTx(ctx, tx, id, v.UserID); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, id, "challenge.import", "challenge "+slug, nil,
			map[string]any{"from": f.Slug, "template": f.Template, "settings": c, "phases": rep.Phases,
				"datasets": rep.Datasets, "missing": rep.Missing}, "")
	})
	if errors.Is(err, store.ErrConflict) {
		return rep, &Error{Kind: KindConflict, Msg: fmt.Sprintf("The slug %q is taken; import under another with --slug.", slug), Err: err}
	}
	return rep, err
}

// blobsPresent reports whether every LR and HR image is in the blob store.
func (s *Service) blobsPresent(ctx context.Context, ims []ChallengeFileImage) (bool, error) {
	if s.blobs == nil {
		return false, nil
	}
	checked := map[string]bool{}
	for _, im := range ims {
		for _, d := range []string{im.LRSHA256, im.HRSHA256} {
			if checked[d] {
				continue
			}
			checked[d] = true
			if _, err := s.blobs.Stat(ctx, d); err != nil {
				if isBlobMissing(err) {
					return false, nil
				}
				return false, fmt.Errorf("blob %s: %w", d, err)
			}
		}
	}
	return true, nil
}

// ChallengeFileName is the download name of a challenge's settings file.
func ChallengeFileName(slug string) string {
	return slug + ".challenge.v" + strconv.Itoa(ChallengeFileVersion) + ".json"
}

func isBlobMissing(err error) bool { return errors.Is(err, blob.ErrNotFound) }
