package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"testing"
)

func multipartBody(t testing.TB, fields [][2]string, file []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("model", "m.onnx")
		fw.Write(file)
	}
	mw.Close()
	return &b, mw.Boundary()
}

// memPut stands in for blob.Dir.Put with a cap.
func memPut(max int64, stored *[]string) func(io.Reader) (string, int64, error) {
	return func(r io.Reader) (string, int64, error) {
		b, err := io.ReadAll(io.LimitReader(r, max+1))
		if err != nil {
			return "", 0, err
		}
		if int64(len(b)) > max {
			return "", 0, errors.New("too large")
		}
		sum := sha256.Sum256(b)
		d := hex.EncodeToString(sum[:])
		*stored = append(*stored, d)
		return d, int64(len(b)), nil
	}
}

func TestReadUpload(t *testing.T) {
	t.Parallel()
	ok := func(s string) bool { return s == "tok" }
	tests := []struct {
		name   string
		fields [][2]string
		file   []byte
		want   error
		label  string
		stored int
	}{
		{"ok", [][2]string{{"csrf_token", "tok"}, {"label", "  v1 "}}, []byte("model"), nil, "v1", 1},
		{"unknown field skipped", [][2]string{{"csrf_token", "tok"}, {"x", "y"}}, []byte("model"), nil, "", 1},
		{"token not first", [][2]string{{"label", "v1"}, {"csrf_token", "tok"}}, []byte("model"), errCSRFFirst, "", 0},
		{"wrong token", [][2]string{{"csrf_token", "nope"}}, []byte("model"), errCSRF, "", 0},
		{"empty form", nil, nil, errCSRFFirst, "", 0},
		{"no file", [][2]string{{"csrf_token", "tok"}}, nil, errNoFile, "", 0},
		{"empty file", [][2]string{{"csrf_token", "tok"}}, []byte{}, errEmptyFile, "", 1},
		{"long label", [][2]string{{"csrf_token", "tok"}, {"label", string(bytes.Repeat([]byte("é"), 101))}}, []byte("m"), errLabel, "", 0},
		{"data_range 255", [][2]string{{"csrf_token", "tok"}, {"data_range", "255"}}, []byte("m"), nil, "", 1},
		{"data_range 1", [][2]string{{"csrf_token", "tok"}, {"data_range", "1"}}, []byte("m"), nil, "", 1},
		// Refused before the file part: nothing stored.
		{"data_range bad", [][2]string{{"csrf_token", "tok"}, {"data_range", "2"}}, []byte("m"), errDataRange, "", 0},
		{"data_range empty", [][2]string{{"csrf_token", "tok"}, {"data_range", ""}}, []byte("m"), errDataRange, "", 0},
		{"data_range huge", [][2]string{{"csrf_token", "tok"}, {"data_range", string(bytes.Repeat([]byte("1"), 100))}}, []byte("m"), errDataRange, "", 0},
		{"huge field", [][2]string{{"csrf_token", "tok"}, {"label", string(bytes.Repeat([]byte("a"), 1000))}}, []byte("m"), errFieldLarge, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, boundary := multipartBody(t, tc.fields, tc.file)
			var stored []string
			f, err := readUpload(multipart.NewReader(body, boundary), ok, memPut(1<<20, &stored))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if len(stored) != tc.stored {
				t.Errorf("stored %d files, want %d", len(stored), tc.stored)
			}
			if tc.stored > 0 && f.Digest != stored[0] {
				t.Errorf("digest %q not returned for cleanup", f.Digest)
			}
			if err == nil && f.Label != tc.label {
				t.Errorf("label %q, want %q", f.Label, tc.label)
			}
		})
	}
}

// FuzzReadUpload feeds arbitrary bodies to the multipart parser: it must
// never panic, never accept without the right token first (unless it reads
// for the API, which has no CSRF part), never accept a label PostgreSQL
// cannot store, and always report a stored file's digest so it can be
// cleaned up.
func FuzzReadUpload(f *testing.F) {
	body, boundary := multipartBody(f, [][2]string{{"csrf_token", "tok"}, {"label", "x"}}, []byte("model"))
	f.Add(body.Bytes(), boundary, false)
	body, boundary = multipartBody(f, [][2]string{{"label", "x"}}, []byte("model"))
	f.Add(body.Bytes(), boundary, false)
	f.Add(body.Bytes(), boundary, true)
	body, boundary = multipartBody(f, [][2]string{{"label", "a\x00b"}}, []byte("model"))
	f.Add(body.Bytes(), boundary, true)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n--b--\r\n"), "b", false)
	f.Fuzz(func(t *testing.T, data []byte, boundary string, api bool) {
		if boundary == "" || len(boundary) > 70 {
			return
		}
		var stored []string
		sawToken := false
		check := func(s string) bool { sawToken = true; return s == "tok" }
		if api {
			check, sawToken = nil, true
		}
		fu, err := readUpload(multipart.NewReader(bytes.NewReader(data), boundary), check, memPut(1<<16, &stored))
		if err == nil && (!sawToken || fu.Digest == "" || fu.Size == 0) {
			t.Fatalf("accepted without token or file: %+v", fu)
		}
		if err == nil && !CleanText(fu.Label) {
			t.Fatalf("accepted a label PostgreSQL cannot store: %q", fu.Label)
		}
		if len(stored) > 0 && fu.Digest != stored[len(stored)-1] {
			t.Fatalf("stored %v but returned digest %q", stored, fu.Digest)
		}
	})
}

func TestHasher(t *testing.T) {
	t.Parallel()
	h, err := NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, password, enc string
		ok                  bool
		err                 bool
	}{
		{"right", "correct horse battery", enc, true, false},
		{"wrong", "correct horse batterx", enc, false, false},
		{"malformed", "x", "$argon2id$v=19$m=64,t=1,p=1$", false, true},
		{"other algorithm", "x", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", false, true},
		{"absurd memory", "x", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(tc.password, tc.enc)
			if ok != tc.ok || (err != nil) != tc.err {
				t.Errorf("Verify = %v, %v; want %v, err %v", ok, err, tc.ok, tc.err)
			}
		})
	}
}

func BenchmarkHashDefault(b *testing.B) {
	h := &Hasher{Params: DefaultArgon2}
	for b.Loop() {
		h.Hash("correct horse battery")
	}
}
