package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/internal/s3test"
	"github.com/srarena/srarena/runner/sandbox"
)

// TestCutUploadToS3 cuts a model upload midway, while its multipart upload
// to S3 is in progress, and then finds no object, no upload in progress and
// no submission row: the web server aborted the multipart upload.
func TestCutUploadToS3(t *testing.T) {
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	p := startPlatformOn(t, lib, "s3")
	alice := newParticipant(t, p.url, "alice")
	before := s3test.Objects(t, p.bucket)
	ctx := context.Background()
	var rowsBefore int
	if err := p.pool.QueryRow(ctx, "SELECT count(*) FROM submissions").Scan(&rowsBefore); err != nil {
		t.Fatal(err)
	}

	// A 40 MiB model (under the demo's 64 MiB cap); the store's parts are
	// 16 MiB, so 20 MiB sent means one part is in S3 before the cut.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("csrf_token", alice.csrf("/c/"+demo.Slug))
	mw.WriteField("label", "cut")
	mw.CreateFormFile("model", "cut.onnx")
	const modelSize, sent = 40 << 20, 20 << 20
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	u, _ := url.Parse(p.url)
	var cookies []string
	for _, c := range alice.client.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /c/%s/submissions HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		demo.Slug, u.Host, strings.Join(cookies, "; "), mw.FormDataContentType(), head.Len()+modelSize+len(tail))
	conn.Write(head.Bytes())
	chunk := bytes.Repeat([]byte{7}, 1<<20)
	for range sent >> 20 {
		if _, err := conn.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	inProgress := func() bool {
		for _, k := range s3test.Objects(t, p.bucket) {
			if strings.HasPrefix(k, "upload:") {
				return true
			}
		}
		return false
	}
	waitFor(t, "a multipart upload in progress", inProgress)
	conn.Close() // the participant's connection drops

	waitFor(t, "the bucket back to what it held before", func() bool {
		return slices.Equal(s3test.Objects(t, p.bucket), before)
	})
	var rows int
	if err := p.pool.QueryRow(ctx, "SELECT count(*) FROM submissions").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != rowsBefore {
		t.Fatalf("submissions: %d rows, %d before the cut upload", rows, rowsBefore)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
