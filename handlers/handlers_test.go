package handlers

import "testing"

// TestSafeNext: every value a browser could resolve to another origin must
// fall back to "/". Browsers drop tabs and newlines inside URLs and read "\"
// as "/", so the nasty cases are the ones that only become "//host" after
// that normalisation.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/c/esr", "/c/esr"},
		{"/c/esr/submissions?x=1#top", "/c/esr/submissions?x=1#top"},
		{"/submissions/12", "/submissions/12"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\t/evil.example", "/"}, // what /login?next=/%09/evil.example decodes to
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"https://evil.example", "/"},
		{"https:evil.example", "/"},
		{"HTTP://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{"data:text/html,hi", "/"},
		{"evil.example", "/"},
		{"c/esr", "/"},
		{"/%2F/evil.example", "/"}, // decodes to a path starting with "//"
		{"/a\r\nSet-Cookie: x=y", "/"},
		{"/%zz", "/"}, // does not parse
	}
	for _, tc := range tests {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
