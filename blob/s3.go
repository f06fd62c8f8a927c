package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config names a bucket of an S3-compatible store.
type S3Config struct {
	// Endpoint is the store's URL, e.g. http://seaweedfs:8333; empty means
	// AWS S3 (https://s3.REGION.amazonaws.com). The scheme picks TLS.
	Endpoint string
	Bucket   string
	Region   string
	// Prefix is prepended to every key, so several deployments can share a
	// bucket.
	Prefix string
	// PathStyle addresses the bucket as ENDPOINT/BUCKET/KEY rather than
	// BUCKET.ENDPOINT/KEY; MinIO, SeaweedFS and Ceph usually need it.
	PathStyle bool
	// AccessKey and SecretKey, when set, are used as they are; otherwise
	// credentials come from the environment (AWS_ACCESS_KEY_ID, …), the
	// shared credentials file (~/.aws/credentials, AWS_PROFILE) and then
	// the instance or pod role, as AWS tools look them up.
	AccessKey, SecretKey string
	// PartSize is the multipart chunk (default 16 MiB, at least 5 MiB). Put
	// buffers one part in memory; a blob up to one part is one request.
	PartSize int64
	// CreateBucket creates the bucket when it does not exist.
	CreateBucket bool
}

const (
	minPartSize     = 5 << 20 // S3's minimum for all parts but the last
	defaultPartSize = 16 << 20
)

// S3 stores blobs as objects PREFIX/sha256/DIGEST. Uploads whose size is not
// known ahead (all of them: the key is the hash of the bytes) are either one
// PUT, when they fit in one part, or a multipart upload under a temporary
// key that is copied to its digest's key once the stream is complete and
// hashed. A failing stream aborts the multipart upload, so no object and no
// orphaned parts are left behind.
type S3 struct {
	c        *minio.Client
	core     minio.Core
	bucket   string
	prefix   string
	partSize int64
}

var _ Store = (*S3)(nil)

// NewS3 connects and checks that the bucket exists (or creates it).
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("blob: S3 bucket not set")
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		region := cfg.Region
		if region == "" {
			region = "us-east-1"
		}
		endpoint = "https://s3." + region + ".amazonaws.com"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("blob: S3 endpoint %q: want http(s)://HOST[:PORT]", endpoint)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{Client: &http.Client{Transport: http.DefaultTransport}},
		})
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds: creds, Secure: u.Scheme == "https", Region: cfg.Region, BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client: %w", err)
	}
	part := cfg.PartSize
	if part == 0 {
		part = defaultPartSize
	}
	if part < minPartSize {
		return nil, fmt.Errorf("blob: S3 part size %d is below S3's minimum of 5 MiB", part)
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	s := &S3{c: c, core: minio.Core{Client: c}, bucket: cfg.Bucket, prefix: prefix, partSize: part}
	ok, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 bucket %q at %s: %w", cfg.Bucket, endpoint, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("blob: S3 bucket %q does not exist at %s", cfg.Bucket, endpoint)
		}
		err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		// Replicas starting together race to create it; losing is fine.
		if code := minio.ToErrorResponse(err).Code; err != nil && code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return nil, fmt.Errorf("blob: create S3 bucket %q: %w", cfg.Bucket, err)
		}
	}
	return s, nil
}

// fill reads until buf is full (nil error) or the stream ends (io.EOF, with
// the count read). Unlike io.ReadFull, a reader failing with
// io.ErrUnexpectedEOF (a cut request body does) is an error, not an end.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *S3) key(digest string) string { return s.prefix + "sha256/" + digest }

// TempPrefix is where multipart uploads in progress live; a bucket
// lifecycle rule expiring it (and aborting incomplete multipart uploads)
// after a day cleans up after a process killed between its last steps.
func (s *S3) TempPrefix() string { return s.prefix + "tmp/" }

// Put reads the first part; a stream that ends within it is one PUT under
// its digest. Longer streams go to a multipart upload under a temporary key.
func (s *S3) Put(ctx context.Context, r io.Reader, maxBytes int64) (digest string, n int64, err error) {
	h := sha256.New()
	src := io.TeeReader(&capReader{r: r, max: maxBytes}, h)
	buf := make([]byte, s.partSize)
	m, rerr := fill(src, buf)
	n = int64(m)
	switch {
	case errors.Is(rerr, ErrTooLarge):
		return "", n, ErrTooLarge
	case rerr == io.EOF:
		digest = hex.EncodeToString(h.Sum(nil))
		if err := ctx.Err(); err != nil {
			return "", n, err
		}
		if _, err := s.Stat(ctx, digest); err == nil {
			return digest, n, nil
		}
		sum := md5.Sum(buf[:m])
		_, err = s.core.PutObject(ctx, s.bucket, s.key(digest), bytes.NewReader(buf[:m]), n,
			base64.StdEncoding.EncodeToString(sum[:]), digest, minio.PutObjectOptions{ContentType: "application/octet-stream"})
		if err != nil {
			return "", n, fmt.Errorf("blob: S3 put %s: %w", digest, err)
		}
		return digest, n, nil
	case rerr != nil:
		return "", n, fmt.Errorf("blob: read: %w", rerr)
	}
	return s.putMultipart(ctx, src, h, buf)
}

func (s *S3) putMultipart(ctx context.Context, src io.Reader, h hash.Hash, buf []byte) (digest string, n int64, err error) {
	var rnd [12]byte
	rand.Read(rnd[:])
	tmp := s.TempPrefix() + hex.EncodeToString(rnd[:])
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, tmp, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return "", 0, fmt.Errorf("blob: S3 multipart: %w", err)
	}
	completed := false
	defer func() {
		// Cleanup runs even when ctx is cancelled (a client gone away).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if !completed {
			if aerr := s.core.AbortMultipartUpload(cctx, s.bucket, tmp, id); aerr != nil && err != nil {
				err = fmt.Errorf("%w (and aborting the upload failed: %v)", err, aerr)
			}
			return
		}
		if derr := s.c.RemoveObject(cctx, s.bucket, tmp, minio.RemoveObjectOptions{}); derr != nil && err == nil {
			err = fmt.Errorf("blob: S3 remove temporary %s: %w", tmp, derr)
		}
	}()
	var parts []minio.CompletePart
	m, last := len(buf), false
	for {
		sum := md5.Sum(buf[:m])
		ps := sha256.Sum256(buf[:m])
		p, err := s.core.PutObjectPart(ctx, s.bucket, tmp, id, len(parts)+1, bytes.NewReader(buf[:m]), int64(m),
			minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(sum[:]), Sha256Hex: hex.EncodeToString(ps[:])})
		if err != nil {
			return "", n, fmt.Errorf("blob: S3 upload part: %w", err)
		}
		n += int64(m)
		parts = append(parts, minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag})
		if last {
			break
		}
		var rerr error
		m, rerr = fill(src, buf)
		if errors.Is(rerr, ErrTooLarge) {
			return "", n + int64(m), ErrTooLarge
		}
		if rerr != nil && rerr != io.EOF {
			return "", n + int64(m), fmt.Errorf("blob: read: %w", rerr)
		}
		if m == 0 {
			break
		}
		last = rerr == io.EOF
	}
	if err := ctx.Err(); err != nil {
		return "", n, err
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, tmp, id, parts, minio.PutObjectOptions{}); err != nil {
		return "", n, fmt.Errorf("blob: S3 complete upload: %w", err)
	}
	completed = true
	digest = hex.EncodeToString(h.Sum(nil))
	if size, err := s.Stat(ctx, digest); err == nil && size == n {
		return digest, n, nil
	}
	// A server-side copy: the bytes do not travel again. One request
	// copies up to 5 GiB, far above any upload cap.
	_, err = s.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: s.key(digest)},
		minio.CopySrcOptions{Bucket: s.bucket, Object: tmp})
	if err != nil {
		return "", n, fmt.Errorf("blob: S3 copy to %s: %w", digest, err)
	}
	return digest, n, nil
}

// Open starts the download; a missing object is ErrNotFound here rather
// than at the first Read.
func (s *S3) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	rc, _, _, err := s.core.GetObject(ctx, s.bucket, s.key(digest), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrap(digest, err)
	}
	return rc, nil
}

// Stat returns the object's size.
func (s *S3) Stat(ctx context.Context, digest string) (int64, error) {
	if err := checkDigest(digest); err != nil {
		return 0, err
	}
	oi, err := s.c.StatObject(ctx, s.bucket, s.key(digest), minio.StatObjectOptions{})
	if err != nil {
		return 0, s.wrap(digest, err)
	}
	return oi.Size, nil
}

// Delete removes the object; S3 deletes of missing keys succeed.
func (s *S3) Delete(ctx context.Context, digest string) error {
	if err := checkDigest(digest); err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, s.key(digest), minio.RemoveObjectOptions{}); err != nil {
		return s.wrap(digest, err)
	}
	return nil
}

// List pages through PREFIX/sha256/.
func (s *S3) List(ctx context.Context, fn func(digest string, size int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn fails
	pre := s.key("")
	for oi := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: pre, Recursive: true}) {
		if oi.Err != nil {
			return fmt.Errorf("blob: S3 list: %w", oi.Err)
		}
		d := strings.TrimPrefix(oi.Key, pre)
		if !ValidDigest(d) {
			continue
		}
		if err := fn(d, oi.Size); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *S3) wrap(digest string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	return fmt.Errorf("blob: S3 %s: %w", digest, err)
}
