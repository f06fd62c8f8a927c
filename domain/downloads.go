package domain

import (
	"context"
	"errors"

	"github.com/srarena/srarena/store"
)

// Image kinds of a dataset download.
const (
	DownloadLR = "lr"
	DownloadHR = "hr"
)

// ParticipantDownload reports whether participants may download a
// dataset's LR images: only a validation set its organizers marked public.
// HR images, and the LR images of every other set (the hidden test data),
// never leave the organizers.
func ParticipantDownload(d store.Dataset) bool {
	return d.Public && d.Split == "validation"
}

// DatasetFiles is what a download serves: the images of one kind.
type DatasetFiles struct {
	Challenge string
	Dataset   store.Dataset
	Kind      string // DownloadLR or DownloadHR
	// Files are the images in name order, with the digest of the
	// requested kind.
	Files []DatasetFile
}

// DatasetFile is one image of a download.
type DatasetFile struct {
	Name   string // the image's base name, without extension
	Digest string // blob sha256
}

// DatasetDownload authorizes a download of a dataset's LR or HR images and
// lists them. Organizers of the challenge (site admins too) get either kind
// of every dataset. Anyone else gets only the LR images of a public
// validation set, and only once registered and approved for the challenge
// (KindForbidden says so); every other dataset and every HR image is
// KindNotFound to them, so a hidden set's name is not confirmed.
// Anonymous viewers get KindUnauthenticated.
func (s *Service) DatasetDownload(ctx context.Context, v Viewer, slug, name, kind string) (DatasetFiles, error) {
	if err := s.requireUser(v); err != nil {
		return DatasetFiles{}, err
	}
	if kind != DownloadLR && kind != DownloadHR {
		return DatasetFiles{}, notFound(nil)
	}
	ci, err := s.Challenge(ctx, v, slug)
	if err != nil {
		return DatasetFiles{}, err
	}
	d, err := s.st.DatasetNamed(ctx, ci.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return DatasetFiles{}, notFound(err)
	} else if err != nil {
		return DatasetFiles{}, err
	}
	if !ci.Organizer {
		if kind != DownloadLR || !ParticipantDownload(d) {
			return DatasetFiles{}, notFound(nil)
		}
		if ci.Registration == nil || ci.Registration.State != store.RegistrationApproved {
			return DatasetFiles{}, &Error{Kind: KindForbidden,
				Msg: "Register for this challenge (and be approved, where the challenge asks for approval) to download its validation images."}
		}
	}
	imgs, err := s.st.DatasetImagesOf(ctx, d.ID)
	if err != nil {
		return DatasetFiles{}, err
	}
	out := DatasetFiles{Challenge: ci.Slug, Dataset: d, Kind: kind}
	for _, im := range imgs {
		f := DatasetFile{Name: im.Name, Digest: im.LRSHA256}
		if kind == DownloadHR {
			f.Digest = im.HRSHA256
		}
		out.Files = append(out.Files, f)
	}
	return out, nil
}

// DownloadLink is a dataset download the viewer may take.
type DownloadLink struct {
	Dataset store.Dataset
	Kind    string
}

// Downloads lists the downloads the viewer may take from a challenge, for
// its page: for organizers LR and HR of every dataset; for an approved
// participant the LR of each public validation set; nothing for others.
func (s *Service) Downloads(ctx context.Context, v Viewer, ci ChallengeInfo) ([]DownloadLink, error) {
	if v.Anonymous() {
		return nil, nil
	}
	participant := ci.Registration != nil && ci.Registration.State == store.RegistrationApproved
	if !ci.Organizer && !participant {
		return nil, nil
	}
	ds, _, err := s.st.DatasetsOf(ctx, ci.ID)
	if err != nil {
		return nil, err
	}
	var out []DownloadLink
	for _, d := range ds {
		switch {
		case ci.Organizer:
			out = append(out, DownloadLink{Dataset: d, Kind: DownloadLR}, DownloadLink{Dataset: d, Kind: DownloadHR})
		case ParticipantDownload(d):
			out = append(out, DownloadLink{Dataset: d, Kind: DownloadLR})
		}
	}
	return out, nil
}
