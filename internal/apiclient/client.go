// Package apiclient is the HTTP client of srarena's /api/v1, used by the
// command-line client (`srarena login`, `submit`, `status`, ...). Uploads
// stream from the file with a progress callback; nothing is buffered.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Client talks to one server with one token.
type Client struct {
	Server string // base URL, e.g. https://sr.example.org
	Token  string
	HTTP   *http.Client
}

// New returns a client; a nil hc means a client without an overall timeout
// (uploads may be long) whose connections time out when idle.
func New(server, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: 5 * time.Minute, // the server checks the model before answering
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   20 * time.Second,
		}}
	}
	return &Client{Server: strings.TrimRight(server, "/"), Token: token, HTTP: hc}
}

// APIError is an error answer of the server: its status and the message a
// person can act on.
type APIError struct {
	Status    int
	Message   string
	RequestID string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// NetworkError is a failure to reach the server or to read its answer.
type NetworkError struct{ Err error }

func (e *NetworkError) Error() string { return "network: " + e.Err.Error() }
func (e *NetworkError) Unwrap() error { return e.Err }

func (c *Client) do(req *http.Request, out any) error {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return ctxErr
		}
		return &NetworkError{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &NetworkError{Err: err}
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error     string `json:"error"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
			if len(e.Error) > 300 || e.Error == "" || strings.HasPrefix(e.Error, "<") {
				e.Error = "the server answered " + resp.Status + " (is --server the srarena site?)"
			}
		}
		return &APIError{Status: resp.StatusCode, Message: e.Error, RequestID: e.RequestID}
	}
	if out == nil {
		return nil
	}
	if rb, ok := out.(*rawBody); ok {
		*rb = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &NetworkError{Err: fmt.Errorf("the server's answer is not the expected JSON (is --server the srarena site?): %w", err)}
	}
	return nil
}

func (c *Client) url(path string, q url.Values) string {
	u := c.Server + "/api/v1" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Get decodes GET /api/v1{path} into out.
func (c *Client) Get(ctx context.Context, path string, q url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path, q), nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// GetText returns the body of GET /api/v1{path} as it is (a CSV export).
func (c *Client) GetText(ctx context.Context, path string, q url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(path, q), nil)
	if err != nil {
		return nil, err
	}
	var raw rawBody
	err = c.do(req, &raw)
	return raw, err
}

// rawBody takes a body as it is, JSON or not.
type rawBody []byte

// Post sends in as JSON to /api/v1{path} and decodes the answer into out.
func (c *Client) Post(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(path, nil), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, out)
}

// Progress reports bytes sent of total.
type Progress func(sent, total int64)

// Upload posts a multipart form to /api/v1{path}: the fields in order, then
// the file as the part "model". The body streams from the file with its
// exact Content-Length; progress is called as it goes.
func (c *Client) Upload(ctx context.Context, path string, fields [][2]string, file string, progress Progress, out any) error {
	return c.UploadPart(ctx, path, fields, "model", file, progress, out)
}

// UploadPart is Upload with the file sent as the part named part.
func (c *Client) UploadPart(ctx context.Context, path string, fields [][2]string, part, file string, progress Progress, out any) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, kv := range fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, part, filepath.Base(file)))
	h.Set("Content-Type", "application/octet-stream")
	if _, err := mw.CreatePart(h); err != nil {
		return err
	}
	headLen := int64(head.Len())
	var tail bytes.Buffer
	tail.WriteString("\r\n--" + mw.Boundary() + "--\r\n")
	total := headLen + st.Size() + int64(tail.Len())
	body := io.MultiReader(&head, f, &tail)
	if progress != nil {
		body = &countingReader{r: body, total: total, fn: progress}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(path, nil), io.NopCloser(body))
	if err != nil {
		return err
	}
	req.ContentLength = total
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req, out)
}

type countingReader struct {
	r     io.Reader
	n     int64
	total int64
	fn    Progress
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	c.fn(c.n, c.total)
	return k, err
}

// IsAuth reports whether err is an authentication failure (401/403).
func IsAuth(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}
